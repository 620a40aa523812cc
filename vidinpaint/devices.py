"""Choosing where neural stages run (``--device auto|cpu|cuda``)."""

from __future__ import annotations

import importlib.util

from .errors import ConfigError


def cuda_available() -> bool:
    """True when PyTorch is installed and sees a CUDA device (torch is optional here)."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(requested: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; ``cuda`` without a GPU is an error."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {requested!r}")
    has_cuda = cuda_available() if requested != "cpu" else False
    if requested == "cuda" and not has_cuda:
        raise ConfigError("--device cuda: no CUDA device (or PyTorch) found; use --device cpu or auto")
    return "cuda" if has_cuda else "cpu"

"""Choosing where neural stages run (``--device auto|cpu|cuda``)."""

from __future__ import annotations

import functools
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


@functools.cache
def _initial_torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def start_device(requested: str, torch_threads: int = 0) -> tuple[str, str]:
    """The device (see :func:`resolve_device`) and its stage line, with torch's CPU threads set.

    The pipeline runs each stage in its own thread, so a torch stage shares the cores with the
    others instead of having them to itself: ``torch_threads`` 0 gives torch half of the threads
    it would use alone (at least one; a batch worker's share is halved the same way), measured
    against all of them by ``scripts/bench_throughput.py --torch-threads``.
    """
    device = resolve_device(requested)
    if importlib.util.find_spec("torch") is None:
        return device, f"{device}, stages in parallel threads"
    import torch

    alone = _initial_torch_threads()  # first, so an earlier explicit setting is never taken for torch's own
    threads = torch_threads or max(1, alone // 2)
    torch.set_num_threads(threads)
    return device, f"{device}, stages in parallel threads, torch on {threads} of {alone} CPU threads"

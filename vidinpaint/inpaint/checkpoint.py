"""Loading and saving gated-network checkpoints, with errors that name the offending keys.

Format: a dict with ``"G"`` (generator state dict) and optionally ``"D"`` (discriminator),
``"meta"`` (``cnum``, training step, source), and the optimiser states of a training run. The
published PyTorch port of DeepFillv2 stores ``{"G": ..., "D": ...}`` the same way, so it loads
here unchanged; a bare generator state dict is accepted too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..atomic import atomic_path
from ..weights import WeightsError
from .gated import Generator

_SHOWN = 6


def _names(keys: list[str]) -> str:
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def check_state(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Raise :class:`WeightsError` listing missing, unexpected and wrongly shaped keys, if any."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} (model {tuple(own[k].shape)})" for k in own
              if k in state and state[k].shape != own[k].shape]
    problems = [f"{label}: {_names(keys)}" for label, keys in
                (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", shapes)) if keys]
    if problems:
        raise WeightsError(f"{source} does not fit {type(model).__name__}: {'; '.join(problems)}")


def load_checked(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> nn.Module:
    """``model`` with ``state`` loaded, after :func:`check_state` has named any mismatch."""
    check_state(model, state, source)
    model.load_state_dict(state)
    return model


def read(path: Path) -> dict[str, Any]:
    """The checkpoint dict at ``path`` (tensors on the CPU), with ``"G"`` always present."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        why = (str(err).splitlines() or [type(err).__name__])[0]  # an empty file's error has no text
        raise WeightsError(f"{path} is not a readable PyTorch checkpoint: {why}") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{path}: expected a dict of tensors, got {type(data).__name__}")
    return data if "G" in data else {"G": data}


def cnum_of(state: dict[str, torch.Tensor]) -> int:
    """The generator width, read from the first layer (it has ``cnum`` gated outputs, ``2 * cnum / 2``)."""
    weight = state.get("stage1.conv1.conv.weight")
    if weight is None:
        raise WeightsError("not a DeepFillv2 generator: no stage1.conv1.conv.weight")
    return int(weight.shape[0])


def load_generator(path: Path) -> tuple[Generator, dict[str, Any]]:
    """A generator with the weights at ``path`` (strict key and shape match) and the checkpoint's meta."""
    data = read(path)
    model = load_checked(Generator(cnum_of(data["G"])), data["G"], str(path))
    return model.eval(), dict(data.get("meta", {}))


def save(path: Path, generator: Generator, discriminator: nn.Module | None = None, **extra: Any) -> None:
    """Write a checkpoint atomically (a crash mid-write never leaves a truncated file)."""
    data: dict[str, Any] = {"G": generator.state_dict(), **extra}
    data.setdefault("meta", {})["cnum"] = generator.cnum
    if discriminator is not None:
        data["D"] = discriminator.state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(data, tmp)

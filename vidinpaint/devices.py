"""Choosing where neural stages run (``--device auto|cpu|cuda``)."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import platform
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    import torch


def cuda_available() -> bool:
    """True when PyTorch is installed and sees a CUDA device (torch is optional here, and not
    imported where no NVIDIA driver is present)."""
    if no_gpu_driver() or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def no_gpu_driver() -> bool:
    """True where no NVIDIA driver is present (no device nodes, no /proc entry): ``auto`` is then
    the CPU, known without importing torch, which takes seconds."""
    return not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia/version"))


def cuda_memories() -> list[int]:
    """Bytes of memory of each CUDA device torch sees ([] without one, or without torch)."""
    if not cuda_available():
        return []
    import torch

    return [torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count())]


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


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX); elsewhere oneDNN
    emulates it, slower than fp32."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, check, lambda: False)() for check in checks)


def cpu_line() -> str:
    """``host: CPU model, N cores, native bf16`` for benchmark machine lines. Whether the CPU
    multiplies bf16 natively matters as much as its name: ``precision: auto`` follows it, so
    NanoDet's detections (and every mask and fill figure after them) differ between two hosts
    that both call themselves "AMD EPYC"."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    bf16 = "native bf16" if importlib.util.find_spec("torch") is not None and native_bf16() else "no native bf16"
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {bf16}"


def autocast_dtype(precision: str, device: str, auto: tuple[str, ...] = ("cuda",)) -> torch.dtype | None:
    """The autocast dtype for ``precision`` (``auto``, ``fp32``, ``fp16``, ``bf16``; None = fp32).

    ``auto`` is reduced precision only on the devices (``auto``) where the network was measured
    to keep its results: bf16 (fp16 where bf16 is missing) on CUDA, bf16 on a CPU with native bf16.
    """
    import torch

    if precision == "auto":
        if device not in auto:
            return None
        if device == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if native_bf16() else None
    return {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def precision_name(dtype: torch.dtype | None) -> str:
    """The configuration's name for an :func:`autocast_dtype` result, for stage lines."""
    return "fp32" if dtype is None else {"bfloat16": "bf16", "float16": "fp16"}[str(dtype).removeprefix("torch.")]


def start_device(requested: str, torch_threads: int = 0, neural: bool = True) -> tuple[str, str]:
    """The device (see :func:`resolve_device`) and its stage line, with torch's CPU threads set.

    The pipeline runs each stage in its own thread, so a torch stage shares the cores with the
    others instead of having them to itself: ``torch_threads`` 0 gives torch half of the threads
    it would use alone (at least one; a batch worker's share is halved the same way), measured
    against all of them by ``scripts/bench_throughput.py --torch-threads``.

    Without a ``neural`` stage, torch is not loaded at all (its import alone takes seconds) where
    the run is on the CPU anyway: asked for, or ``auto`` on a machine without an NVIDIA driver
    (with one, ``auto`` may be CUDA, whose run encodes with NVENC).
    """
    if not neural and (requested == "cpu" or (requested == "auto" and no_gpu_driver())):
        return "cpu", "cpu, stages in parallel threads (no neural stage: torch not loaded)"
    device = resolve_device(requested)
    if importlib.util.find_spec("torch") is None:
        return device, f"{device}, stages in parallel threads"
    import torch

    alone = _initial_torch_threads()  # first, so an earlier explicit setting is never taken for torch's own
    threads = torch_threads or max(1, alone // 2)
    torch.set_num_threads(threads)
    return device, f"{device}, stages in parallel threads, torch on {threads} of {alone} CPU threads"

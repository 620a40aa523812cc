"""``vidinpaint adapt``: fine-tune the inpainting network on one clip's own background.

A network trained on Places2 has never seen this pitch, this street, this camera's noise. The
clip itself shows most of its background: we sample frames evenly, find the people with the
same mask stages ``clean`` uses, and train on random holes placed in the background only (the
people are holes in the input too, and never a target, since what is behind them is unknown).
DeepFillv2's authors note that domain-specific training improves results; docs/BENCHMARKS.md
measures whether it does here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .atomic import check_output_path
from .backends import weights_path
from .config import Config
from .devices import resolve_device
from .errors import ConfigError
from .inpaint.train import Samples, TrainConfig, Trainer, losses_path, train
from .pipeline import _chain, build_stages
from .sampling import EvenSample
from .video import VideoReader
from .weights import WeightsMissing


@dataclass
class AdaptResult:
    output: Path
    start: str  # the weights fine-tuning started from
    frames: int
    steps: int
    l1_first: float  # mean L1 of the first and last tenth of the steps
    l1_last: float
    backends: list[tuple[str, str]]


def clip_samples(clip: Path, config: Config, frames: int, mask: Path | None,
                 device: str) -> tuple[Samples, list[tuple[str, str]]]:
    """``frames`` evenly spaced frames of ``clip`` with the pipeline's removal masks as excluded pixels."""
    reader = VideoReader(clip, queue_size=config.decode.queue_size, threads=config.decode.threads)
    sample = EvenSample(frames, reader.info.estimated_frames)  # a clip that declares no length is fine too
    stages = build_stages(config, mask, device)
    picked = (f for f in reader if sample.wanted(f.index)) if mask is None else reader
    with closing(_chain(picked, stages)) as chain:  # the stage threads stop even if this fails
        for frame in chain:
            sample.add(frame.index, (frame.rgb, frame.mask))
    kept = sample.items()
    return Samples([rgb for rgb, _ in kept], [hole for _, hole in kept]), [(s.name, s.backend) for s in stages]


def _start_weights(name_or_path: str, config: Config) -> Path | None:
    """The checkpoint to fine-tune from, or None (train from scratch) when a registry entry is not cached."""
    try:
        return weights_path(name_or_path, config.weights_dir)
    except WeightsMissing:
        if config.strict:
            raise
        return None


def adapt(clip: Path, output: Path, config: Config, train_config: TrainConfig, *, steps: int, frames: int,
          start: str | None = None, mask: Path | None = None, overwrite: bool = False,
          progress: Callable[[dict[str, float]], None] | None = None) -> AdaptResult:
    """Fine-tune from ``start`` (default ``inpaint.weights``) on ``clip`` and write the checkpoint to
    ``output``, and its loss curves beside it (:func:`losses_path`: checked as an output too, as it
    replaced an input or another file of that name without a word)."""
    inputs = [clip, *([mask] if mask is not None else [])]
    check_output_path(output, inputs, overwrite)
    check_output_path(losses_path(output), inputs, overwrite)
    if train_config.size % 8:
        raise ConfigError(f"--size must be a multiple of 8, got {train_config.size}")
    if not (math.isfinite(train_config.lr) and train_config.lr > 0):  # NaN trained to a NaN checkpoint
        raise ConfigError(f"--lr must be a positive number, got {train_config.lr}")
    if not (math.isfinite(train_config.gan_weight) and train_config.gan_weight >= 0):
        raise ConfigError(f"--gan-weight must be a number from 0 up, got {train_config.gan_weight}")
    device = resolve_device(config.device)
    name = start or config.inpaint.weights
    path = _start_weights(name, config)
    samples, backends = clip_samples(clip, config, frames, mask, device)
    trainer = Trainer.resume(path, train_config, device, optimisers=False) if path else Trainer(train_config, device)
    label = str(name) if path else "random initialisation (no weights found)"
    backends.append(("adapt", f"fine-tune from {label} on {len(samples.images)} frames, {steps} steps of "
                              f"{train_config.batch}x{train_config.size}px on {device}"))
    train(trainer, samples, steps, output, save_every=max(steps, 1), progress=progress,
          source=f"{Path(name).name if path else 'random init'} adapted to {clip.name}")
    l1 = [r["l1"] for r in trainer.history]
    tenth = max(1, len(l1) // 10)
    return AdaptResult(output, label, len(samples.images), steps, sum(l1[:tenth]) / tenth,
                       sum(l1[-tenth:]) / tenth, backends)

"""Training the gated-convolution generator: L1 + SN-PatchGAN hinge loss, resumable checkpoints.

As in DeepFillv2 (Yu et al. 2019): the generator's coarse and refined outputs both get an L1
loss against the true image (here the known region and the hole are averaged separately and
summed, so the hole counts as much as the rest of the image whatever its size: the output is
composited, only the hole matters, and training from scratch learns to fill far sooner than with
one image-wide mean that is mostly copying known pixels), the completed image (refined output inside the hole, input
outside) is judged by the spectral-normalised PatchGAN discriminator together with the mask,
with the hinge loss (Lim & Ye 2017; Miyato et al. 2018) and Adam (beta1 0.5). Images come from a
folder (or videos, frames sampled evenly); holes are free-form strokes and person shapes
(:mod:`.holes`). A sample may come with *excluded* pixels (people in a clip being adapted to):
they are holes in the input too, but never a target, because their true background is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..images import IMAGE_EXTENSIONS, read_image, write_image
from ..sampling import EvenSample
from . import checkpoint
from .gated import Generator, PatchDiscriminator
from .holes import training_mask


@dataclass
class TrainConfig:
    """Hyper-parameters of a training or adaptation run (saved in its checkpoints)."""

    size: int = 128  # training crop side (multiple of 8)
    batch: int = 4
    lr: float = 1e-4
    l1_weight: float = 1.0
    gan_weight: float = 0.1  # 1.0 in the paper; lower favours fidelity (PSNR) over texture
    cnum: int = 48  # generator width (48 = the published model)
    seed: int = 0


class Samples:
    """Training images held in memory, each with an optional excluded-pixel mask; draws random crops."""

    def __init__(self, images: list[np.ndarray], excluded: list[np.ndarray | None] | None = None) -> None:
        if not images:
            raise ValueError("no training images")
        self.images = images
        self.excluded = excluded or [None] * len(images)

    @classmethod
    def from_paths(cls, paths: Iterable[Path], frames_per_video: int = 32, max_side: int = 1280) -> Samples:
        """Images from files and folders (recursively); videos contribute evenly spaced frames."""
        from ..pipeline import VIDEO_EXTENSIONS
        from ..video import VideoReader

        images = []
        files = [f for p in paths for f in (sorted(p.rglob("*")) if p.is_dir() else [p]) if f.is_file()]
        for f in files:
            suffix = f.suffix.lower()
            if suffix in IMAGE_EXTENSIONS:
                images.append(_fit(read_image(f), max_side))
            elif suffix in VIDEO_EXTENSIONS:
                reader = VideoReader(f)
                sample = EvenSample(frames_per_video, reader.info.estimated_frames)
                for fr in reader:
                    if sample.wanted(fr.index):
                        sample.add(fr.index, _fit(fr.rgb, max_side))
                images += sample.items()
        return cls(images)

    def draw(self, count: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``count`` random ``size`` crops (flipped half the time): images, holes, excluded pixels."""
        images, holes, excluded = [], [], []
        for _ in range(count):
            k = int(rng.integers(len(self.images)))
            img, excl = self.images[k], self.excluded[k]
            h, w = img.shape[:2]
            if min(h, w) < size:  # small images are enlarged to the crop size
                scale = size / min(h, w)
                img = cv2.resize(img, (math.ceil(w * scale), math.ceil(h * scale)))
                excl = None if excl is None else cv2.resize(excl.astype(np.uint8), img.shape[1::-1]) > 0
                h, w = img.shape[:2]
            y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
            crop = img[y:y + size, x:x + size]
            ex = np.zeros((size, size), bool) if excl is None else excl[y:y + size, x:x + size]
            if rng.random() < 0.5:
                crop, ex = crop[:, ::-1], ex[:, ::-1]
            images.append(crop)
            holes.append(training_mask(size, size, rng) & ~ex)
            excluded.append(ex)
        return np.stack(images), np.stack(holes), np.stack(excluded)


def _fit(rgb: np.ndarray, max_side: int) -> np.ndarray:
    scale = max_side / max(rgb.shape[:2])
    return cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb


def hinge_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss: push real scores above 1 and fake ones below -1."""
    return 0.5 * (F.relu(1 - real).mean() + F.relu(1 + fake).mean())


class Trainer:
    """Generator, discriminator and their optimisers; one :meth:`step` is one update of each."""

    def __init__(self, config: TrainConfig, device: str = "cpu", generator: Generator | None = None,
                 discriminator: PatchDiscriminator | None = None) -> None:
        torch.manual_seed(config.seed)
        self.config, self.device = config, device
        self.generator = (generator or Generator(config.cnum)).to(device).train()
        self.discriminator = (discriminator or PatchDiscriminator()).to(device).train()
        betas = (0.5, 0.999)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=config.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr, betas=betas)
        self.step_count = 0
        self.history: list[dict[str, float]] = []

    def step(self, images: np.ndarray, holes: np.ndarray, excluded: np.ndarray) -> dict[str, float]:
        """One discriminator and one generator update on a batch (uint8 images, bool masks)."""
        c = self.config
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device).permute(0, 3, 1, 2).float() / 127.5 - 1
        m = torch.from_numpy(holes | excluded).to(self.device)[:, None].float()
        hole = torch.from_numpy(holes).to(self.device)[:, None].float()
        coarse, refined = self.generator(x, m)
        completed = refined * m + x * (1 - m)

        self.opt_d.zero_grad(set_to_none=True)
        scores = self.discriminator(torch.cat([torch.cat([x, m], 1), torch.cat([completed.detach(), m], 1)]))
        real, fake = scores.chunk(2)
        d_loss = hinge_d(real, fake)
        d_loss.backward()
        self.opt_d.step()

        self.opt_g.zero_grad(set_to_none=True)
        l1 = self._l1(coarse, x, 1 - m, hole) + self._l1(refined, x, 1 - m, hole)
        g_gan = -self.discriminator(torch.cat([completed, m], 1)).mean()
        (c.l1_weight * l1 + c.gan_weight * g_gan).backward()
        self.opt_g.step()

        self.step_count += 1
        record = {"step": float(self.step_count), "l1": l1.item(), "g_gan": g_gan.item(), "d": d_loss.item()}
        self.history.append(record)
        return record

    @staticmethod
    def _l1(output: torch.Tensor, target: torch.Tensor, known: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """Mean |error| over the known pixels plus mean |error| over the hole (excluded pixels in neither)."""
        err = (output - target).abs().mean(1, keepdim=True)
        return (err * known).sum() / known.sum().clamp_min(1) + (err * hole).sum() / hole.sum().clamp_min(1)

    def save(self, path: Path, **meta: object) -> None:
        checkpoint.save(path, self.generator, self.discriminator,
                        meta={"step": self.step_count, "size": self.config.size, **meta}, train=asdict(self.config),
                        opt_g=self.opt_g.state_dict(), opt_d=self.opt_d.state_dict(), history=self.history)

    @classmethod
    def resume(cls, path: Path, config: TrainConfig, device: str = "cpu", optimisers: bool = True) -> Trainer:
        """Continue from a checkpoint: weights, and (with ``optimisers``, where present) optimiser
        states, step and history. Without them (a published checkpoint, or fine-tuning on new data)
        the run starts at step 0 from the weights.
        """
        data = checkpoint.read(path)
        generator = checkpoint.load_checked(Generator(checkpoint.cnum_of(data["G"])), data["G"], str(path))
        d_state = data.get("D") or {}
        first = d_state.get("conv1.conv_sn.weight")
        discriminator = PatchDiscriminator(cnum=int(first.shape[0]) if first is not None else 64)
        if d_state:
            checkpoint.load_checked(discriminator, d_state, f"{path} (discriminator)")
        trainer = cls(config, device, generator, discriminator)
        if optimisers and "opt_g" in data and "opt_d" in data:
            trainer.opt_g.load_state_dict(data["opt_g"])
            trainer.opt_d.load_state_dict(data["opt_d"])
            trainer.step_count = int(data.get("meta", {}).get("step", 0))
            trainer.history = list(data.get("history", []))
        return trainer


Progress = Callable[[dict[str, float]], None]


def losses_path(output: Path) -> Path:
    """Where :func:`train` draws the loss curves of the checkpoint ``output``."""
    return output.with_suffix(".losses.png")


def train(trainer: Trainer, samples: Samples, steps: int, output: Path, *, save_every: int = 100,
          progress: Progress | None = None, **meta: object) -> Path:
    """Run ``trainer`` until it has done ``steps`` steps in total; checkpoint + loss curve every
    ``save_every`` steps and at the end (so an interrupted run resumes where it stopped)."""
    rng = np.random.default_rng(trainer.config.seed + trainer.step_count)
    while trainer.step_count < steps:
        record = trainer.step(*samples.draw(trainer.config.batch, trainer.config.size, rng))
        if progress:
            progress(record)
        if trainer.step_count % save_every == 0 or trainer.step_count == steps:
            trainer.save(output, **meta)
            plot_losses(trainer.history, losses_path(output))
    return output


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window or window < 2:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_losses(history: list[dict[str, float]], path: Path, size: tuple[int, int] = (900, 420)) -> Path:
    """A PNG of the loss curves (moving average over ~1/50 of the run), one panel per loss."""
    keys = ("l1", "g_gan", "d")
    colours = ((200, 40, 40), (40, 120, 200), (40, 160, 60))
    w, h = size
    canvas = np.full((h, w, 3), 255, np.uint8)
    panel = w // len(keys)
    window = max(1, len(history) // 50)
    for i, (key, colour) in enumerate(zip(keys, colours)):
        values = _smooth(np.array([r[key] for r in history], float), window)
        x0, y0, pw, ph = i * panel + 40, 30, panel - 60, h - 70
        cv2.rectangle(canvas, (x0, y0), (x0 + pw, y0 + ph), (0, 0, 0), 1)
        if len(values) >= 2:
            lo, hi = float(values.min()), float(values.max())
            span = hi - lo or 1.0
            xs = x0 + np.linspace(0, pw, len(values))
            ys = y0 + ph - (values - lo) / span * ph
            cv2.polylines(canvas, [np.stack([xs, ys], 1).astype(np.int32)], False, colour, 2, cv2.LINE_AA)
            for value, y in ((hi, y0 + 12), (lo, y0 + ph - 4)):
                cv2.putText(canvas, f"{value:.3f}", (x0 + 4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(canvas, key, (x0, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2, cv2.LINE_AA)
        cv2.putText(canvas, f"step {len(history)}", (x0, h - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    write_image(path, canvas)
    return path

#!/usr/bin/env python3
"""Train (or resume, or fine-tune) the DeepFillv2 gated-conv generator on images and videos.

Examples:
    python scripts/train_gated.py data/ --out runs/gated.pth --steps 20000 --size 256 --batch 8
    python scripts/train_gated.py data/ --out runs/gated.pth --steps 30000          # resumes if it exists
    python scripts/train_gated.py data/ --out ft.pth --init states_pt_places2.pth   # fine-tune published weights

Writes the checkpoint (generator, discriminator, optimiser states, loss history) every
``--save-every`` steps and at the end, and ``<out>.losses.png`` beside it. Use the result with
``vidinpaint clean --inpaint gated --set inpaint.weights=<out>``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from vidinpaint.devices import resolve_device
from vidinpaint.inpaint.train import Samples, TrainConfig, Trainer, losses_path, train


def main() -> None:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="+", help="image/video files or folders")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint to write (resumed if it exists)")
    parser.add_argument("--init", type=Path, help="start from these weights (ignored when resuming)")
    parser.add_argument("--steps", type=int, default=1000, help="total steps (a resumed run continues up to this)")
    parser.add_argument("--size", type=int, default=defaults.size)
    parser.add_argument("--batch", type=int, default=defaults.batch)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--gan-weight", type=float, default=defaults.gan_weight)
    parser.add_argument("--cnum", type=int, default=defaults.cnum)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--save-every", type=int, default=100)
    parser.add_argument("--frames-per-video", type=int, default=32)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    config = TrainConfig(size=args.size, batch=args.batch, lr=args.lr, gan_weight=args.gan_weight, cnum=args.cnum,
                         seed=args.seed)
    device = resolve_device(args.device)
    samples = Samples.from_paths(args.data, args.frames_per_video)
    start = args.out if args.out.exists() else args.init
    trainer = Trainer.resume(start, config, device) if start else Trainer(config, device)
    print(f"{len(samples.images)} training images; step {trainer.step_count} -> {args.steps}; "
          f"{sum(p.numel() for p in trainer.generator.parameters()) / 1e6:.2f}M generator params; "
          f"{device} ({torch.cuda.get_device_name() if device == 'cuda' else platform.processor() or platform.machine()})")
    began, first = time.perf_counter(), trainer.step_count

    def report(record: dict[str, float]) -> None:
        step = int(record["step"])
        if step % 25 == 0:
            rate = (step - first) / (time.perf_counter() - began)
            recent = trainer.history[-25:]
            means = {k: sum(r[k] for r in recent) / len(recent) for k in ("l1", "g_gan", "d")}
            print(f"step {step}: l1 {means['l1']:.4f}  g_gan {means['g_gan']:.3f}  d {means['d']:.3f}  "
                  f"({rate:.2f} steps/s)", flush=True)

    source = f"trained by scripts/train_gated.py on {', '.join(p.name for p in args.data)}"
    train(trainer, samples, args.steps, args.out, save_every=args.save_every, progress=report, source=source)
    print(f"wrote {args.out} and {losses_path(args.out)}")


if __name__ == "__main__":
    main()

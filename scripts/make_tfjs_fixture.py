#!/usr/bin/env python3
"""Make ``tests/fixtures/nanodet_vtest0.npz`` and ``tests/fixtures/movenet_vtest0.npz``: NanoDet's
and MoveNet's outputs computed by TensorFlow.js itself.

The input is frame 0 of ``samples/vtest.mp4`` squeezed to the graph's 416x416 and normalised as
:func:`vidinpaint.detect.nanodet.preprocess_native` does (the 416x416 resized frame is stored, so
the test repeats the preprocessing bit for bit). TensorFlow.js (npm ``@tensorflow/tfjs@4.22.0``, CPU
backend) runs the graph through ``scripts/tfjs_reference.mjs`` with the machine's Node.js; the
person scores and the box distributions of every cell are stored as float32. MoveNet runs on the
crops :func:`vidinpaint.detect.pose.crop` makes of frame 0 around a walker and around a patch of
lawn with no one on it (the boxes are stored with the crops and the keypoints).

Usage: ``python scripts/make_tfjs_fixture.py`` (needs node + npm; installs tfjs in a temp folder;
weights from ``vidinpaint weights fetch nanodet movenet``).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from vidinpaint.detect.nanodet import SIZE, preprocess_native
from vidinpaint.detect.pose import crop
from vidinpaint.video import VideoReader
from vidinpaint.weights import locate

ROOT = Path(__file__).resolve().parents[1]
TFJS = "@tensorflow/tfjs@4.22.0"
# frame 0 of the sample: a walker (NanoDet's box, 0.86), and a patch of lawn the same size with no one
MOVENET_BOXES = np.array([[642, 242, 684, 322], [100, 420, 142, 500]], np.float32)


def run_tfjs(tmp: Path, model: str, x: np.ndarray, dtype: str = "float32") -> tuple[dict[str, np.ndarray], str]:
    """``model``'s outputs on ``x`` from TensorFlow.js, and its version."""
    (tmp / "input.f32").write_bytes(x.astype(np.float32).tobytes())
    out = tmp / f"out_{model}"
    subprocess.run(["node", str(tmp / "ref.mjs"), str(locate(model)), str(tmp / "input.f32"),
                    json.dumps(list(x.shape)), str(out), dtype], cwd=tmp, check=True)
    index = json.loads((out / "index.json").read_text())
    return {name: np.fromfile(out / o["file"], np.float32).reshape(o["shape"])
            for name, o in index["outputs"].items()}, index["tfjs"]


def main() -> None:
    frame = next(iter(VideoReader(ROOT / "samples" / "vtest.mp4"))).rgb
    small = cv2.resize(frame, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    x = preprocess_native(small).numpy()  # 416x416: nothing to pad
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(["npm", "init", "-y"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["npm", "install", "--silent", TFJS], cwd=tmp, check=True)
        (tmp / "ref.mjs").write_text((ROOT / "scripts" / "tfjs_reference.mjs").read_text())
        outputs, version = run_tfjs(tmp, "nanodet", x)
        crops = np.stack([crop(frame, box) for box in MOVENET_BOXES])
        keypoints = [next(iter(run_tfjs(tmp, "movenet", c[None], "int32")[0].values())).reshape(17, 3) for c in crops]
    arrays = {"image_rgb": small, "tfjs_version": np.array(version)}
    for name, value in outputs.items():
        value = value.reshape(value.shape[-2], value.shape[-1])
        arrays[name] = value[:, :1] if value.shape[1] == 80 else value  # person column / box bins
    out = ROOT / "tests" / "fixtures" / "nanodet_vtest0.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB) from TensorFlow.js {version}")
    out = ROOT / "tests" / "fixtures" / "movenet_vtest0.npz"
    np.savez_compressed(out, boxes=MOVENET_BOXES, crops=crops, keypoints=np.stack(keypoints),
                        tfjs_version=np.array(version))
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB) from TensorFlow.js {version}")


if __name__ == "__main__":
    main()

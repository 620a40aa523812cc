#!/usr/bin/env python3
"""Make ``tests/fixtures/nanodet_vtest0.npz``: NanoDet outputs computed by TensorFlow.js itself.

The input is frame 0 of ``samples/vtest.mp4`` squeezed to the graph's 416x416 and normalised as
:func:`vidinpaint.detect.nanodet.preprocess_native` does (the 416x416 resized frame is stored, so
the test repeats the preprocessing bit for bit). TensorFlow.js (npm ``@tensorflow/tfjs@4.22.0``, CPU
backend) runs the graph through ``scripts/tfjs_reference.mjs`` with the machine's Node.js; the
person scores and the box distributions of every cell are stored as float32.

Usage: ``python scripts/make_tfjs_fixture.py`` (needs node + npm; installs tfjs in a temp folder;
NanoDet weights from ``vidinpaint weights fetch nanodet``).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from vidinpaint.detect.nanodet import SIZE, preprocess_native
from vidinpaint.video import VideoReader
from vidinpaint.weights import locate

ROOT = Path(__file__).resolve().parents[1]
TFJS = "@tensorflow/tfjs@4.22.0"


def main() -> None:
    frame = next(iter(VideoReader(ROOT / "samples" / "vtest.mp4"))).rgb
    small = cv2.resize(frame, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    x = preprocess_native(small).numpy()  # 416x416: nothing to pad
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(["npm", "init", "-y"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["npm", "install", "--silent", TFJS], cwd=tmp, check=True)
        script = tmp / "ref.mjs"
        script.write_text((ROOT / "scripts" / "tfjs_reference.mjs").read_text())
        (tmp / "input.f32").write_bytes(x.astype(np.float32).tobytes())
        subprocess.run(["node", str(script), str(locate("nanodet")), str(tmp / "input.f32"),
                        json.dumps(list(x.shape)), str(tmp / "out")], cwd=tmp, check=True)
        index = json.loads((tmp / "out" / "index.json").read_text())
        outputs = {name: np.fromfile(tmp / "out" / o["file"], np.float32).reshape(o["shape"])
                   for name, o in index["outputs"].items()}
    arrays = {"image_rgb": small, "tfjs_version": np.array(index["tfjs"])}
    for name, value in outputs.items():
        value = value.reshape(value.shape[-2], value.shape[-1])
        arrays[name] = value[:, :1] if value.shape[1] == 80 else value  # person column / box bins
    out = ROOT / "tests" / "fixtures" / "nanodet_vtest0.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB) from TensorFlow.js {index['tfjs']}")


if __name__ == "__main__":
    main()

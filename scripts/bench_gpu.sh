#!/usr/bin/env bash
# What a lent GPU session runs (one prepared script): model speeds at 1080p, and the whole
# pipeline on the sample scaled to 1080p with NanoDet on CUDA and NVENC encoding.
# Needs: VIDINPAINT_HOME with the npm models cached; av/ultralytics/segment-anything importable.
set -u
OUT=${OUT:-/tmp}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, av; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), '| PyAV', av.__version__, '| nvenc' , 'h264_nvenc' in av.codecs_available)"
python3 scripts/bench_models.py --device cuda --frames 30 2>&1 | tee "$OUT/bench_models_gpu.txt"
python3 - <<'PY' 2>&1 | tee "$OUT/bench_pipeline_gpu.txt"
import cv2, vidinpaint
from vidinpaint.synthetic import write_clip
from vidinpaint.video import VideoReader
# the sample's real street at 1080p: NanoDet finds no people among synthetic silhouettes
write_clip("/tmp/g1080.mp4", (cv2.resize(f.rgb, (1920, 1080)) for f in VideoReader("samples/vtest.mp4")), fps=25)
for codec in ("h264_nvenc", "libx264"):
    for seg in ("box", "grabcut"):
        settings = {"encode": {"codec": codec}, "detect": {"backend": "nanodet"}, "segment": {"backend": seg}}
        try:
            r = vidinpaint.clean("/tmp/g1080.mp4", "/tmp/g1080.clean.mp4", overwrite=True, settings=settings)
            enc = dict(r.backends)["encode"]
            print(f"pipeline 1920x1080 {r.frames} frames, segment={seg}, encode={enc}: {r.fps:.1f} fps", flush=True)
        except Exception as err:
            print(f"pipeline codec={codec} segment={seg}: failed: {type(err).__name__}: {err}", flush=True)
PY
python3 scripts/bench_gated.py --device cuda --pipeline-frames 100 2>&1 | tee "$OUT/bench_gated_gpu.txt"

#!/usr/bin/env bash
# What a lent GPU session runs (one prepared script): model speeds at 1080p, the whole pipeline on
# the sample scaled to 1080p with NanoDet on the device (NVENC and libx264; box and GrabCut masks)
# with its peak GPU memory, and batch throughput with 1 and 2 workers.
# Needs: VIDINPAINT_HOME with the npm models cached; av/ultralytics/segment-anything importable.
# A dry run of the same steps on the CPU, short (NanoDet alone among the models):
#   DEVICE=cpu FRAMES=10 MODELS=nanodet scripts/bench_gpu.sh
set -u
OUT=${OUT:-/tmp}
DEVICE=${DEVICE:-cuda}
FRAMES=${FRAMES:-150}
MODELS=${MODELS:-}
if [ "$DEVICE" = cuda ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
python3 -c "import torch, av; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), '| PyAV', av.__version__, '| nvenc' , 'h264_nvenc' in av.codecs_available)"
python3 scripts/bench_models.py --device "$DEVICE" --frames "$(( FRAMES < 30 ? FRAMES : 30 ))" --only "$MODELS" 2>&1 | tee "$OUT/bench_models_gpu.txt"
DEVICE=$DEVICE FRAMES=$FRAMES python3 - <<'PY' 2>&1 | tee "$OUT/bench_pipeline_gpu.txt"
import os
import torch, vidinpaint
from vidinpaint.synthetic import write_scaled
device, frames = os.environ["DEVICE"], int(os.environ["FRAMES"])
write_scaled("samples/vtest.mp4", "/tmp/g1080.mp4", 1920, 1080, frames=frames)
for codec in ("h264_nvenc", "libx264"):
    for seg in ("box", "grabcut"):
        settings = {"device": device, "encode": {"codec": codec}, "detect": {"backend": "nanodet"},
                    "segment": {"backend": seg}}
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        try:
            r = vidinpaint.clean("/tmp/g1080.mp4", "/tmp/g1080.clean.mp4", overwrite=True, settings=settings)
            enc = dict(r.backends)["encode"]
            peak = f", peak GPU memory {torch.cuda.max_memory_reserved() / 2**30:.2f} GiB" if device == "cuda" else ""
            print(f"pipeline 1920x1080 {r.frames} frames, segment={seg}, encode={enc}: {r.fps:.1f} fps{peak}", flush=True)
        except Exception as err:
            print(f"pipeline codec={codec} segment={seg}: failed: {type(err).__name__}: {err}", flush=True)
PY
python3 scripts/bench_batch.py --clips 4 --frames "$(( FRAMES < 30 ? FRAMES : 30 ))" --set "device=$DEVICE" 2>&1 | tee "$OUT/bench_batch_gpu.txt"
GATED=""  # the dry run: one crop size and small batches (512 px crops in batches of 32 need 34 GB on a CPU)
[ "$DEVICE" = cpu ] && GATED="--sizes 256 --batches 1,4 --seconds 1"
# shellcheck disable=SC2086
python3 scripts/bench_gated.py --device "$DEVICE" $GATED --pipeline-frames "$(( FRAMES < 100 ? FRAMES : 100 ))" 2>&1 | tee "$OUT/bench_gated_gpu.txt"

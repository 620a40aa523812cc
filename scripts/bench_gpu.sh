#!/usr/bin/env bash
# Every GPU check, as one prepared script for a lent GPU session (a few minutes), most important first:
#   1. the machine, and why NVENC does or does not open (FFmpeg's own log, the driver's libraries);
#      MoveNet (the pose check) on the device against TensorFlow.js;
#   2. `clean` against a bare transcode on the sample and on the sample scaled to 1080p, default and
#      fast presets, with the seconds of each stage and torch's peak GPU memory (issue #11's bar);
#      the CPU seconds of each thread of the 1080p default run, and of the threads Python did not start;
#   3. NVDEC against software decoding of the 1080p clip, and the 1080p default run with NVENC;
#   4. batch throughput with 1 and 2 workers;
#   5. the gated inpainter's crops/s, and the 1080p pipeline with it;
#   6. detector and segmenter speeds at 1080p.
# Each step has its own time limit, so one that hangs does not hide the rest; its output goes to
# $OUT/STEP.txt (eight steps: the device tool brings back at most eight files).
# Needs: VIDINPAINT_HOME with the npm models cached; av and scenedetect importable.
# A dry run of the same steps on the CPU, short:
#   DEVICE=cpu FRAMES=10 MODELS=nanodet scripts/bench_gpu.sh
set -u
OUT=${OUT:-/tmp}
DEVICE=${DEVICE:-cuda}
FRAMES=${FRAMES:-0}      # 0: whole clips (150 frames); a dry run takes fewer
MODELS=${MODELS:-}
LIMIT=${LIMIT:-150}      # seconds per step
SHORT=$(( FRAMES == 0 || FRAMES > 30 ? 30 : FRAMES ))
step() {  # step NAME COMMAND...: run with a time limit, output to the terminal and $OUT/NAME.txt
  local name=$1; shift
  echo "== $name"
  timeout "$LIMIT" "$@" 2>&1 | tee "$OUT/$name.txt"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || echo "== $name: exit $rc$( [ "$rc" = 124 ] && echo " (over its ${LIMIT} s limit)")"
}
if [ "$DEVICE" = cuda ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
step environment python3 - <<'PY'
import ctypes, logging, os
from fractions import Fraction
import av, torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "| PyAV", av.__version__, "| cores", os.cpu_count())
print("NVIDIA_DRIVER_CAPABILITIES =", os.environ.get("NVIDIA_DRIVER_CAPABILITIES", "(unset)"))
for lib in ("libcuda.so.1", "libnvidia-encode.so.1", "libnvcuvid.so.1"):
    try:
        ctypes.CDLL(lib)
        print(lib, "loads")
    except OSError as err:
        print(lib, "does not load:", err)
logging.basicConfig(level=logging.DEBUG, format="  ffmpeg %(name)s: %(message)s")
av.logging.set_level(av.logging.VERBOSE)
for codec in ("h264_nvenc", "hevc_nvenc"):
    if codec not in av.codecs_available:
        print(codec, "is not in this FFmpeg build")
        continue
    for width, height in ((64, 64), (1920, 1080)):
        ctx = av.CodecContext.create(codec, "w")
        ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = width, height, "yuv420p", Fraction(1, 25)
        try:
            ctx.open()
            print(f"{codec} opens at {width}x{height}")
        except Exception as err:  # noqa: BLE001 - the point is to print why
            print(f"{codec} does not open at {width}x{height}: {err}")
av.logging.set_level(None)
PY
step movenet python3 - <<PY
import numpy as np, torch
from vidinpaint.tfjs import GraphModel
from vidinpaint.weights import locate
fixture = np.load("tests/fixtures/movenet_vtest0.npz")  # crops and TensorFlow.js's keypoints
model = GraphModel(locate("movenet")).to("${DEVICE}").eval()  # its decoding mixes CPU constants in
with torch.inference_mode():
    for crop, reference in zip(fixture["crops"], fixture["keypoints"]):
        out = next(iter(model(torch.from_numpy(crop.astype(np.int32))[None].to("${DEVICE}")).values()))
        print("MoveNet on ${DEVICE} against TensorFlow.js: max |diff|", float(np.abs(out.reshape(17, 3).cpu().numpy() - reference).max()))
PY
step throughput python3 scripts/bench_throughput.py --scaled 1920x1080 --frames "$FRAMES"
step threads python3 scripts/bench_threads.py --scaled 1920x1080 --frames "$(( FRAMES == 0 ? 75 : FRAMES ))"
step nvidia_video python3 - <<PY
import time
import av
from av.codec.hwaccel import HWAccel
import vidinpaint
from vidinpaint.synthetic import write_scaled
from vidinpaint.timing import format_times
write_scaled("samples/vtest.mp4", "/tmp/g1080.mp4", 1920, 1080, frames=${FRAMES} or None)
for name, hw in (("software", None), ("NVDEC", HWAccel("cuda", allow_software_fallback=False))):
    try:
        start, n = time.perf_counter(), 0
        with av.open("/tmp/g1080.mp4", hwaccel=hw) as c:
            c.streams.video[0].thread_type = "AUTO"
            for frame in c.decode(video=0):
                frame.to_ndarray(format="rgb24")
                n += 1
        print(f"decode 1920x1080 to RGB, {name}: {n / (time.perf_counter() - start):.1f} fps ({n} frames)", flush=True)
    except Exception as err:  # noqa: BLE001 - print why and go on
        print(f"decode {name}: failed: {type(err).__name__}: {err}", flush=True)
for codec in ("h264_nvenc", "libx264"):
    try:
        r = vidinpaint.clean("/tmp/g1080.mp4", "/tmp/g1080.clean.mp4", overwrite=True,
                             settings={"device": "${DEVICE}", "encode": {"codec": codec}})
        print(f"1920x1080 {r.frames} frames, encode {dict(r.backends)['encode']}: {r.fps:.2f} fps")
        print("\n".join(format_times(r.timings)), flush=True)
    except Exception as err:  # noqa: BLE001 - one failing must not hide the other
        print(f"encode {codec}: failed: {type(err).__name__}: {err}", flush=True)
PY
step batch python3 scripts/bench_batch.py --clips 4 --frames "$SHORT" --set "device=$DEVICE"
GATED="--sizes 256,512 --batches 1,8,32 --precisions fp32,bf16 --seconds 1"
[ "$DEVICE" = cpu ] && GATED="--sizes 256 --batches 1,4 --seconds 1"  # 512 px crops in batches of 32 need 34 GB on a CPU
# shellcheck disable=SC2086
step gated python3 scripts/bench_gated.py --device "$DEVICE" $GATED --pipeline-frames "$(( FRAMES == 0 ? 100 : FRAMES ))"
step models python3 scripts/bench_models.py --device "$DEVICE" --frames "$SHORT" --only "$MODELS"

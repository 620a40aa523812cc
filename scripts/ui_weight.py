#!/usr/bin/env python3
"""Gradio against Starlette + uvicorn for the review page, and how the page copes with a 10-minute clip.

1. Dependency weight: ``pip download`` of each option into an empty folder (every wheel a fresh
   machine fetches), the total and the largest wheels.
2. Start-up: each option installed from those wheels into its own venv; seconds to import it,
   and seconds from starting a minimal page (an image and a slider) to its first HTTP 200.
3. `vidinpaint ui samples/vtest.mp4`: seconds from start to the page's first HTTP 200.
4. A 10-minute clip (640x360, 25 fps, 15000 frames): seconds to index it, one frame's decode by
   seeking at ten places, and the process's RSS, which must not grow with the clip.

Timings come from a shared machine: the load average is printed with them.

Usage: python scripts/ui_weight.py [--skip-install] [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_memory import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = {"gradio": ["gradio"], "starlette+uvicorn": ["starlette", "uvicorn"],
           "fastapi+uvicorn": ["fastapi", "uvicorn"]}
IMPORTS = {"gradio": "import gradio", "starlette+uvicorn": "import starlette.applications, uvicorn",
           "fastapi+uvicorn": "import fastapi, uvicorn"}
MINIMAL = {
    "gradio": "import gradio as gr\nwith gr.Blocks() as demo:\n    gr.Image()\n    gr.Slider(0, 100)\n"
              "demo.launch(server_name='127.0.0.1', server_port={port})\n",
    "starlette+uvicorn": "import uvicorn\nfrom starlette.applications import Starlette\n"
                         "from starlette.responses import HTMLResponse\nfrom starlette.routing import Route\n"
                         "page = lambda r: HTMLResponse('<img><input type=range>')\n"
                         "uvicorn.run(Starlette(routes=[Route('/', page)]), host='127.0.0.1', port={port}, "
                         "log_level='warning')\n",
    "fastapi+uvicorn": "import uvicorn\nfrom fastapi import FastAPI\nfrom fastapi.responses import HTMLResponse\n"
                       "app = FastAPI()\napp.get('/')(lambda: HTMLResponse('<img><input type=range>'))\n"
                       "uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n",
}
QUIET = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_200(command: list[str], url: str | None, timeout: float = 180, env: dict | None = None) -> float:
    """Seconds from starting ``command`` to the first HTTP 200 from ``url`` (or from the URL it
    prints on stderr when ``url`` is None)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, env={**os.environ, **QUIET, **(env or {})})
    try:
        while url is None:
            line = proc.stderr.readline()
            if not line:
                raise SystemExit(f"{command} exited without a URL")
            if "review page: " in line:
                url = line.split("review page: ", 1)[1].split()[0]
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise SystemExit(f"{command} exited: {proc.stderr.read()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"{command}: no page within {timeout} s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wheels(folder: Path) -> list[tuple[int, str]]:
    return sorted(((p.stat().st_size, p.name) for p in folder.iterdir()), reverse=True)


def download(name: str, packages: list[str], tmp: Path) -> Path:
    folder = tmp / f"wheels-{name}"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(folder), *packages], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    files = wheels(folder)
    total = sum(size for size, _ in files) / 1e6
    top = ", ".join(f"{n.split('-')[0]} {s / 1e6:.1f}" for s, n in files[:5])
    print(f"download  {name:<18} {total:6.1f} MB in {len(files):2d} wheels (largest, MB: {top})")
    return folder


def startup(name: str, folder: Path, tmp: Path) -> None:
    venv = tmp / f"venv-{name}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(folder),
                    *OPTIONS[name]], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    imports = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([python, "-c", IMPORTS[name]], check=True, env={**os.environ, **QUIET})
        imports.append(time.perf_counter() - start)
    port = free_port()
    page = first_200([python, "-c", MINIMAL[name].replace("{port}", str(port))], f"http://127.0.0.1:{port}/")
    print(f"start-up  {name:<18} import {statistics.median(imports):5.2f} s (median of 3), "
          f"minimal page served after {page:5.2f} s")


def long_clip(path: Path, minutes: float) -> int:
    """A clip of ``minutes`` at 640x360, 25 fps: 250 distinct frames played forwards and back."""
    from vidinpaint.synthetic import walkers

    cycle = [rgb for rgb, _, _ in walkers(640, 360, 250, people=3, seed=2)]
    total = int(minutes * 60 * 25)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25, options={"preset": "ultrafast", "crf": "28"})
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        for i in range(total):
            k, j = divmod(i, len(cycle))
            out.mux(video.encode(av.VideoFrame.from_ndarray(cycle[j if k % 2 == 0 else -1 - j], format="rgb24")))
        out.mux(video.encode(None))
    return total


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def seeking(minutes: float, tmp: Path) -> None:
    from vidinpaint.video.seek import FrameSeeker

    clip = tmp / "long.mp4"
    frames = long_clip(clip, minutes)
    before = rss_mib()
    start = time.perf_counter()
    video = FrameSeeker(clip)
    index_s = time.perf_counter() - start
    print(f"long clip {minutes:g} min, {frames} frames 640x360, {clip.stat().st_size / 1e6:.0f} MB: "
          f"indexed ({len(video)} frames) in {index_s:.2f} s; RSS {before:.0f} -> {rss_mib():.0f} MiB")
    places = np.linspace(0, frames - 1, 10).astype(int)
    seconds = []
    for index in places:
        start = time.perf_counter()
        frame = video.frame(int(index))
        seconds.append(time.perf_counter() - start)
        assert frame.index == index
    print(f"          one frame by seeking at 10 places: median {statistics.median(seconds):.2f} s, "
          f"max {max(seconds):.2f} s; RSS now {rss_mib():.0f} MiB, peak "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-install", action="store_true", help="only the downloads, no venvs")
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, packages in OPTIONS.items():
            folder = download(name, packages, tmp)
            if not args.skip_install:
                startup(name, folder, tmp)
        clip = ROOT / "samples" / "vtest.mp4"
        page = first_200([sys.executable, "-m", "vidinpaint", "ui", str(clip), "--port", "0"], None)
        print(f"vidinpaint ui {clip.name}: page served after {page:.2f} s (torch and the clip's index included)")
        seeking(args.minutes, tmp)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

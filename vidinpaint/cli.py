"""Command line: ``vidinpaint clean | info | config``; a thin layer over the library API."""

from __future__ import annotations

import platform
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import av
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table
from rich.text import Text

from . import __version__
from .config import as_dict, describe, load_config, presets
from .errors import VidinpaintError
from .pipeline import clean_path
from .video import probe

app = typer.Typer(
    help="Remove people (or any marked objects) from videos and images, automatically.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Inpainter(str, Enum):
    telea = "telea"
    ns = "ns"


def _version(value: bool) -> None:
    if value:
        out.print(f"vidinpaint {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """vidinpaint: `vidinpaint clean match.mp4` writes match.clean.mp4 with the people removed."""


class FpsColumn(ProgressColumn):
    """Frames per second, from rich's own speed estimate."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:5.1f} fps" if task.speed else "  --- fps", style="cyan")


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _overrides(**flags: object) -> list[str]:
    return [f"{key}={value.value if isinstance(value, Enum) else value}"
            for key, value in flags.items() if value is not None]


@app.command()
def clean(
    input: Path = typer.Argument(..., help="Video, image, or folder of images."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Output path (default: <name>.clean.<ext> beside the input)."),
    config: Optional[str] = typer.Option(None, "--config", "-c",
                                         help=f"Preset ({', '.join(presets())}) or YAML file."),
    set_: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE",
                                   help="Override any option, e.g. --set detect.margin=12 (see `vidinpaint config`)."),
    mask: Optional[Path] = typer.Option(None, "--mask", "-m",
                                        help="Your own masks (white = remove): one image for all frames, "
                                             "a folder of per-frame images, or a mask video. Skips detection."),
    device: Optional[Device] = typer.Option(None, "--device", help="Where neural stages run (default: auto)."),
    codec: Optional[str] = typer.Option(None, "--codec", help="Video encoder (default: libx264)."),
    crf: Optional[int] = typer.Option(None, "--crf", help="Encoder quality, 0-51, lower is better (default: 18)."),
    encoder_preset: Optional[str] = typer.Option(None, "--encoder-preset",
                                                 help="Encoder speed preset (default: veryfast)."),
    margin: Optional[int] = typer.Option(None, "--margin", help="Pixels added around detected boxes (default: 8)."),
    dilate: Optional[int] = typer.Option(None, "--dilate", help="Pixels to grow masks by (default: 0)."),
    inpaint: Optional[Inpainter] = typer.Option(None, "--inpaint", help="Inpainting method (default: telea)."),
    preview: bool = typer.Option(False, "--preview", help="Also write <output>.preview.png: original, mask, result."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or stage lines."),
) -> None:
    """Remove people from INPUT and write the result (same length, timestamps and audio)."""
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        FpsColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        console=err, disable=quiet)
    task = None

    def on_start(backends: list[tuple[str, str]], total: int | None) -> None:
        nonlocal task
        if not quiet:
            for name, backend in backends:
                err.print(f"  [bold]{name:<8}[/] {escape(backend)}")
        if task is not None:
            progress.remove_task(task)
        task = progress.add_task("cleaning", total=total)

    try:
        cfg = load_config(config, [*set_, *_overrides(
            device=device, **{"encode.codec": codec, "encode.crf": crf, "encode.preset": encoder_preset,
                              "detect.margin": margin, "mask.dilate": dilate, "inpaint.backend": inpaint})])
        with progress:
            results = clean_path(input, output, cfg, mask=mask, preview=preview, overwrite=overwrite,
                                 on_start=on_start, progress=lambda _f: progress.advance(task))
    except VidinpaintError as error:
        _fail(str(error))
    except av.FFmpegError as error:
        _fail(f"FFmpeg: {error}")
    except KeyboardInterrupt:
        _fail("interrupted; no output was written", 130)
    for result in results:
        err.print(f"[green]wrote[/] {result.output}  ({result.frames} frames in {result.seconds:.1f} s, "
                  f"{result.fps:.1f} fps)" + (f"  preview: {result.preview}" if result.preview else ""))


def _environment() -> Table:
    table = Table(title="vidinpaint environment", show_header=False)
    table.add_row("vidinpaint", __version__)
    table.add_row("python", f"{platform.python_version()} ({sys.executable})")
    import cv2
    import numpy

    table.add_row("numpy", numpy.__version__)
    table.add_row("opencv", cv2.__version__)
    libs = ", ".join(f"{k} {'.'.join(map(str, v))}" for k, v in av.library_versions.items())
    table.add_row("PyAV", f"{av.__version__} (FFmpeg {libs})")
    encoders = [c for c in ("libx264", "libx265", "h264_nvenc", "hevc_nvenc", "libopenh264", "mpeg4")
                if c in av.codecs_available]
    table.add_row("encoders", ", ".join(encoders))
    try:
        import torch

        cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
        table.add_row("torch", f"{torch.__version__} ({cuda})")
    except ImportError:
        table.add_row("torch", "not installed (not needed by the classical stages)")
    table.add_row("presets", ", ".join(f"{k} ({v})" for k, v in presets().items()))
    return table


@app.command()
def info(input: Optional[Path] = typer.Argument(None, help="A video to describe; omit for the environment.")) -> None:
    """Describe a video (streams, size, rate, frames, rotation, audio), or the environment."""
    if input is None:
        out.print(_environment())
        return
    try:
        meta = probe(input)
    except VidinpaintError as error:
        _fail(str(error))
    table = Table(title=str(input), show_header=False)
    rate = f"{float(meta.average_rate):.3f}" if meta.average_rate else "unknown"
    rows = {
        "container": meta.format_name,
        "video": f"{meta.codec} {meta.pix_fmt} {meta.width}x{meta.height} (display "
                 f"{meta.display_size[0]}x{meta.display_size[1]}, rotation {meta.rotation})",
        "frame rate": f"{rate} fps (time base {meta.time_base})",
        "frames": str(meta.frames or f"not declared (~{meta.estimated_frames})"),
        "duration": f"{meta.duration_s:.3f} s" if meta.duration_s else "unknown",
        "audio": (f"{meta.audio.codec} {meta.audio.sample_rate} Hz, {meta.audio.channels} ch"
                  if meta.audio else "none"),
    }
    for key, value in rows.items():
        table.add_row(key, value)
    out.print(table)


@app.command("config")
def show_config(
    config: Optional[str] = typer.Argument(None, help="Preset name or YAML file (default: built-in defaults)."),
    set_: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Overrides, as for clean."),
    options: bool = typer.Option(False, "--options", help="List every option with its default and meaning."),
) -> None:
    """Print the effective configuration as YAML (or, with --options, what every option means)."""
    if options:
        table = Table("option", "default", "meaning")
        for key, default, doc in describe():
            table.add_row(key, str(default), doc)
        out.print(table)
        return
    try:
        out.print(yaml.safe_dump(as_dict(load_config(config, set_)), sort_keys=False), end="")
    except VidinpaintError as error:
        _fail(str(error))

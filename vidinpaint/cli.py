"""Command line: ``vidinpaint clean | masks | tracks | batch | info | config ...``; a thin layer over the library API."""

from __future__ import annotations

import contextlib
import functools
import inspect
import platform
import shlex
import signal
import sys
import warnings
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import av
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, ProgressColumn, Task, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn, TransferSpeedColumn)
from rich.text import Text

from . import __version__
from .config import EncodeConfig, as_dict, describe, load_config, presets
from .errors import ConfigError, Terminated, VidinpaintError, VidinpaintWarning, one_line, user_message
from .images import is_image
from .pipeline import clean_path
from .timing import format_times, sum_timings
from .progress import Meter
from .video import probe
from .video.encoders import has_crf
from .video.streams import StreamInfo

if TYPE_CHECKING:  # the review page's extra may be absent: imported where `ui` runs
    from .ui.session import Review

app = typer.Typer(
    help="Remove people (or any marked objects) from videos and images, automatically.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain usage errors: a boxed panel is cut to the terminal's width
)
# soft_wrap: a message is one line whatever the width (a path cut over three lines is neither
# readable nor greppable; rich assumes 80 columns when stderr is a pipe).
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False)


# Typer carries its own copy of Click: its usage errors are the base class of typer.BadParameter.
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def _usage_error_line(self, file=None) -> None:
    """Click's usage errors (``--crf abc``, an unknown option) as one ``error:`` line like ours,
    instead of a usage block, a hint and ``Error:`` (exit status 2 stays Click's)."""
    hint = f" (see {self.ctx.command_path} --help)" if self.ctx is not None else ""
    print(f"error: {self.format_message()}{hint}", file=file or sys.stderr)


_UsageError.show = _usage_error_line  # NoArgsIsHelpError, a subclass, still shows the help


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class DetectorName(str, Enum):
    auto = "auto"
    yolo = "yolo"
    nanodet = "nanodet"
    motion = "motion"


class SegmenterName(str, Enum):
    auto = "auto"
    sam = "sam"
    selfie = "selfie"
    grabcut = "grabcut"
    box = "box"


class Inpainter(str, Enum):
    auto = "auto"
    gated = "gated"
    telea = "telea"
    ns = "ns"
    patchmatch = "patchmatch"


def _version(value: bool) -> None:
    if value:
        out.print(f"vidinpaint {__version__}")
        raise typer.Exit()


_python_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """vidinpaint's warnings as one ``warning:`` line (never hidden by -q); others as Python shows them."""
    if issubclass(category, VidinpaintWarning):
        err.print(f"[yellow]warning:[/] {escape(one_line(str(message)))}")
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """vidinpaint: `vidinpaint clean match.mp4` writes match.clean.mp4 with the people removed."""
    warnings.showwarning = _show_warning


class FpsColumn(ProgressColumn):
    """Frames per second, from rich's own speed estimate."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:5.1f} fps" if task.speed else "  --- fps", style="cyan")


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(one_line(message))}")
    raise typer.Exit(code)


def _progress(quiet: bool):
    """A frames progress meter, the pipeline's on_start callback (prints the stage lines) and
    its per-frame callback."""
    meter = Meter(err, TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  FpsColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), quiet=quiet,
                  unit="fps")
    task = None

    def on_start(backends: list[tuple[str, str]], total: int | None) -> None:
        nonlocal task
        if not quiet:
            for name, backend in backends:
                meter.print(f"  [bold]{name:<8}[/] {escape(backend)}")
        if task is not None:
            meter.remove_task(task)
        task = meter.add_task("working", total=total)

    def advance(_frame: object) -> None:
        meter.advance(task)

    return meter, on_start, advance


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line and a non-zero exit (no traceback).

    SIGTERM and SIGHUP (a closed terminal, ``kill``, a CI timeout) unwind like Ctrl-C, so the
    temporary output is removed instead of being left beside the target.
    """
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    except (VidinpaintError, av.FFmpegError) as error:
        _fail(user_message(error))
    except KeyboardInterrupt as stop:
        signum = getattr(stop, "signum", signal.SIGINT)
        _fail(f"interrupted by {signal.Signals(signum).name}; what was not finished was not written "
              f"(files finished before are kept)", 128 + signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _overrides(**flags: object) -> list[str]:
    return [f"{key}={value.value if isinstance(value, Enum) else value}"
            for key, value in flags.items() if value is not None]


def _crf(crf: int | None, codec: str | None, settings: list[str]) -> int | None:
    """``--crf`` as given; without it (nor ``--set encode.crf=``), a ``--codec`` that has no CRF
    mode sets the default back, so that a preset's CRF (``-c fast`` sets 20) is not taken for a
    request the codec cannot meet."""
    asked = crf is not None or any(s.replace(" ", "").startswith("encode.crf=") for s in settings)
    if not asked and codec and not has_crf(codec):
        return EncodeConfig.crf
    return crf


_TRACKS = typer.Option(None, "--tracks", metavar="IDS",
                       help="Remove only these track ids, e.g. 3,7 (see `vidinpaint tracks`).")
_KEEP_TRACKS = typer.Option(None, "--keep-tracks", metavar="IDS", help="Keep these track ids, remove all others.")
_TRACKS_FILE = typer.Option(None, "--tracks-file", metavar="JSON",
                            help="A tracks.json from `vidinpaint tracks`: remove its tracks except those "
                                 "marked \"remove\": false.")
_REGION = typer.Option(None, "--region", metavar="X0,Y0,X1,Y1",
                       help="Remove only objects whose box centre is inside this box (frame pixels).")
_MIN_HEIGHT = typer.Option(None, "--min-height", metavar="PX", help="Remove only objects at least PX tall.")
_POINT = typer.Option([], "--point", metavar="X,Y@FRAME",
                      help="Also remove the object under this pixel on this frame (repeatable).")
_BOX = typer.Option([], "--box", metavar="X0,Y0,X1,Y1@FRAME",
                    help="Also remove the object in this box on this frame (repeatable).")


_FLAGS = {"tracks": (Optional[str], _TRACKS), "keep_tracks": (Optional[str], _KEEP_TRACKS),
          "tracks_file": (Optional[Path], _TRACKS_FILE), "region": (Optional[str], _REGION),
          "min_height": (Optional[int], _MIN_HEIGHT), "point": (list[str], _POINT), "box": (list[str], _BOX)}


def _selectable(*names: str):
    """Give a command the selection flags ``names`` (all by default); it receives those given as
    its ``select`` argument, the ``select`` config section, e.g. ``{"select": {"tracks": "3,7"}}``."""
    def wrap(command):
        signature = inspect.signature(command)
        kept = [p for p in signature.parameters.values() if p.name != "select"]
        flags = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=_FLAGS[n][1], annotation=_FLAGS[n][0])
                 for n in names or _FLAGS]

        @functools.wraps(command)
        def run(**kwargs):
            given = {n: kwargs.pop(n) for n in names or _FLAGS}
            given["points"], given["boxes"] = ";".join(given.pop("point", [])), ";".join(given.pop("box", []))
            given["tracks_file"] = str(given["tracks_file"]) if given.get("tracks_file") else None
            return command(**kwargs, select={"select": {k: v for k, v in given.items() if v not in (None, "")}})

        run.__signature__ = signature.replace(parameters=[*kept, *flags])
        return run
    return wrap


@app.command()
@_selectable()
def clean(
    input: Path = typer.Argument(..., help="Video, image, or folder of images."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Output path (default: <name>.clean.<ext> beside the input)."),
    config: Optional[str] = typer.Option(None, "--config", "-c",
                                         help=f"Preset ({', '.join(presets())}) or YAML file."),
    set_: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE",
                                   help="Override any option, e.g. --set detect.margin=12 (see `vidinpaint config`)."),
    mask: Optional[Path] = typer.Option(None, "--mask", "-m",
                                        help="Your own masks, white = remove (brightest channel >= 128 of 255; "
                                             "the alpha channel, if the image has transparency): one image for "
                                             "all frames, a folder of per-frame images, or a mask video (matched "
                                             "by time). Drawn as a player shows the video (rotation applied), "
                                             "same aspect ratio. Skips detection."),
    device: Optional[Device] = typer.Option(None, "--device", help="Where neural stages run (default: auto)."),
    classes: Optional[str] = typer.Option(None, "--classes", help="COCO classes to remove, e.g. person,dog (default: person)."),
    detector: Optional[DetectorName] = typer.Option(None, "--detector", help="Detection backend (default: auto)."),
    segmenter: Optional[SegmenterName] = typer.Option(None, "--segmenter", help="Mask refinement backend (default: auto)."),
    strict: bool = typer.Option(False, "--strict", help="Missing weights are an error, not a fallback."),
    weights_dir: Optional[Path] = typer.Option(None, "--weights-dir", help="Weights cache folder."),
    codec: Optional[str] = typer.Option(None, "--codec", help="Video encoder (default: by output container: "
                                                              "libx264, libx265 for HDR, libvpx-vp9 for WebM, mpeg4 for AVI)."),
    crf: Optional[int] = typer.Option(None, "--crf", help="Encoder quality (x264/x265, VP9, AV1), 0-51, lower is better (default: 18)."),
    drop: list[str] = typer.Option([], "--drop", metavar="KIND",
                                   help="Leave out streams of this kind (audio, subtitle, data, video, attachment) or "
                                        "chapters, with a warning, e.g. what the output container cannot hold."),
    encoder_preset: Optional[str] = typer.Option(None, "--encoder-preset",
                                                 help="Encoder speed preset (default: veryfast)."),
    margin: Optional[int] = typer.Option(None, "--margin", help="Pixels added around detected boxes (default: 8)."),
    dilate: Optional[int] = typer.Option(None, "--dilate", help="Pixels to grow masks by (default: 6)."),
    inpaint: Optional[Inpainter] = typer.Option(None, "--inpaint", help="Inpainting method (default: auto = gated if its weights are present, else telea)."),
    select: Optional[dict] = None,
    preview: bool = typer.Option(False, "--preview", help="Also write <output>.preview.png: original, mask, result."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or stage lines."),
    timings: bool = typer.Option(False, "--timings", "-v", help="End with the seconds and share of each stage."),
) -> None:
    """Remove people from INPUT and write the result (same length, timestamps and audio)."""
    progress, on_start, advance = _progress(quiet)
    with _user_errors():
        given = [f for f, v in (("--detector", detector), ("--classes", classes), ("--segmenter", segmenter))
                 if v is not None]
        if mask is not None and given:  # as --tracks and --region are: no option that silently does nothing
            raise ConfigError(f"{given[0]} chooses what is detected and segmented; --mask gives the masks and skips "
                              f"both")
        cfg = load_config(config, [*set_, *_overrides(
            device=device, weights_dir=weights_dir, strict=strict or None,
            **{"encode.codec": codec, "encode.crf": _crf(crf, codec, set_), "encode.preset": encoder_preset,
               "encode.drop": ",".join(drop) or None,
               "detect.margin": margin, "detect.classes": classes, "detect.backend": detector,
               "segment.backend": segmenter, "mask.dilate": dilate, "inpaint.backend": inpaint})],
                          select)
        with progress:
            results = clean_path(input, output, cfg, mask=mask, preview=preview, overwrite=overwrite,
                                 on_start=on_start, progress=advance)
    _report(results)
    if timings:
        for line in format_times(sum_timings(r.timings for r in results)):
            err.print(escape(line))


def _report(results: list) -> None:
    for result in results:
        err.print(f"[green]wrote[/] {escape(str(result.output))}  ({result.frames} frames in {result.seconds:.1f} s, "
                  f"{result.fps:.1f} fps)" + (f"  preview: {escape(str(result.preview))}" if result.preview else "")
                  + (f"  {result.shots}" if result.shots else ""))
        if result.still:
            err.print(escape(result.still))


def _print_rows(rows: list[list[str]], title: str | None = None) -> None:
    """A table as plain lines: columns padded to their widest cell, the last one as long as it
    is, every row on one line whatever the terminal's width (a rich Table cut cells to fit it:
    weight names came out as "na…" at 40 columns). The first row is the header, if any."""
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]) - 1)] if rows else []
    if title:
        out.print(title, soft_wrap=True, markup=False)
    for row in rows:
        line = "  ".join([cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]])
        out.print(line.rstrip(), soft_wrap=True, markup=False)


def _environment() -> list[list[str]]:
    table = _Rows()
    table.add_row("vidinpaint", __version__)
    table.add_row("python", f"{platform.python_version()} ({sys.executable})")
    import cv2
    import numpy

    table.add_row("numpy", numpy.__version__)
    table.add_row("opencv", cv2.__version__)
    libs = ", ".join(f"{k} {'.'.join(map(str, v))}" for k, v in av.library_versions.items())
    table.add_row("PyAV", f"{av.__version__} (FFmpeg {libs})")
    encoders = [c for c in ("libx264", "libx265", "libvpx-vp9", "libsvtav1", "libaom-av1", "prores_ks", "h264_nvenc",
                            "hevc_nvenc", "libopenh264", "mpeg4")
                if c in av.codecs_available]
    table.add_row("encoders", ", ".join(encoders))
    try:
        import torch

        cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
        table.add_row("torch", f"{torch.__version__} ({cuda})")
    except ImportError:
        table.add_row("torch", "not installed (not needed by the classical stages)")
    table.add_row("presets", ", ".join(f"{k} ({v})" for k, v in presets().items()))
    return table.rows


class _Rows:
    """Rows collected for :func:`_print_rows`."""

    def __init__(self, *header: str) -> None:
        self.rows: list[list[str]] = [list(header)] if header else []

    def add_row(self, *cells: str) -> None:
        self.rows.append([str(c) for c in cells])


def _stream_line(stream: StreamInfo) -> str:
    """``#1 audio aac eng "English" default, 48000 Hz, 2 ch``: one stream of ``info``."""
    words = [f"#{stream.index}", stream.kind, stream.codec, stream.language or "und"]
    if stream.title:
        words.append(f'"{stream.title}"')
    words.append("+".join(stream.disposition) or "-")
    return " ".join(words) + (f", {stream.detail}" if stream.detail else "")


@app.command()
def info(input: Optional[Path] = typer.Argument(None, help="A video to describe; omit for the environment.")) -> None:
    """Describe a video (every stream, colour, rate, frames, rotation, chapters), or the environment."""
    if input is None:
        _print_rows(_environment(), "vidinpaint environment")
        return
    with _user_errors():
        meta = probe(input)
    rate = f"{float(meta.average_rate):.3f}" if meta.average_rate else "unknown"
    rows = {
        "file": str(input),
        "container": meta.format_name + "".join(f", {k} {v}" for k, v in meta.metadata
                                                 if k in ("title", "creation_time")),
        "video": f"#{meta.index} {meta.codec} {meta.pix_fmt} {meta.width}x{meta.height} (display "
                 f"{meta.display_size[0]}x{meta.display_size[1]}, rotation {meta.rotation}"
                 + (f", pixels {meta.sample_aspect.numerator}:{meta.sample_aspect.denominator}: a player shows "
                    f"{meta.shown_size[0]}x{meta.shown_size[1]}" if meta.sample_aspect else "") + ")",
        "colour": meta.colour.describe() + (", HDR10 mastering metadata" if meta.colour.mastering else "")
                  + (", content light level" if meta.colour.light else ""),
        "frame rate": f"{rate} fps (time base {meta.time_base})",
        "frames": str(meta.frames or "not declared"
                      + (f" (~{meta.estimated_frames})" if meta.estimated_frames else "")),
        "duration": f"{meta.duration_s:.3f} s" if meta.duration_s else "unknown",
    }
    if is_image(input):  # FFmpeg reads a still as a one-frame stream at its default 25 fps
        rows.update({"frame rate": "none (a still image)", "frames": "1", "duration": "none (a still image)"})
    lines = [f"{key:<11}{value}" for key, value in rows.items()]
    lines += [f"{'stream':<11}{_stream_line(s)}" for s in meta.streams]
    lines += [f"{'chapter':<11}{c.start_s:.3f}-{c.end_s:.3f} s {c.title}" for c in meta.chapters]
    for line in lines:  # plain lines: never wrapped or cut, whatever the terminal width
        out.print(escape(line), soft_wrap=True)


@app.command("config")
def show_config(
    config: Optional[str] = typer.Argument(None, help="Preset name or YAML file (default: built-in defaults)."),
    set_: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Overrides, as for clean."),
    options: bool = typer.Option(False, "--options", help="List every option with its default and meaning."),
) -> None:
    """Print the effective configuration as YAML (or, with --options, what every option means)."""
    if options:  # with a preset or --set, the values they give (both were ignored without a word)
        with _user_errors():
            chosen = as_dict(load_config(config, set_)) if config or set_ else None
        table = _Rows("option", "value" if chosen else "default", "meaning")
        for key, default, doc in describe():
            table.add_row(key, str(functools.reduce(dict.__getitem__, key.split("."), chosen) if chosen else default),
                          doc)
        _print_rows(table.rows)
        return
    with _user_errors():
        # Plain text: YAML piped into a file must not be wrapped, nor its [lists] read as markup.
        out.print(yaml.safe_dump(as_dict(load_config(config, set_)), sort_keys=False), end="", soft_wrap=True,
                  markup=False)


@app.command()
@_selectable()
def masks(
    input: Path = typer.Argument(..., help="A video."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Mask video (.mp4, lossless) or a folder for PNGs "
                                               "(default: <name>.masks.mp4)."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML file."),
    set_: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Overrides, as for clean."),
    strict: bool = typer.Option(False, "--strict", help="Missing weights are an error, not a fallback."),
    weights_dir: Optional[Path] = typer.Option(None, "--weights-dir", help="Weights cache folder."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or stage lines."),
    select: Optional[dict] = None,
) -> None:
    """Write the removal masks alone (white = remove), to inspect or edit and feed back with `clean --mask`."""
    from .pipeline import default_output, export_masks

    progress, on_start, advance = _progress(quiet)
    with _user_errors():
        cfg = load_config(config, [*set_, *_overrides(strict=strict or None, weights_dir=weights_dir)],
                          select)
        with progress:
            result = export_masks(input, output or default_output(input, "masks", ".mp4"), cfg,
                                  overwrite=overwrite, progress=advance, on_start=on_start)
    _report([result])


@app.command("tracks")
@_selectable("point", "box")
def list_tracks(
    input: Path = typer.Argument(..., help="A video."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON to write (default: <name>.tracks.json)."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Also write a PNG with one thumbnail per track id."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML file (use the one you clean with)."),
    set_: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Overrides, as for clean."),
    detector: Optional[DetectorName] = typer.Option(None, "--detector", help="Detection backend (default: auto)."),
    select: Optional[dict] = None,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, stage lines or track list."),
) -> None:
    """List every tracked object (id, class, frames, boxes) to choose what `clean --tracks` removes.
    Device, classes, weights: set them as for clean with --set (device=cpu, detect.classes=...)."""
    from .pipeline import default_output
    from .tracks import write_tracks

    progress, on_start, advance = _progress(quiet)
    with _user_errors():
        cfg = load_config(config, [*set_, *_overrides(**{"detect.backend": detector})],
                          select)
        target = output or default_output(input, "tracks", ".json")
        with progress:
            listing = write_tracks(input, target, cfg, sheet=sheet, overwrite=overwrite, progress=advance,
                                   on_start=on_start)
    found = listing.tracks
    if not quiet:
        for t in found:
            tallest = max(y1 - y0 for _, y0, _, y1 in t.boxes.values())
            out.print(f"{t.id:>5}  {t.cls}  frames {t.first}-{t.last}  up to {tallest}px tall"
                      + (f"  (left alone: {t.why})" if t.still else ""), soft_wrap=True, markup=False)
    still = sum(t.still for t in found)
    err.print(f"[green]wrote[/] {escape(str(target))}  ({len(found)} tracks"
              + (f", {still} of them left alone" if still else "") + ")"
              + (f"  sheet: {escape(str(sheet))}" if sheet else ""))
    if listing.still:
        err.print(escape(listing.still))


@app.command()
def adapt(
    input: Path = typer.Argument(..., help="The clip whose background the network should learn."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Checkpoint to write (default: <name>.inpaint.pth)."),
    start: Optional[str] = typer.Option(None, "--from", help="Weights to start from: registry name or path "
                                        "(default: inpaint.weights; random initialisation if not cached)."),
    steps: int = typer.Option(200, "--steps", min=1, help="Training steps."),
    frames: int = typer.Option(48, "--frames", min=1, help="Frames sampled evenly from the clip."),
    size: int = typer.Option(256, "--size", min=32, help="Training crop side, multiple of 8 (128 is 4x faster on a CPU)."),
    batch_size: int = typer.Option(4, "--batch", min=1, help="Crops per step."),
    lr: float = typer.Option(5e-5, "--lr", help="Adam learning rate."),
    gan_weight: float = typer.Option(0.1, "--gan-weight", help="Weight of the SN-PatchGAN loss against L1."),
    mask: Optional[Path] = typer.Option(None, "--mask", "-m", help="Your own masks of what to exclude (as for clean)."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML file (mask stages, weights)."),
    set_: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Overrides, as for clean."),
    device: Optional[Device] = typer.Option(None, "--device", help="Where training runs (default: auto)."),
    weights_dir: Optional[Path] = typer.Option(None, "--weights-dir", help="Weights cache folder."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or stage lines."),
) -> None:
    """Fine-tune the inpainting network on INPUT's own background (holes placed away from the people).

    Use the result with: vidinpaint clean INPUT --inpaint gated --set inpaint.weights=<output>
    """
    with _user_errors():  # torch loads here (seconds): a Ctrl-C now is the same one line as later
        from .adapt import adapt as run_adapt
        from .inpaint.train import TrainConfig, losses_path
        from .pipeline import default_output

    progress = Meter(err, TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                     TextColumn("{task.fields[loss]}"), TimeElapsedColumn(), TextColumn("ETA"),
                     TimeRemainingColumn(), quiet=quiet)
    out_path = output or default_output(input, "inpaint", ".pth")
    with _user_errors():
        cfg = load_config(config, [*set_, *_overrides(device=device, weights_dir=weights_dir)])
        train_config = TrainConfig(size=size, batch=batch_size, lr=lr, gan_weight=gan_weight)
        if not quiet:
            err.print(f"  [bold]sampling[/] {frames} frames of {escape(str(input))} and finding what to exclude")
        with progress:
            task = progress.add_task("training", total=steps, loss="")
            result = run_adapt(input, out_path, cfg, train_config, steps=steps, frames=frames, start=start, mask=mask,
                               overwrite=overwrite,
                               progress=lambda r: progress.update(task, advance=1, loss=f"L1 {r['l1']:.3f}"))
    if not quiet:
        for name, backend in result.backends:
            err.print(f"  [bold]{name:<8}[/] {escape(backend)}")
    out.print(f"wrote {result.output} ({result.steps} steps on {result.frames} frames; L1 {result.l1_first:.4f} -> "
              f"{result.l1_last:.4f}; loss curve {losses_path(result.output)})", soft_wrap=True, markup=False)
    out.print(f"use it: vidinpaint clean {shlex.quote(str(input))} --inpaint gated "
              f"--set {shlex.quote(f'inpaint.weights={result.output}')}", soft_wrap=True, markup=False)


@app.command()
def ui(
    input: Optional[Path] = typer.Argument(None, help="A video to open (or choose one in the page)."),
    port: int = typer.Option(8765, "--port", "-p", min=0, max=65535, help="Port to serve on (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Address to bind; the default serves this machine only."),
    allow_host: list[str] = typer.Option([], "--allow-host", metavar="NAME",
                                         help="Also answer requests for this host name (repeatable, no port): "
                                              "the name a proxy such as VS Code's port forwarding or Jupyter's "
                                              "server proxy sends. A server on this machine only refuses other "
                                              "names; one bound to another address (--host 0.0.0.0) answers any "
                                              "name, so there this has no effect (a warning says so)."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML file."),
    set_: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Overrides, as for clean."),
) -> None:
    """A local review page: the tracks on every frame, click what goes, add objects, preview, run."""
    try:
        from .ui.server import bind, is_local, serve, url_of
        from .ui.session import Review
    except ImportError as missing:
        _fail(f"the review page needs {missing.name}: pip install 'vidinpaint[ui]'")
    import tempfile

    with _user_errors(), tempfile.TemporaryDirectory(prefix="vidinpaint-ui-") as work:
        words = (["-c", shlex.quote(config)] if config else []) + [f"--set {shlex.quote(s)}" for s in set_]
        review = Review(load_config(config, set_), Path(work), tuple(words))
        if input is not None:
            review.open(input)
        sock = bind(host, port)
        where = "local only: this machine can open it, no other" if is_local(host) else \
            f"bound to {host}: anyone who can reach this address can use the page and read files it names"
        err.print(f"review page: {url_of(sock)}  ({where}; Ctrl-C stops it)", markup=False)
        try:
            serve(review, sock, tuple(allow_host))
        except KeyboardInterrupt as stop:
            _page_stopped(review, getattr(stop, "signum", signal.SIGINT))


def _page_stopped(review: Review, signum: int) -> None:
    """Ctrl-C or SIGTERM is how the review page ends: say that, not that no output was written
    (its earlier runs' outputs are there); name the output only of a run it cut short."""
    name = signal.Signals(signum).name
    lost = review.stop()
    if lost is not None:
        _fail(f"review page stopped by {name} during a run: {lost} was not written", 128 + signum)
    err.print(f"review page stopped by {name}", markup=False)
    raise typer.Exit(128 + signum)


weights_app = typer.Typer(help="List, fetch and locate model weights (nothing else downloads them).",
                          no_args_is_help=True)
app.add_typer(weights_app, name="weights")


@weights_app.command("list")
def weights_list(weights_dir: Optional[Path] = typer.Option(None, "--weights-dir", help="Weights cache folder.")) -> None:
    """Every known weight file: stage, size, license, and whether it is cached here."""
    from .weights import REGISTRY, WeightsError, WeightsMissing, locate, weights_dir as folder

    table = _Rows("name", "stage", "status", "size", "license", "source")
    for name, s in REGISTRY.items():
        try:
            locate(name, weights_dir)
            status = "ready"
        except WeightsMissing:
            status = "missing"
        except WeightsError:
            status = "corrupt"
        size = sum(f.size or 0 for f in s.files)
        digests = {len(f.sha256) for f in s.files}
        check = " (unverified: no published sha256)" if 0 in digests else \
            "" if digests == {64} else " (sha256 prefix only)"
        table.add_row(name, s.stage, status, f"{size / 1e6:.1f} MB" if size else "?", s.license + check, s.source)
    _print_rows(table.rows, f"weights in {folder(weights_dir)}")


@weights_app.command("fetch")
def weights_fetch(names: list[str] = typer.Argument(..., help="Registry names (see `vidinpaint weights list`)."),
                  weights_dir: Optional[Path] = typer.Option(None, "--weights-dir", help="Weights cache folder.")) -> None:
    """Download weights into the cache, verify size and checksum, then move them in place."""
    from .weights import fetch

    progress = Meter(err, TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                     TransferSpeedColumn())
    with _user_errors(), progress:
        for name in names:
            task = progress.add_task(name, total=None)
            path = fetch(name, weights_dir, progress=lambda done, total: progress.update(task, completed=done, total=total))
            progress.update(task, completed=1, total=1)
            progress.print(f"[green]ready[/] {escape(name)}: {escape(str(path))}")


@weights_app.command("path")
def weights_path(name: str = typer.Argument(..., help="Registry name."),
                 weights_dir: Optional[Path] = typer.Option(None, "--weights-dir", help="Weights cache folder.")) -> None:
    """Print the verified path of a cached weight file (non-zero exit if missing or corrupt)."""
    from .weights import locate

    try:
        out.print(str(locate(name, weights_dir)), soft_wrap=True, markup=False)
    except VidinpaintError as error:
        _fail(str(error))


@app.command()
def batch(
    inputs: list[Path] = typer.Argument(..., help="Files, folders (recursive) or manifests (.csv/.jsonl)."),
    outdir: Path = typer.Option(..., "--output", "-o", help="Output folder; outputs mirror the input tree."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML file."),
    set_: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="Overrides, as for clean."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", min=1,
                                          help="Local worker processes (default: cores/4, at least one per GPU, at most one per 4 GiB of its memory)."),
    ray: bool = typer.Option(False, "--ray", help="Run each clip as a Ray task (pip install 'vidinpaint[ray]')."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (default: local)."),
    log: Optional[Path] = typer.Option(None, "--log", help="Job log (default: OUTDIR/vidinpaint-jobs.jsonl)."),
    device: Optional[Device] = typer.Option(None, "--device", help="Where neural stages run (default: auto)."),
    strict: bool = typer.Option(False, "--strict", help="Missing weights are an error, not a fallback."),
    weights_dir: Optional[Path] = typer.Option(None, "--weights-dir", help="Weights cache folder."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace output files the job log does not know (else those clips fail)."),
) -> None:
    """Clean many clips: resumable (rerun skips finished clips), one bad clip does not stop the rest."""
    from .batch import LOG_NAME, discover, failure
    from .runner import Events, default_workers, run_batch

    with _user_errors():
        cfg = load_config(config, [*set_, *_overrides(device=device, strict=strict or None, weights_dir=weights_dir)])
        jobs = discover(inputs, outdir)
        # files under the output folder are skipped (outputs, never inputs), whichever folder holds the other
        under = [p for p in inputs if p.is_dir() and p.resolve().is_relative_to(outdir.resolve())]
        if not jobs:
            inside = under or any(p.is_dir() and outdir.resolve().is_relative_to(p.resolve()) for p in inputs)
            _fail("no videos or images found in the inputs" + (
                f" outside the output folder {outdir} (files under it are outputs, never inputs)" if inside else ""))
    for folder in under:
        err.print(f"[yellow]warning[/] {escape(one_line(str(folder)))} is inside the output folder "
                  f"{escape(one_line(str(outdir)))}: its files are taken for outputs and skipped")
    log_path = log or outdir / LOG_NAME
    roles = {p.resolve(): role for j in jobs
             for role, p in (("a mask", j.mask), ("an input", j.input), ("an output", j.output)) if p is not None}
    role = roles.get(log_path.resolve())
    if role:  # the log's lines were appended to a clip, or a clip was published over the log
        _fail(f"--log {log_path} is {role} of the batch; give the log a file of its own")
    if outdir.exists() and not outdir.is_dir():
        _fail(f"output {outdir} is a file; -o takes a folder")
    if log_path.is_dir():
        _fail(f"--log {log_path} is a folder; give a file name")
    n = workers or default_workers()
    err.print(f"  [bold]batch[/]    {len(jobs)} clips -> {escape(str(outdir))}, "
              f"{'Ray' + (f' at {ray_address}' if ray_address else ' (local)') if ray else f'{n} worker(s)'}, "
              f"log {escape(str(log_path))}")
    progress = Meter(err, TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                     FpsColumn(), TimeElapsedColumn())
    clips = progress.add_task("clips", total=len(jobs))
    frames = progress.add_task("frames", total=None)

    home = outdir.resolve()

    def on_clip(entry: dict) -> None:
        progress.advance(clips)
        name = one_line(Path(entry.get("input", "?")).name)  # a name may hold a newline or an escape sequence
        for warning in entry.get("warnings", []):
            progress.print(f"  [yellow]warning[/] {escape(name)}: {escape(one_line(warning))}")
        if entry.get("status") == "done":  # and where to: two manifest rows may clean one input two ways
            out = Path(entry.get("output", "?"))
            shown = one_line(str(out.relative_to(home) if out.is_relative_to(home) else out))
            progress.print(f"  [green]done[/]   {escape(name)} -> {escape(shown)}: {entry['frames']} frames, "
                           f"{entry['fps']} fps")
        else:
            progress.print(f"  [red]failed[/] {escape(name)}: {escape(one_line(failure(entry)))}")

    events = Events(frames=lambda k: progress.advance(frames, k), clip=on_clip,
                    skipped=lambda k: progress.advance(clips, k),
                    notice=lambda text: progress.print(f"[yellow]{escape(text)}[/]"))
    stopped: KeyboardInterrupt | None = None
    with progress, _user_errors():
        try:
            summary = run_batch(jobs, cfg, log_path, workers=n, use_ray=ray, ray_address=ray_address, events=events,
                                overwrite=overwrite)
        except KeyboardInterrupt as stop:
            stopped = stop
    if stopped is not None:
        signum = getattr(stopped, "signum", signal.SIGINT)
        _fail(f"interrupted by {signal.Signals(signum).name}; finished clips are logged, rerun the same "
              f"command to resume", 128 + signum)
    progress.update(clips, completed=len(jobs))
    for line in summary.lines():
        err.print(one_line(line), markup=False)
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def report(log: Path = typer.Argument(..., help="A batch job log (vidinpaint-jobs.jsonl), or the batch's output "
                                                "folder that holds it.")) -> None:
    """Summarise a batch job log: clips, frames, throughput, failures with reasons."""
    from .batch import LOG_NAME, entry_seconds, latest_entries, summarize_log

    with _user_errors():
        if log.is_dir():  # the folder given to `batch -o`, where its log is
            if not (log / LOG_NAME).is_file():
                _fail(f"{log}: a folder without a job log ({LOG_NAME}); give the log that `batch --log` wrote")
            log = log / LOG_NAME
        if not log.is_file():
            _fail(f"{log}: no such job log")
        summary = summarize_log(log)
        entries = latest_entries(log)  # as the summary counts them: a rerun's entry, not every attempt
    for line in summary.lines():
        out.print(one_line(line), soft_wrap=True, markup=False)
    if entries:
        table = _Rows("output", "status", "frames", "seconds", "fps")
        home = log.resolve().parent
        for e in entries:
            fps = e.get("fps")
            output = Path(str(e.get("output", "?")))  # beside the log, as the folder shows it; else in full
            if output.name.startswith("."):  # a manifest row that could not be read has no output: its line
                output = Path(str(e.get("input", "?")))
            table.add_row(one_line(str(output.relative_to(home)) if output.is_relative_to(home) else str(output)),
                          one_line(str(e.get("status", "?"))), str(e.get("frames", "-")),
                          f"{entry_seconds(e):.1f}", f"{fps:.1f}" if isinstance(fps, (int, float)) else "-")
        _print_rows(table.rows, "clips")

"""Wire the stages into a streaming pipeline and run it on a video, an image or a folder.

Every stage is an iterator transformer ``Iterable[Frame] -> Iterator[Frame]`` with a ``name``
and a ``backend`` (what it really uses, printed by the CLI). Decode, encode and every stage run in
their own threads behind bounded queues; stages that need context keep a bounded window of frames. Peak
memory therefore depends on queue sizes, windows and resolution, never on clip length.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from .allocator import tune_allocator
from .atomic import atomic_folder, atomic_path, check_output_path
from .backends import build_detector, build_fill, build_inpainter, build_segmenter, neural_after_masks
from .config import Config, EncodeConfig, SelectConfig, as_dict
from .detect.stage import DetectStage
from .detect.still import StillObjects
from .devices import start_device
from .errors import ConfigError, InputError, OutputError, VidinpaintError, VidinpaintWarning
from .frames import Frame
from .images import image_extras, is_image, read_image, write_image
from .masks import MaskBuilder, UserMasks, mask_files
from .masks.user import check_length, exported_comment, tagged_png
from .preview import ContactSheet
from .relabel import BoxesByFrame, Relabel
from .selection import Selection, SelectStage, tracking_key
from .shots import ShotDetector
from .temporal.masks import MaskHysteresis
from .temporal.pairs import FlowAhead
from .threads import Abort, close_iterator, prefetch
from .timing import StageTimes
from .video import VideoReader, VideoWriter
from .video.seek import FrameSeeker
from .video.encoders import CONTAINERS, container_format


class Stage(Protocol):
    """What the pipeline needs of a stage."""

    name: str

    @property
    def backend(self) -> str: ...

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]: ...


@dataclass
class CleanResult:
    """What a run did: where the output is, how many frames, how fast, with which backends."""

    input: Path
    output: Path
    frames: int
    seconds: float
    backends: list[tuple[str, str]] = field(default_factory=list)
    preview: Path | None = None
    shots: str = ""  # what the shots stage found, e.g. "3 shots (cuts at 40, 81)"
    still: str = ""  # which detected objects were left alone (detect.still, detect.pose), if any
    timings: list[tuple[str, float]] = field(default_factory=list)  # (stage, own seconds), pipeline order

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


ProgressFn = Callable[[Frame], None]
STAGE_QUEUE = 2  # frames between two stages
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")


def default_output(path: Path, tag: str = "clean", suffix: str | None = None) -> Path:
    """``clip.mp4`` -> ``clip.clean.mp4`` beside it; a folder ``shots`` -> ``shots.clean``. A
    video whose extension is no container we write (none, ``.h264``, ``.flv``) gets ``.mkv``,
    which holds any stream: ``clip.clean`` was refused as an output with no extension."""
    if path.is_dir():
        return path.with_name(f"{path.name}.{tag}")
    return path.with_name(f"{path.stem}.{tag}{output_suffix(path) if suffix is None else suffix}")


def output_suffix(path: Path) -> str:
    """The extension of an output cleaned from ``path``: its own, unless it is no container we
    write (see :func:`default_output`)."""
    return path.suffix if is_image(path) or path.suffix.lower() in CONTAINERS else ".mkv"


def preview_path(output: Path) -> Path:
    """Where ``--preview`` writes its contact sheet for ``output``."""
    return output.with_name(f"{output.stem}.preview.png")


def _decoded(source: Path, config: Config) -> Iterable[Frame]:
    """A fresh decode of ``source`` (a video or one image) with shots marked, for a pre-pass."""
    if is_image(source):
        return [Frame(index=0, pts=0, time_base=Fraction(1), rgb=read_image(source))]
    frames = VideoReader(source, queue_size=config.decode.queue_size, threads=config.decode.threads)
    return ShotDetector(config.shots)(frames) if config.shots.backend != "off" else frames


def tracking_stages(config: Config, device: str, source: Path | None = None, detect: bool = True,
                    named: frozenset[int] = frozenset()) -> list[Stage]:
    """Shot boundaries (the tracker resets at them), detection with track ids and the objects
    given by hand (a pre-pass over ``source`` follows them): the stages that decide the ids,
    shared by `clean`, `masks` and `tracks` so all three give the same ids. ``detect`` False
    leaves the detector out (only prompted objects are removed); ``named``: the ids the
    selection asks for one by one (``Selection.named``), never left alone as still."""
    shots = [ShotDetector(config.shots)] if config.shots.backend != "off" else []
    stages = shots + ([build_detector(config, device, named)] if detect else [])
    if config.select.points or config.select.boxes:
        if source is None:
            raise ConfigError("select.points and select.boxes need the input's path")
        from .prompts import prompt_stage

        stages.append(prompt_stage(config, device, _decoded(source, config), source))
    return stages


def _selection(config: Config, mask: Path | None) -> Selection | None:
    """The selection, every option parsed and checked (None with the user's ``mask``, which
    takes none)."""
    if mask is None:
        return Selection.from_config(config.select)
    if as_dict(config.select) != as_dict(SelectConfig()):
        raise ConfigError("the select options choose among detected objects; --mask skips detection")
    return None


def _start(config: Config, mask: Path | None) -> tuple[str, str]:
    """The device the stages will run on and its line, the selection checked first: a mistyped
    option is an error before torch loads (which takes seconds), not after. A run without a
    neural stage (the user's masks or the motion detector with box or GrabCut masks, then the DIS
    fill and a classical inpainter) may not need torch at all (:func:`start_device`)."""
    _selection(config, mask)
    classical = mask is not None or (config.detect.backend == "motion" and config.segment.backend in ("box", "grabcut"))
    return start_device(config.device, config.torch_threads, neural=not classical or neural_after_masks(config))


def build_stages(config: Config, mask: Path | None, device: str, source: Path | None = None,
                 after_detect: Sequence[Stage] = ()) -> list[Stage]:
    """Mask stages for this configuration: shot boundaries first (every later stage resets at
    them), then detect + select + segment + mask, or the user's masks. ``after_detect``: stages
    that see the detections before the selection (an excerpt's :class:`~vidinpaint.relabel.Relabel`)."""
    selection = _selection(config, mask)
    if selection is None:
        shots = [ShotDetector(config.shots)] if config.shots.backend != "off" else []
        given = UserMasks(mask)
        if given.grown is not None:  # what a run removed, grown already: only by what is asked beyond that
            grow = replace(config.mask, dilate=max(0, config.mask.dilate - given.grown))
            return shots + [given, MaskBuilder(grow, source=f"exported masks, grown {given.grown}px already")]
        return shots + [given, MaskBuilder(config.mask, source="user masks")]
    stages = tracking_stages(config, device, source, selection.detected, selection.named) + [*after_detect]
    # an excerpt (``after_detect``) is a few frames of the clip the tracks file lists: not another clip
    tracking = tracking_key(as_dict(config)) if not after_detect else None
    stages += [SelectStage(selection, _still_rule(stages), tracking)] if selection.active else []
    stages += [build_segmenter(config, device), MaskBuilder(config.mask, config.detect.margin)]
    return stages + ([MaskHysteresis(config.mask.hold)] if config.mask.hold > 1 else [])


def shots_found(stages: Iterable[Stage]) -> str:
    """The shots stage's summary, once the frames went through (empty without one)."""
    return next((str(s.report) for s in stages if isinstance(s, ShotDetector)), "")


def _still_rule(stages: Iterable[Stage]) -> StillObjects | None:
    """The detect stage's still-object rule, if it has one."""
    return next((s.tracking.still for s in stages if isinstance(s, DetectStage) and s.tracking.still), None)


def still_found(stages: Iterable[Stage]) -> str:
    """Which detected objects the detect stage left alone (still, or no body), once the frames went through."""
    still = _still_rule(stages)
    return still.report if still is not None else ""


def _chain(frames: Iterable[Frame], stages: Iterable[Callable[[Iterable[Frame]], Iterator[Frame]]],
           times: StageTimes | None = None) -> Iterator[Frame]:
    """The stages run one after another on each frame, each in its own thread behind a queue of
    ``STAGE_QUEUE`` frames: while the detector works on one frame, the segmenter and the fill work
    on earlier ones, so a CPU's cores share the stages instead of waiting on each other."""
    times = times if times is not None else StageTimes()
    abort = Abort()  # any stage or the caller leaving early stops them all
    stream = times.source("decode", frames)
    for stage in stages:
        name = getattr(stage, "name", "preview")
        stream = prefetch(functools.partial(iter, times.stage(name, stage, stream)), STAGE_QUEUE, f"stage {name}", abort)
    return stream


def _run(frames: Iterable[Frame], config: Config, mask: Path | None, sheet: ContactSheet | None,
         times: StageTimes, source: Path, after_detect: Sequence[Stage] = (), excerpt: bool = False
         ) -> tuple[Iterator[Frame], list[tuple[str, str]], list[Stage], str]:
    """The stages' output stream, their backend lines, the mask stages and the device they run on;
    ``excerpt``: only the middle frame of ``frames`` is wanted (a preview)."""
    device, line = _start(config, mask)
    masks = build_stages(config, mask, device, source, after_detect)
    inpaint = build_inpainter(config, device)
    fill = build_fill(config, device, inpaint.inpaint)
    if fill is not None and excerpt:
        fill.eager = False
    fills = [fill, inpaint] if fill else [inpaint]
    # the fill's flows in a thread of their own (its line names them); not for a preview, whose
    # fill makes only the pairs its middle frame asks for
    ahead = [FlowAhead(fill.pairs)] if fill and not excerpt else []
    taps = [sheet.before] if sheet else []
    after = [sheet.after] if sheet else []
    backends = [("device", line), *((s.name, s.backend) for s in (*masks, *fills))]
    return _chain(frames, [*masks, *taps, *ahead, *fills, *after], times), backends, masks, device


StartFn = Callable[[list[tuple[str, str]], "int | None"], None]


def _encode(reader: VideoReader, output: Path, frames: Iterator[Frame], encode: EncodeConfig,
            backends: list[tuple[str, str]], progress: ProgressFn | None,
            on_start: StartFn | None, overwrite: bool, times: StageTimes, picture_only: bool = False,
            gpu: bool = False, comment: str = "") -> int:
    """Encode ``frames`` to ``output`` atomically; returns the number of frames written.
    ``picture_only``: none of the input's other streams, chapters or metadata (mask videos), and
    ``comment`` as the file's; ``gpu``: the run is on CUDA, so the default encoder may be NVENC."""
    count = 0
    container_format(output)  # an error that names the output, not its temporary file
    with atomic_path(output, replace=overwrite) as tmp:
        writer = VideoWriter(tmp, reader.info, encode, picture_only=picture_only, gpu=gpu, comment=comment)
        try:
            info = reader.info
            backends.insert(0, ("decode", f"PyAV {info.codec} {info.pix_fmt} {info.width}x{info.height}, "
                                          f"rotation {info.rotation}, {info.colour.describe()}"))
            backends.append(("encode", writer.backend))
            if on_start:
                on_start(backends, info.estimated_frames)
            for frame in frames:
                start = time.perf_counter()
                writer.write(frame)
                times.encode += time.perf_counter() - start
                count += 1
                if progress:
                    progress(frame)
        except BaseException:
            close_iterator(frames)  # the stage threads stop now, not when the generator is collected
            writer.abort()
            raise
        start = time.perf_counter()
        writer.close()
        times.encode += time.perf_counter() - start
    return count


def clean_video(input: Path, output: Path, config: Config, *, mask: Path | None = None,
                preview: bool = False, overwrite: bool = False, progress: ProgressFn | None = None,
                on_start: StartFn | None = None) -> CleanResult:
    """Remove the masked objects from a video; see :func:`vidinpaint.clean`."""
    reader = VideoReader(input, queue_size=config.decode.queue_size, threads=config.decode.threads)
    _check_outputs(output, [input] + ([mask] if mask else []), overwrite, preview)
    if not output.suffix:
        raise OutputError(f"output {output} has no file extension, so its format is unknown; "
                          f"add one, e.g. {output}.mp4")
    if mask is not None:
        check_length(mask, reader.info)
    sheet = ContactSheet(config.preview, reader.info.estimated_frames) if preview else None
    start = time.perf_counter()
    times = StageTimes()
    frames, backends, stages, device = _run(reader, config, mask, sheet, times, input)
    count = _encode(reader, output, frames, config.encode, backends, progress, on_start, overwrite, times,
                    gpu=device == "cuda")
    result = CleanResult(input, output, count, time.perf_counter() - start, backends, timings=times.seconds(),
                         shots=shots_found(stages), still=still_found(stages))
    if sheet:
        result.preview = _save_preview(sheet, output, overwrite)
    return result


@dataclass
class Excerpt:
    """One frame before and after the pipeline, and what ran on it."""

    index: int
    before: np.ndarray
    after: np.ndarray
    backends: list[tuple[str, str]]
    shots: str


def clean_excerpt(video: FrameSeeker, index: int, config: Config, *, context: int = 8,
                  track_boxes: BoxesByFrame | None = None, left_boxes: BoxesByFrame | None = None) -> Excerpt:
    """Frame ``index`` cleaned by the real stages run on the ``context`` frames either side of it.

    A preview that costs ``2 * context + 1`` frames instead of the clip; the neighbours give the
    tracker, the mask hysteresis and the flow fill something to work with, so the frame looks as
    it will in the full run. ``track_boxes`` (the whole clip's tracks, frame -> id -> box) renames
    the excerpt's track ids to the whole clip's, so a selection by id means the same objects, and
    ``left_boxes`` (what that run left alone as still objects, or people without a body) drops
    them as the run does. With them, the excerpt does not judge such objects itself: it would, on
    its own ids, before they are renamed, and drop an object the selection names by the whole
    clip's id.
    """
    before: np.ndarray | None = None

    def keep_before(frames: Iterable[Frame]) -> Iterator[Frame]:
        nonlocal before
        for frame in frames:
            if frame.index == index:
                before = frame.rgb.copy()
            yield frame

    relabel = [Relabel(track_boxes, left=left_boxes)] if track_boxes is not None else []
    if relabel:
        config = replace(config, detect=replace(config.detect, still=0.0, pose=0.0))
    stream, backends, stages, _ = _run(keep_before(video.frames(index - context, index + context + 1)), config,
                                    None, None, StageTimes(), video.path, relabel, excerpt=True)
    try:
        after = next((frame for frame in stream if frame.index == index), None)
    finally:
        stream.close()
    if after is None or before is None:
        raise InputError(f"{video.path}: frame {index} is outside the clip ({len(video)} frames)")
    return Excerpt(index, before, after.rgb, backends, shots_found(stages))


def _check_outputs(output: Path, inputs: list[Path], overwrite: bool, preview: bool) -> None:
    """Check the output and, with ``--preview``, the contact sheet's path too, before any work."""
    check_output_path(output, inputs, overwrite)
    if preview:
        check_output_path(preview_path(output), inputs, overwrite)


def _save_preview(sheet: ContactSheet, output: Path, overwrite: bool) -> Path:
    """Write the contact sheet; if that fails the output is already in place, and the error says so."""
    path = preview_path(output)
    try:
        return sheet.save(path, replace=overwrite)
    except (VidinpaintError, OSError) as err:
        raise OutputError(f"wrote {output}, but the preview {path} failed: {err}") from None


MASK_PNG = re.compile(r"\d{6}\.png")  # the names _write_pngs gives
# lossless; pix_fmt as the input's, 4:4:4 where 4:2:0 cannot be (odd sizes), as for `clean`
MASK_VIDEO = EncodeConfig(codec="libx264", crf=0, preset="ultrafast", pix_fmt="auto", audio="none")


def _mask_frames(frames: Iterator[Frame]) -> Iterator[Frame]:
    with closing(frames):
        for frame in frames:
            grey = np.where(frame.mask, 255, 0).astype(np.uint8) if frame.mask is not None else \
                np.zeros(frame.rgb.shape[:2], np.uint8)
            yield Frame(frame.index, frame.pts, frame.time_base, np.repeat(grey[..., None], 3, axis=2),
                        duration=frame.duration)


def export_masks(input: Path, output: Path, config: Config, *, overwrite: bool = False,
                 progress: ProgressFn | None = None, on_start: StartFn | None = None) -> CleanResult:
    """Write the removal masks alone: a lossless mask video, or a folder of PNGs if ``output``
    has no video extension. Feed either back with ``clean --mask``."""
    tune_allocator()
    reader = VideoReader(input, queue_size=config.decode.queue_size, threads=config.decode.threads)
    video = output.suffix.lower() in VIDEO_EXTENSIONS
    if not video and is_image(output):  # a folder named mask.png was made
        raise OutputError(f"output {output}: masks go to a video (.mp4, ...) or a folder of PNGs; "
                          f"give a folder name without an image extension")
    if output.suffix.lower() == ".webm":  # WebM takes VP8/VP9/AV1 only, none of them lossless here
        raise OutputError(f"output {output}: a mask video is lossless H.264, which WebM cannot hold; "
                          f"give .mp4, .mkv or .mov, or a folder for PNGs")
    if not video and (output.exists() or output.is_symlink()) and not output.is_dir():
        # a folder cannot replace it, --overwrite or not: said now, not after the whole clip
        raise OutputError(f"output {output} is a file, not a folder: masks go to a video (.mp4, ...) or "
                          f"a folder of PNGs; give a video extension or another name")
    if not video and output.is_dir() and not output.is_symlink():  # replaced whole, only when asked, only masks
        if not overwrite:
            raise OutputError(f"output {output} exists; pass --overwrite to replace it")
        _only_masks(output)
        if not os.access(output.parent, os.W_OK):
            raise OutputError(f"cannot write {output}: folder {output.parent} is not writable")
    else:
        check_output_path(output, [input], overwrite)
    device, line = _start(config, None)
    stages = build_stages(config, None, device, input)
    backends = [("device", line), *((s.name, s.backend) for s in stages)]
    times = StageTimes()
    frames = _mask_frames(_chain(reader, stages, times))
    start = time.perf_counter()
    if output.suffix.lower() in VIDEO_EXTENSIONS:
        count = _encode(reader, output, frames, MASK_VIDEO, backends, progress, on_start, overwrite, times,
                        picture_only=True, comment=exported_comment(config.mask.dilate))
    else:
        count = _write_pngs(output, frames, backends, reader.info.estimated_frames, progress, on_start, overwrite,
                            exported_comment(config.mask.dilate))
    return CleanResult(input, output, count, time.perf_counter() - start, backends, timings=times.seconds())


def _write_pngs(folder: Path, frames: Iterator[Frame], backends: list[tuple[str, str]], total: int | None,
                progress: ProgressFn | None, on_start: StartFn | None, overwrite: bool, comment: str) -> int:
    """Masks as ``000000.png``..., each with ``comment``, in a folder that appears only when
    complete; a folder there is replaced only with ``overwrite`` and only if it holds masks alone."""
    count = 0
    try:
        with atomic_folder(folder, lambda found: overwrite and _only_masks(found)) as tmp:
            backends.append(("write", f"PNG masks in {folder}/"))
            if on_start:
                on_start(backends, total)
            for frame in frames:
                (tmp / f"{frame.index:06d}.png").write_bytes(tagged_png(frame.rgb[..., 0], comment))
                count += 1
                if progress:
                    progress(frame)
    finally:
        close_iterator(frames)
    return count


def _only_masks(folder: Path) -> bool:
    """True if ``folder`` holds only the masks an export writes; else an error naming what else
    it holds (the input, or anything else, would be deleted with it)."""
    other = next((p.name for p in folder.iterdir() if not MASK_PNG.fullmatch(p.name)), None)
    if other is not None:
        raise OutputError(f"output {folder} holds {other}, which is not a mask this writes; "
                          f"choose an empty or new folder")
    return True


def clean_image(input: Path, output: Path, config: Config, *, mask: Path | None = None,
                preview: bool = False, overwrite: bool = False, progress: ProgressFn | None = None,
                on_start: StartFn | None = None) -> CleanResult:
    """Remove the masked objects from one still image, keeping its transparency and greyscale
    where the output can; a warning names what it cannot keep."""
    rgb = read_image(input)
    mask = still_mask(mask, mask_files(mask), input, only=True) if mask is not None and mask.is_dir() else mask
    _check_outputs(output, [input] + ([mask] if mask else []), overwrite, preview)  # the mask file, not its folder
    if not is_image(output):
        raise OutputError(f"output {output} must be an image file (.jpg, .png, ...)")
    extras = image_extras(input)
    for lost in extras.lost(output):
        warnings.warn(f"{input}: {output.name} does not keep {lost}", VidinpaintWarning, stacklevel=2)
    sheet = ContactSheet(config.preview, 1) if preview else None
    start = time.perf_counter()
    frame = Frame(index=0, pts=0, time_base=Fraction(1), rgb=rgb)
    times = StageTimes()
    frames, backends, _, _ = _run([frame], config, mask, sheet, times, input)
    if on_start:
        on_start(backends, 1)
    [result_frame] = list(frames)  # to the end: every stage thread has finished, and its time is in
    write_image(output, result_frame.rgb, replace=overwrite, extras=extras)
    if progress:
        progress(result_frame)
    result = CleanResult(input, output, 1, time.perf_counter() - start, backends, timings=times.seconds())
    if sheet:
        result.preview = _save_preview(sheet, output, overwrite)
    return result


def still_mask(folder: Path, masks: list[Path], image: Path, only: bool) -> Path:
    """The mask of the still ``image`` among ``masks``, the mask folder ``folder``'s files: the one
    named as the image (any image extension), or with ``only`` (one still cleaned, not a folder of
    them) the folder's only mask. Each still of a folder took the mask folder's first mask."""
    named = [p for p in masks if p.stem == image.stem]
    if named or (only and len(masks) == 1):
        return (named or masks)[0]
    alone = ", or a folder's only mask" if only else ""
    raise InputError(f"--mask {folder}: holds {len(masks)} mask(s) and none named {image.stem} (a still "
                     f"takes the mask named as it, e.g. {image.stem}.png{alone})")


def folder_images(folder: Path) -> list[Path]:
    """The still images directly inside ``folder``, sorted by name; hidden files are not (a
    killed run's partial temporary is one)."""
    images = sorted(p for p in folder.iterdir() if p.is_file() and is_image(p) and not p.name.startswith("."))
    if not images:
        raise InputError(f"{folder}: folder holds no images (.jpg, .png, ...)")
    return images


def check_input(input: Path) -> None:
    """The first check of any input, shared by the CLI and the review page so both say the same."""
    if not input.exists():
        raise InputError(f"{input}: no such file or folder")


def _clean_images(images: list[Path], out: Path, config: Config, **options) -> list[CleanResult]:
    """Each image of a folder on its own: one that cannot be read or written fails alone and
    the others are cleaned (the first bad one stopped the rest), then one error names every
    failure. A folder this made is removed again if nothing was written to it."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    results: list[CleanResult] = []
    failed: dict[str, list[Path]] = {}  # reason -> the images it stopped
    try:
        mask = options.get("mask")
        masks = mask_files(mask) if mask is not None and mask.is_dir() else None  # listed once, not per still
        for path in images:
            try:
                if masks is not None:  # named as the still: the only mask is not another's
                    options["mask"] = still_mask(mask, masks, path, only=False)
                results.append(clean_image(path, out / path.name, config, **options))
            except (InputError, OutputError, ConfigError) as err:  # a box outside a smaller image, too
                failed.setdefault(str(err), []).append(path)
    finally:
        if created and not results:
            shutil.rmtree(out, ignore_errors=True)
    if failed:  # each reason once, naming the images it stopped unless it names its image itself
        reasons = [why if len(paths) == len(images) or (len(paths) == 1 and str(paths[0]) in why) else
                   f"{', '.join(p.name for p in paths)}: {why}" for why, paths in failed.items()]
        raise InputError(f"{sum(map(len, failed.values()))} of {len(images)} images failed, {len(results)} "
                         f"written to {out}: " + "; ".join(reasons))
    return results


def clean_path(input: str | Path, output: str | Path | None, config: Config, **options) -> list[CleanResult]:
    """Dispatch on what ``input`` is: a video, an image, or a folder of images (each on its own)."""
    input = Path(input)
    tune_allocator()
    check_input(input)
    out = Path(output) if output is not None else default_output(input)
    if input.is_dir():
        images = folder_images(input)
        if out.exists() and not out.is_dir():
            raise OutputError(f"output {out} exists and is not a folder")
        if out.resolve() == input.resolve():
            raise OutputError(f"output folder {out} is the input folder; choose another --output")
        return _clean_images(images, out, config, **options)
    if is_image(input):
        return [clean_image(input, out, config, **options)]
    return [clean_video(input, out, config, **options)]

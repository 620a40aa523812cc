"""Wire the stages into a streaming pipeline and run it on a video, an image or a folder.

Every stage is an iterator transformer ``Iterable[Frame] -> Iterator[Frame]`` with a ``name``
and a ``backend`` (what it really uses, printed by the CLI). Decode and encode run in their own
threads behind bounded queues; stages that need context keep a bounded window of frames. Peak
memory therefore depends on queue sizes, windows and resolution, never on clip length.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from .atomic import atomic_path, check_output_path
from .config import Config
from .detect import MotionDetector
from .devices import resolve_device
from .errors import InputError, OutputError
from .frames import Frame
from .images import is_image, read_image, write_image
from .inpaint import ClassicalInpainter
from .masks import MaskBuilder, UserMasks
from .preview import ContactSheet
from .video import VideoReader, VideoWriter


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

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


ProgressFn = Callable[[Frame], None]


def default_output(path: Path) -> Path:
    """``clip.mp4`` -> ``clip.clean.mp4`` beside it; a folder ``shots`` -> ``shots.clean``."""
    if path.is_dir():
        return path.with_name(f"{path.name}.clean")
    return path.with_name(f"{path.stem}.clean{path.suffix}")


def preview_path(output: Path) -> Path:
    """Where ``--preview`` writes its contact sheet for ``output``."""
    return output.with_name(f"{output.stem}.preview.png")


def build_stages(config: Config, mask: Path | None) -> list[Stage]:
    """Mask stages for this configuration: detection + boxes, or the user's masks."""
    if mask is not None:
        return [UserMasks(mask), MaskBuilder(config.mask, source="user masks")]
    return [MotionDetector(config.detect), MaskBuilder(config.mask)]


def _chain(frames: Iterable[Frame], stages: Iterable[Callable[[Iterable[Frame]], Iterator[Frame]]]) -> Iterator[Frame]:
    stream: Iterable[Frame] = frames
    for stage in stages:
        stream = stage(stream)
    return iter(stream)


def _run(frames: Iterable[Frame], config: Config, mask: Path | None,
         sheet: ContactSheet | None) -> tuple[Iterator[Frame], list[tuple[str, str]]]:
    masks = build_stages(config, mask)
    inpaint = ClassicalInpainter(config.inpaint)
    taps = [sheet.before] if sheet else []
    after = [sheet.after] if sheet else []
    backends = [(s.name, s.backend) for s in (*masks, inpaint)]
    backends.insert(0, ("device", resolve_device(config.device, needed=False)))
    return _chain(frames, [*masks, *taps, inpaint, *after]), backends


def clean_video(input: Path, output: Path, config: Config, *, mask: Path | None = None,
                preview: bool = False, overwrite: bool = False,
                progress: ProgressFn | None = None,
                on_start: Callable[[list[tuple[str, str]], int | None], None] | None = None) -> CleanResult:
    """Remove the masked objects from a video; see :func:`vidinpaint.clean`."""
    reader = VideoReader(input, queue_size=config.decode.queue_size, threads=config.decode.threads)
    check_output_path(output, [input] + ([mask] if mask else []), overwrite)
    total = reader.info.estimated_frames
    sheet = ContactSheet(config.preview, total) if preview else None
    start = time.perf_counter()
    count = 0
    with atomic_path(output) as tmp:
        writer = VideoWriter(tmp, reader.info, config.encode)
        try:
            frames, backends = _run(reader, config, mask, sheet)
            backends.insert(0, ("decode", f"PyAV {reader.info.codec} {reader.info.pix_fmt} "
                                          f"{reader.info.width}x{reader.info.height}, rotation {reader.info.rotation}"))
            backends.append(("encode", writer.backend))
            if on_start:
                on_start(backends, total)
            for frame in frames:
                writer.write(frame)
                count += 1
                if progress:
                    progress(frame)
        except BaseException:
            writer.abort()
            raise
        writer.close()
    result = CleanResult(input, output, count, time.perf_counter() - start, backends)
    if sheet:
        result.preview = sheet.save(preview_path(output))
    return result


def clean_image(input: Path, output: Path, config: Config, *, mask: Path | None = None,
                preview: bool = False, overwrite: bool = False,
                progress: ProgressFn | None = None,
                on_start: Callable[[list[tuple[str, str]], int | None], None] | None = None) -> CleanResult:
    """Remove the masked objects from one still image."""
    rgb = read_image(input)
    check_output_path(output, [input] + ([mask] if mask else []), overwrite)
    if not is_image(output):
        raise OutputError(f"output {output} must be an image file (.jpg, .png, ...)")
    sheet = ContactSheet(config.preview, 1) if preview else None
    start = time.perf_counter()
    frame = Frame(index=0, pts=0, time_base=Fraction(1), rgb=rgb)
    frames, backends = _run([frame], config, mask, sheet)
    if on_start:
        on_start(backends, 1)
    result_frame = next(frames)
    write_image(output, result_frame.rgb)
    if progress:
        progress(result_frame)
    result = CleanResult(input, output, 1, time.perf_counter() - start, backends)
    if sheet:
        result.preview = sheet.save(preview_path(output))
    return result


def folder_images(folder: Path) -> list[Path]:
    """The still images directly inside ``folder``, sorted by name."""
    images = sorted(p for p in folder.iterdir() if p.is_file() and is_image(p))
    if not images:
        raise InputError(f"{folder}: folder holds no images (.jpg, .png, ...)")
    return images


def clean_path(input: str | Path, output: str | Path | None, config: Config, **options) -> list[CleanResult]:
    """Dispatch on what ``input`` is: a video, an image, or a folder of images (each on its own)."""
    input = Path(input)
    if not input.exists():
        raise InputError(f"{input}: no such file or folder")
    out = Path(output) if output is not None else default_output(input)
    if input.is_dir():
        images = folder_images(input)
        if out.exists() and not out.is_dir():
            raise OutputError(f"output {out} exists and is not a folder")
        if out.resolve() == input.resolve():
            raise OutputError(f"output folder {out} is the input folder; choose another --output")
        out.mkdir(parents=True, exist_ok=True)
        return [clean_image(p, out / p.name, config, **options) for p in images]
    if is_image(input):
        return [clean_image(input, out, config, **options)]
    return [clean_video(input, out, config, **options)]

"""What the review page works on: one clip, its tracks, the user's selection, a preview, a run.

Everything here goes through the library (``list_tracks``, ``clean_excerpt``, ``clean_path``);
the web layer (``server.py``) only translates requests. The selection becomes the ``select``
section of the configuration, exactly as ``clean --tracks-file/--point/--box`` would set it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_path, check_output_path
from ..config import Config, as_dict, load_config
from ..errors import InputError, OutputError, shortened, user_message
from ..images import is_image
from ..pipeline import CleanResult, check_input, clean_excerpt, clean_path, default_output
from ..relabel import BoxesByFrame
from ..selection import Selection, chooses, tracking_key
from ..video.seek import FrameSeeker

TRACKS_NAME = "tracks.json"
MAX_CONTEXT = 30  # frames either side of a preview: the fill's look-ahead is 20 by default
NAME_BYTES = 255  # the longest file name most file systems take


def jpeg(rgb: np.ndarray, quality: int = 88) -> bytes:
    """An RGB frame as JPEG bytes for the page."""
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


@dataclass
class Task:
    """A background job the page polls: listing the tracks, or the whole-clip run."""

    state: str = "idle"  # idle | running | done | failed | stopped
    done: int = 0
    total: int | None = None
    error: str = ""
    stop: bool = field(default=False, repr=False)

    def start(self, total: int | None) -> None:
        self.state, self.done, self.total, self.error = "running", 0, total, ""

    def step(self, *_: object) -> None:
        """The per-frame progress callback; also where a job no longer wanted stops."""
        if self.stop:
            raise Stopped
        self.done += 1

    def shown(self) -> dict:
        """What the page shows of it: not its ``stop`` flag, which is the server's own."""
        return {"state": self.state, "done": self.done, "total": self.total, "error": self.error}


class Stopped(Exception):
    """A background job ended early: its clip was replaced by another, or the server stopped."""


@dataclass
class Prompt:
    """An object the user added on a frame: a point ``(x, y)`` or a box ``(x0, y0, x1, y1)``."""

    frame: int
    coords: tuple[int, ...]

    def text(self) -> str:
        return f"{','.join(map(str, self.coords))}@{self.frame}"


@dataclass
class RunInfo:
    """What the page shows of the last whole-clip run."""

    output: str = ""  # where the run writes; the file is there once its task is done
    frames: int = 0
    seconds: float = 0.0
    shots: str = ""


def _user_error(error: BaseException) -> str:
    """The CLI's one-line text for an error the user caused; anything else is a bug, said so."""
    return user_message(error) or f"internal error: {type(error).__name__}: {error}"


class Review:
    """The state behind one review page (one clip at a time; one page per server)."""

    def __init__(self, config: Config, workdir: Path, settings: tuple[str, ...] = ()) -> None:
        self.config = config
        self.workdir = workdir
        self.settings = settings  # the server's own -c/--set words, for the command line it shows
        self.video: FrameSeeker | None = None
        self.tracks: list = []
        self.track_boxes: BoxesByFrame = {}  # frame -> track id -> box: for the page and the preview
        self.left_boxes: BoxesByFrame = {}  # the same for what the listing left alone as still: the preview drops it
        self.flipped: set[int] = set()  # tracks the user turned from the listing's choice: kept, or still and removed
        self.points: list[Prompt] = []
        self.boxes: list[Prompt] = []
        self.listing = Task()
        self.run_task = Task()
        self.run_info = RunInfo()
        self.backends: list[tuple[str, str]] = []
        self._run_thread: threading.Thread | None = None
        self._listings: list[threading.Thread] = []  # every clip's, a replaced one's too: stop() waits for them
        self._lock = threading.Lock()
        # counts the user's changes; the page drops a state older than the one it shows (a poll
        # answered after a toggle's own answer put the toggle back on screen, the server unchanged),
        # from this server: one started again counts from 0
        self.version, self.session = 0, uuid.uuid4().hex

    # -- the clip -------------------------------------------------------------------------------

    def open(self, path: str | Path) -> None:
        """Open a video (same checks and messages as ``clean``) and start listing its tracks."""
        if not str(path).strip():
            raise InputError("no path given: type the path of a video, or upload one")
        path = Path(path)
        check_input(path)
        if path.is_dir() or is_image(path):
            raise InputError(f"{path}: the review page takes a video; clean images and folders with "
                             f"`vidinpaint clean`")
        video = FrameSeeker(path)
        previous = self.video.path.parent if self.video is not None else None
        with self._lock:
            if self.run_task.state == "running":
                raise InputError("a run is in progress; open another clip when it has finished")
            self.listing.stop = True  # the old clip's tracks are no longer wanted
            self.video, self.tracks, self.track_boxes, self.left_boxes = video, [], {}, {}
            self.flipped, self.points, self.boxes = set(), [], []
            self.version += 1
            self.run_task, self.run_info, self.backends = Task(), RunInfo(), []
        if previous is not None and previous.parent == self.workdir and previous.name.startswith("upload-") \
                and previous != path.parent:  # the last upload's copy is no longer wanted
            shutil.rmtree(previous, ignore_errors=True)
        self._start_listing(video)

    def upload_path(self, name: str) -> Path:
        """Where a clip sent by the page is kept (the server's work folder; only its base name counts)."""
        base = Path(name).name
        if not base or base in (".", ".."):
            raise InputError(f"upload {name!r}: no file name")
        if "\0" in base or len(os.fsencode(base)) > NAME_BYTES:
            raise InputError(f"upload {shortened(repr(name))}: not a file name here (a NUL, or over "
                             f"{NAME_BYTES} bytes)")
        # a folder per upload: a second upload of the same name that fails to open must not
        # have replaced the clip that is open
        folder = Path(tempfile.mkdtemp(prefix="upload-", dir=self.workdir))
        return folder / base

    def _need_video(self) -> FrameSeeker:
        if self.video is None:
            raise InputError("no clip open: give a path or upload a video")
        return self.video

    def frame_jpeg(self, index: int) -> bytes:
        video = self._need_video()
        if not 0 <= index < len(video):  # the seeker gives the last frame for any later one
            raise InputError(f"frame {index} is outside the clip (0-{len(video) - 1})")
        return jpeg(video.frame(index).rgb)

    # -- tracks ---------------------------------------------------------------------------------

    def _start_listing(self, video: FrameSeeker) -> None:
        task = Task()
        task.start(len(video))
        self.listing = task

        def work() -> None:
            try:
                from ..tracks import list_tracks

                tracks, _, left = list_tracks(video.path, self.config, progress=task.step)
            except Stopped:
                task.state = "stopped"
                return
            except Exception as error:  # noqa: BLE001 - shown in the page, as the CLI would print it
                task.state, task.error = "failed", _user_error(error)
                return
            by_frame: dict[int, dict[int, tuple[int, int, int, int]]] = {}
            for track in tracks:
                for index, box in track.boxes.items():
                    by_frame.setdefault(index, {})[track.id] = box
            with self._lock:
                if self.video is video:
                    self.tracks, self.track_boxes, self.left_boxes = tracks, by_frame, left
            task.state = "done"

        thread = threading.Thread(target=work, name="list-tracks", daemon=True)
        self._listings = [t for t in self._listings if t.is_alive()] + [thread]
        thread.start()

    def boxes_at(self, index: int) -> list[dict]:
        """The tracks seen on frame ``index``: id, class, box, and whether it goes."""
        tracks = {t.id: t for t in self.tracks}
        return [{"id": i, "cls": tracks[i].cls, "box": list(box), "remove": self._removes(tracks[i])}
                for i, box in self.track_boxes.get(index, {}).items()]

    def _removes(self, track) -> bool:
        """Whether ``track`` goes: as listed (removed, or left alone as still), unless flipped."""
        return (track.id in self.flipped) == track.still

    def toggle(self, track: int) -> bool:
        """Flip a track between remove and keep; returns whether it is now removed."""
        self._need_video()
        with self._lock:
            found = next((t for t in self.tracks if t.id == track), None)
            if found is None:
                raise InputError(f"no track {track} in this clip")
            self.flipped ^= {track}
            self.version += 1
            return self._removes(found)

    # -- objects the user adds ------------------------------------------------------------------

    def add_prompt(self, frame: int, coords: list[int]) -> None:
        """A click (2 numbers) or a dragged box (4 numbers) on ``frame``."""
        video = self._need_video()
        if len(coords) not in (2, 4):
            raise InputError(f"a prompt is a point x,y or a box x0,y0,x1,y1, got {len(coords)} numbers")
        if not 0 <= frame < len(video):
            raise InputError(f"frame {frame} is outside the clip (0-{len(video) - 1})")
        width, height = video.info.display_size
        xs, ys = coords[0::2], coords[1::2]
        if not all(0 <= x < width for x in xs) or not all(0 <= y < height for y in ys):
            raise InputError(f"prompt {coords} is outside the {width}x{height} frame")
        if len(coords) == 4:
            box = (min(xs), min(ys), max(xs), max(ys))
            if box[0] == box[2] or box[1] == box[3]:  # refused here, not by every later preview and run
                raise InputError(f"box {coords} has no width or no height")
            self.boxes.append(Prompt(frame, box))
        else:
            self.points.append(Prompt(frame, tuple(coords)))
        self.version += 1

    def clear_prompts(self) -> None:
        self.points, self.boxes = [], []
        self.version += 1

    # -- the selection as configuration ---------------------------------------------------------

    def tracks_document(self) -> dict:
        """The selection as a tracks.json that ``clean --tracks-file`` accepts."""
        from ..tracks import tracks_json

        video = self._need_video()
        width, height = video.info.display_size
        document = tracks_json(self.tracks, input=str(video.path), width=width, height=height, frames=len(video),
                               tracking=tracking_key(as_dict(self.config)))
        for entry, track in zip(document["tracks"], self.tracks):
            entry["remove"] = self._removes(track)
        return document

    def select(self, tracks_file: Path) -> dict:
        """The ``select`` settings of this selection; empty when it is the default (remove all).
        The kept tracks go in ``tracks_file`` (written here), which the caller removes."""
        select: dict[str, str] = {}
        if self.flipped:
            with atomic_path(tracks_file, replace=True) as tmp:
                Path(tmp).write_text(json.dumps(self.tracks_document(), indent=1))
            select["tracks_file"] = str(tracks_file)
        elif self._all_tracks():
            select["tracks"] = "all"
        if self.points:
            select["points"] = ";".join(p.text() for p in self.points)
        if self.boxes:
            select["boxes"] = ";".join(b.text() for b in self.boxes)
        return select

    def _all_tracks(self) -> bool:
        """Whether the selection must say ``tracks all``: the page shows every track removed, but
        with objects given by hand and nothing else choosing (no kept track, nothing in the
        server's own settings), clean removes only those objects."""
        return bool(self.points or self.boxes) and not self.flipped and not chooses(self.config.select)

    def _config(self) -> tuple[Config, Path]:
        """The configuration of this selection for one preview or run, and its tracks file (the
        caller removes it), which no other preview or run writes: with one shared file, a preview
        made just after Run rewrote it before the run's thread read it, and the run removed what
        the page had shown when Run was pressed."""
        tracks = self.workdir / f"tracks-{uuid.uuid4().hex}.json"
        try:
            select = self.select(tracks)
            config = load_config(self.config, settings={"select": select} if select else None)
            Selection.from_config(config.select)  # a mistake in it is the answer to Run, not a failed run
            return config, tracks
        except BaseException:
            tracks.unlink(missing_ok=True)
            raise

    @contextmanager
    def selected(self) -> Iterator[Config]:
        """:meth:`_config` for the time of a ``with`` block."""
        config, tracks = self._config()
        try:
            yield config
        finally:
            tracks.unlink(missing_ok=True)

    def command(self) -> str:
        """The same selection as a command line (for scripts, and to show it is the same API)."""
        if self.video is None:
            return ""
        words = ["vidinpaint", "clean", shlex.quote(str(self.video.path)), *self.settings]
        if self.flipped:
            words += ["--tracks-file", TRACKS_NAME]
        elif self._all_tracks():
            words += ["--tracks", "all"]
        words += [f"--point {p.text()}" for p in self.points] + [f"--box {b.text()}" for b in self.boxes]
        return " ".join(words)

    # -- preview and run ------------------------------------------------------------------------

    def preview(self, index: int, context: int) -> tuple[bytes, bytes]:
        """Frame ``index`` before and after the real stages, run on ``context`` frames either side."""
        context = min(max(context, 0), MAX_CONTEXT)
        boxes, left = self.preview_boxes()
        with self.selected() as config:
            excerpt = clean_excerpt(self._need_video(), index, config, context=context,
                                    track_boxes=boxes if self.tracks else None, left_boxes=left)
        self.backends = excerpt.backends
        return jpeg(excerpt.before), jpeg(excerpt.after)

    def preview_boxes(self) -> tuple[BoxesByFrame, BoxesByFrame]:
        """The tracks' boxes an excerpt's ids are matched to, and the boxes it drops as left alone
        as still: a still object the user chose to remove moves from the second to the first."""
        still = {t.id: self._removes(t) for t in self.tracks if t.still}
        boxes = {f: {i: b for i, b in d.items() if still.get(i, True)} for f, d in self.track_boxes.items()}
        left = {f: {i: b for i, b in d.items() if not still.get(i, False)} for f, d in self.left_boxes.items()}
        return boxes, left

    def default_output(self) -> str:
        """Beside the clip; for an uploaded clip in the folder the server was started in: its
        copy is in the server's work folder, which the next clip opened (or the server's end)
        removes, result and all."""
        if self.video is None:
            return ""
        output = default_output(self.video.path)
        return str(Path.cwd() / output.name if self.workdir in output.parents else output)

    def run(self, output: str, overwrite: bool) -> None:
        """Clean the whole clip in a background thread; the page polls :meth:`state`."""
        video = self._need_video()
        if "\0" in output:
            raise OutputError("the output's name holds a NUL character")
        target = Path(output or self.default_output())
        # the output and the selection are checked now, so that a mistake is the answer to Run
        check_output_path(target, [video.path], overwrite)
        config, tracks = self._config()  # removed when the run's thread ends
        with self._lock:
            if self.run_task.state == "running":
                tracks.unlink(missing_ok=True)
                raise InputError("a run is already in progress")
            task = self.run_task = Task()
            task.start(len(video))
            self.run_info = RunInfo(output=str(target))
            self.version += 1

        def on_start(backends: list[tuple[str, str]], total: int | None) -> None:
            self.backends = list(backends)
            task.total = total or task.total

        def work() -> None:
            try:
                result: CleanResult = clean_path(video.path, target, config, overwrite=overwrite,
                                                 on_start=on_start, progress=task.step)[0]
            except Stopped:
                task.state = "stopped"
                return
            except Exception as error:  # noqa: BLE001 - shown in the page, as the CLI would print it
                task.state, task.error = "failed", _user_error(error)
                return
            finally:
                tracks.unlink(missing_ok=True)
            self.run_info = RunInfo(str(result.output), result.frames, round(result.seconds, 2), result.shots)
            task.state = "done"

        self._run_thread = threading.Thread(target=work, name="clean", daemon=True)
        self._run_thread.start()

    def stop(self) -> Path | None:
        """Stop the background jobs, as the server goes: a run unwinds at its next frame, which
        removes its temporary output (a daemon thread dies with the process and leaves it).
        Returns the output of a run stopped before it was written, or None. The listing stops at
        its next frame too, and is waited for: a daemon thread still in a detector's native code
        as the interpreter exits aborts the process ("FATAL: exception not rethrown")."""
        with self._lock:
            self.listing.stop = self.run_task.stop = True
            threads = [t for t in (self._run_thread, *self._listings) if t is not None]
        for thread in threads:
            thread.join()
        return Path(self.run_info.output) if self.run_task.state == "stopped" else None

    def result_path(self) -> Path:
        if self.run_task.state != "done":
            raise InputError("no finished run to download")
        return Path(self.run_info.output)

    def state(self) -> dict:
        """Everything the page shows, as JSON-ready data, and nothing it does not read."""
        video = self.video
        clip = None
        if video is not None:
            info = video.info
            width, height = info.display_size
            clip = {"path": str(video.path), "frames": len(video), "width": width, "height": height,
                    "fps": float(info.average_rate) if info.average_rate else None}
        return {
            "session": self.session,
            "version": self.version,
            "clip": clip,
            "tracks": [{"id": t.id, "cls": t.cls, "first": t.first, "last": t.last, "remove": self._removes(t),
                        "still": t.still, "why": t.why} for t in self.tracks],
            "listing": self.listing.shown(),
            "points": [p.text() for p in self.points],
            "boxes": [b.text() for b in self.boxes],
            "run": self.run_task.shown(),
            "result": asdict(self.run_info),
            "backends": [list(b) for b in self.backends],
            "output": self.default_output(),
            "command": self.command(),
        }

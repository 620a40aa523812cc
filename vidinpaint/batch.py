"""Batch jobs: many clips, resumable, on N local worker processes or as Ray tasks.

Every output is written atomically by the pipeline; a JSONL job log gets a "started" line as a
clip starts and one more when it has finished (appended and fsynced only after the output is in
place). Rerunning the same command skips a clip whose output exists and whose last log line says
"done" for the same input size, mtime and settings hash and the same output (size and the hash
of its end; a changed one fails its clip, :func:`output_changed`), so a kill at any moment (even SIGKILL)
loses at most the clips in flight; one killed after its output was in place, before its line, is
known by its "started" line as the batch's own and redone (without it, the output was taken for a
stranger's file and the clip failed on every rerun). One bad clip is logged with its one-line
error and the batch goes on. One batch at a time works on a job log (a lock on it): two at once
cleaned every clip twice.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import signal
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .config import Config, SelectConfig, as_dict, load_config
from .errors import ConfigError, InputError, OutputError, VidinpaintError, VidinpaintWarning
from .images import IMAGE_EXTENSIONS
from .pipeline import VIDEO_EXTENSIONS, clean_path, output_suffix
from .selection import Selection

MEDIA_EXTENSIONS = VIDEO_EXTENSIONS + IMAGE_EXTENSIONS
LOG_NAME = "vidinpaint-jobs.jsonl"
SELECT_COLUMNS = tuple(f.name for f in fields(SelectConfig))  # manifest columns that set select.<name>


@dataclass(frozen=True)
class Job:
    """One clip to clean, with its per-clip options (from a manifest); ``error``: the row that
    made it cannot be read, and the job fails with this reason (alone, as a bad clip does)."""

    input: Path
    output: Path
    mask: Path | None = None
    overrides: tuple[str, ...] = ()
    error: str | None = None
    row: str = ""  # "jobs.csv line 7" for a manifest's row: its failures name it (rows may share an input)


def _media(folder: Path, outdir: Path) -> list[Path]:
    """Media files under ``folder``, except those under ``outdir``: with ``-o`` inside the input
    folder a rerun would otherwise clean its own outputs (and their outputs on the next rerun)."""
    skip = outdir.resolve()
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS
                  and not p.name.startswith(".") and not p.resolve().is_relative_to(skip))


COLUMNS = ("input", "output", "mask", "classes", "set", *SELECT_COLUMNS)


def _manifest_rows(path: Path) -> list[tuple[int, object]]:
    """The rows of a manifest, as read: a line that is not JSON becomes the reason it is not.
    CSV may start with a byte-order mark (Excel's "CSV UTF-8")."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; save it as UTF-8 (Excel: \"CSV UTF-8\")") from None
    if path.suffix.lower() == ".jsonl":
        rows: list[tuple[int, object]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except json.JSONDecodeError as err:
                    rows.append((number, f"not JSON ({err})"))
        return rows
    rows = []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for row in reader:  # reader.line_num: the file's line where the row ends (blank lines are skipped)
        if None in row:  # more fields than the header has
            rows.append((reader.line_num,
                         "more fields than the header; quote values that hold commas (\"10,20,300,400\")"))
        else:  # an empty header column (a trailing comma, as Excel writes) is no column; a space
            # typed after a comma is no part of a name ("x.mp4 " was refused as having '.mp4 ')
            rows.append((reader.line_num, {k.strip(): v.strip() if v else v for k, v in row.items() if k.strip() or v}))
    return rows


def _row_problem(row: object, outdir: Path) -> str | None:
    """Why a manifest row cannot be run, or None."""
    if isinstance(row, str):
        return row
    if not isinstance(row, dict):
        return "not an object with an 'input'"
    unknown = [str(key) for key in row if key not in COLUMNS]
    if unknown:  # a misspelt column ("trakcs") would otherwise be dropped, and everyone removed
        headless = Path(unknown[0]).suffix.lower() in MEDIA_EXTENSIONS  # a clip's name where the header goes
        return f"unknown column '{unknown[0]}' (columns: {', '.join(COLUMNS)})" + (
            "; a CSV's first line names its columns: start the file with a line 'input'" if headless else "")
    for key in ("input", "output", "mask", "classes", "tracks_file"):
        if row.get(key) not in (None, "") and not isinstance(row[key], str):
            return f"'{key}' must be text, not {json.dumps(row[key])}"
    if not row.get("input"):
        return "has no 'input'"
    sets = row.get("set")
    if sets not in (None, "") and not isinstance(sets, str) and not (
            isinstance(sets, list) and all(isinstance(o, str) for o in sets)):
        return "'set' must be a list of KEY=VALUE texts"
    if row.get("mask") and row.get("classes"):  # as `clean --mask --classes` is
        return "'classes' chooses what is detected; a row with a 'mask' gives the masks and skips detection"
    output = row.get("output")
    if output and not (outdir / output).resolve().is_relative_to(outdir.resolve()):
        return f"output {output} is outside the output folder {outdir}"
    return None


def _from_manifest(path: Path, outdir: Path) -> list[Job]:
    """Rows with ``input`` and optional ``output`` (inside the output folder), ``mask``, ``classes``,
    ``set`` (overrides, a list in JSONL, ';'-separated in CSV) and the selection columns
    (``tracks``, ``region``... as the ``select`` options). Relative inputs, masks and tracks files
    are relative to the manifest. A row that cannot be read is a job that fails with the reason."""
    jobs = []
    for n, row in _manifest_rows(path):  # n: its line in the file, as an editor numbers them
        problem = _row_problem(row, outdir)
        if problem is not None:
            label = path.parent / f"{path.name} line {n}"
            unique = hashlib.sha256(os.fsencode(path.resolve())).hexdigest()[:8]  # manifests of one name
            jobs.append(Job(label, outdir / f".{path.name}.{unique}.row{n}", error=f"{label}: {problem}"))
            continue
        src = (path.parent / row["input"]).resolve()
        overrides = row.get("set") or []
        if isinstance(overrides, str):
            overrides = [o.strip() for o in overrides.split(";") if o.strip()]
        if row.get("classes"):
            overrides = [*overrides, f"detect.classes={row['classes']}"]
        if row.get("tracks_file"):
            row = {**row, "tracks_file": str((path.parent / row["tracks_file"]).resolve())}
        overrides = [*overrides, *(f"select.{key}={row[key]}" for key in SELECT_COLUMNS if row.get(key) not in (None, ""))]
        mask = (path.parent / row["mask"]).resolve() if row.get("mask") else None
        problem = _values_problem(overrides)  # named by its line: several rows may share an input
        line = f"{path.parent / path.name} line {n}"
        jobs.append(Job(src, outdir / (row.get("output") or src.stem + output_suffix(src)), mask, tuple(overrides),
                        error=f"{line}: {problem}" if problem else None, row=line))
    return jobs


def _values_problem(overrides: list[str]) -> str | None:
    """Why a row's settings and selection cannot be used, or None (read against the defaults:
    whether a value can be read does not depend on the batch's own config)."""
    try:
        Selection.from_config(load_config(None, overrides).select)
    except ConfigError as err:
        return str(err)
    return None


def discover(inputs: Iterable[str | Path], outdir: str | Path) -> list[Job]:
    """Jobs for files, folders (recursive; outputs mirror the tree) and manifests (.csv/.jsonl)."""
    outdir = Path(outdir)
    jobs: list[Job] = []
    for item in map(Path, inputs):
        own = outdir / (item.stem + output_suffix(item))  # a file's output
        if not item.exists():  # fails alone, as a bad clip does: a typo stopped the whole batch
            jobs.append(Job(item, own, error=f"{item}: no such file or folder"))
        elif item.is_dir():
            jobs += [Job(p, outdir / p.relative_to(item)) for p in _media(item, outdir)]
        elif item.suffix.lower() in (".csv", ".jsonl"):
            jobs += _from_manifest(item, outdir)
        else:
            jobs.append(Job(item, own))
    # the same clip asked for twice (a file named twice, a manifest row repeated) is one job: both
    # copies failed as writing "another job's output", and `report` then counted one clip
    unique: dict[tuple, Job] = {}
    for j in jobs:
        unique.setdefault((j.input.resolve(), j.output.resolve(), j.mask, j.overrides, j.error), j)
    jobs = list(unique.values())
    # two jobs writing one file fail alone, as a bad row does; the whole batch stopped before
    outputs = [j.output.resolve() for j in jobs]
    shared = {o for o, n in Counter(outputs).items() if n > 1}
    # a job writing what another reads: that one's clip was replaced before it ran (inputs are never touched)
    read = {p.resolve() for j in jobs if j.error is None for p in (j.input, j.mask) if p is not None}
    return [j if j.error is not None else
            replace(j, error=f"{j.input}: {o} is another job's output too; give each its own output") if o in shared
            else replace(j, error=f"{j.input}: its output {o} is a job's input or mask; give it another output")
            if o in read else j for j, o in zip(jobs, outputs)]


def _stamp(path: Path | None) -> list | None:
    """Size and modification time of a mask file, or of every file in a mask folder: an edited
    mask must redo the clip (its path alone did not)."""
    if path is None:
        return None
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    stamps = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue
        stamps.append([file.name, stat.st_size, stat.st_mtime_ns])
    return [str(path), stamps]


def settings_hash(config: Config, job: Job) -> str:
    """What decides the output besides the input bytes: the effective config, the mask (its
    files' sizes and times), and the contents of a tracks file (flipping a "remove" in it must
    redo the clip)."""
    effective = as_dict(load_config(config, job.overrides))
    chosen = Path(effective["select"]["tracks_file"]) if effective["select"]["tracks_file"] else None
    tracks = hashlib.sha256(chosen.read_bytes()).hexdigest() if chosen and chosen.is_file() else None
    key = json.dumps({"config": effective, "mask": _stamp(job.mask), "tracks_file": tracks}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _fingerprint(job: Job, config: Config) -> dict:
    try:
        stat = job.input.stat()
    except FileNotFoundError:
        raise InputError(f"{job.input}: no such file") from None
    except OSError as err:
        raise InputError(f"{job.input}: cannot read ({err.strerror or err})") from None
    return {"input_size": stat.st_size, "input_mtime_ns": stat.st_mtime_ns,
            "settings": settings_hash(config, job)}


TAIL = 1 << 16  # bytes of an output's end hashed into its log entry


def output_print(path: Path) -> dict:
    """What a "done" entry says of its output: its size and a hash of its last ``TAIL`` bytes
    (where a truncated or replaced file differs; not its mtime, which a copy of the folder changes)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(size - TAIL, 0))
        tail = hashlib.sha256(f.read()).hexdigest()[:16]
    return {"output_size": size, "output_tail": tail}


def output_changed(job: Job, done: dict[tuple[str, str | None], dict]) -> str:
    """Why ``job``'s output is not the file its last "done" entry says was written, or "" (the
    same, none written, or a log from before outputs were hashed). ``done``: the last entries
    of the log (:func:`last_entries`), or its last "done" entries, which a later failure (a
    changed output's own) does not hide."""
    key = job_entry(job)
    entry = done.get((key["input"], key["output"]))
    if not entry or entry.get("status") != "done" or "output_size" not in entry or not job.output.is_file():
        return ""
    try:
        now = output_print(job.output)
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if now["output_size"] != entry["output_size"]:
        return f"{now['output_size']} bytes, written as {entry['output_size']}"
    return "its end differs from the file written" if now["output_tail"] != entry.get("output_tail") else ""


STATUSES = ("started", "done", "failed")


def read_log(path: Path) -> list[dict]:
    """Every entry of a job log: a JSON object with an input and a status per line (a torn last
    line from a kill is ignored). A file with lines but no entry is not a job log (an error)."""
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a job log (not text)") from None
    entries, others = [], 0
    for n, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # a torn last line is a kill (an entry cut short), not a stranger
            others += (n < len(lines) or not line.startswith("{")) and bool(line.strip())
            continue
        if isinstance(entry, dict) and isinstance(entry.get("input"), str) and entry.get("status") in STATUSES:
            entries.append(entry)
        else:
            others += 1
    if not entries and others:
        raise InputError(f"{path}: not a job log (no line of it is a job's entry)")
    return entries


def append_log(path: Path, entry: dict) -> None:
    """One JSON line, flushed and fsynced, so a finished clip is never forgotten; on a line of
    its own after a line a kill tore (glued to it, the entry was lost and its clip redone)."""
    with open(path, "ab+") as fh:
        torn = fh.seek(0, os.SEEK_END) > 0 and fh.seek(-1, os.SEEK_END) >= 0 and fh.read(1) != b"\n"
        fh.write((("\n" if torn else "") + json.dumps(entry) + "\n").encode())
        fh.flush()
        os.fsync(fh.fileno())


def job_entry(job: Job, **fields: object) -> dict:
    """A log entry for ``job``: absolute input and output paths (the pair a rerun looks up), then ``fields``."""
    return {"input": str(job.input.resolve()), "output": str(job.output.resolve()), **fields}


def last_entries(entries: Iterable[dict]) -> dict[tuple[str, str | None], dict]:
    """The last of ``entries`` for every input and output pair (one input may feed several rows:
    other masks, other settings), in the order the pairs first appear."""
    return {(e["input"], e.get("output")): e for e in entries}


def is_done(job: Job, config: Config, last: dict[tuple[str, str | None], dict]) -> bool:
    """True when the output exists and the last log line for this input and output (``last``, from
    :func:`last_entries`) matches it (a row that cannot be fingerprinted, such as a missing input
    or a bad ``set``, is not done: it fails when run)."""
    if job.error is not None or not job.output.exists():
        return False
    try:
        fp = _fingerprint(job, config)
    except VidinpaintError:
        return False
    key = job_entry(job)
    entry = last.get((key["input"], key["output"]))
    return bool(entry and entry.get("status") == "done" and all(entry.get(k) == v for k, v in fp.items())
                and not output_changed(job, last))


def run_job(job: Job, config: Config, progress: Callable[[int], None] | None = None) -> dict:
    """Clean one clip; never raises for a bad clip: the result says done or failed and why.

    Everything that reads the row (the input's size, its ``set`` overrides) happens inside the
    ``try``: a missing input or a bad value is this row's failure, not the batch's traceback.
    """
    global _cleaning
    start = time.time()
    entry = job_entry(job, started=start)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VidinpaintWarning)
        _cleaning = True
        try:
            _run_job(job, config, progress, entry)
        finally:
            _cleaning = False
    notes = [str(w.message) for w in caught if issubclass(w.category, VidinpaintWarning)]
    if notes:
        entry["warnings"] = notes
    entry["finished"] = time.time()
    return entry


def _run_job(job: Job, config: Config, progress: Callable[[int], None] | None, entry: dict) -> None:
    """Fill ``entry`` with "done" and the run's figures, or "failed" and the one-line reason."""
    try:
        if job.error is not None:
            raise InputError(job.error)
        entry.update(_fingerprint(job, config))
        cfg = load_config(config, job.overrides)
        try:
            job.output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file where a folder goes, a read-only output folder
            raise OutputError(f"cannot create the folder {job.output.parent} for {job.output.name}: "
                              f"{err.strerror or err}") from None
        result = clean_path(job.input, job.output, cfg, mask=job.mask, overwrite=True,
                            progress=(lambda _f: progress(1)) if progress else None)[0]
        entry.update(status="done", frames=result.frames, seconds=round(result.seconds, 3),
                     fps=round(result.fps, 2), backends=dict(result.backends),
                     **(output_print(job.output) if job.output.is_file() else {}))  # a folder of stills: none
    except VidinpaintError as err:
        entry.update(status="failed", error=str(err))
    except Exception as err:  # noqa: BLE001 - one broken clip must not end the batch
        entry.update(status="failed", error=f"{type(err).__name__}: {err}")
    if job.row and entry["status"] == "failed":
        entry["row"] = job.row


_cleaning = False  # a worker is cleaning a clip (and has a temporary file to remove if stopped)


def _unwind(signum: int, _frame: object) -> None:
    """A worker's SIGTERM: unwind a clip in progress, so its temporary file goes; an idle worker
    (finishing, or between clips) just exits: raised inside its exit's finalizers, the SystemExit
    was printed as "Exception ignored in <Finalize object>"."""
    if not _cleaning:
        os._exit(128 + signum)
    raise SystemExit(128 + signum)


def worker_init(gpu_ids, torch_threads: int) -> None:
    """In each worker process: pin one GPU, size torch's thread pool, and leave Ctrl-C and SIGHUP
    (sent to the whole process group) to the parent, which decides to finish or abandon; the
    parent's SIGTERM unwinds the worker so temporary files go away."""
    if gpu_ids is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_ids.get())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _unwind)
    import torch

    torch.set_num_threads(max(1, torch_threads))


@dataclass
class Summary:
    """Totals of a batch, for the final report and the exit code."""

    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    wall: float = 0.0

    def add(self, entry: dict) -> None:
        if entry.get("status") == "done":
            self.done += 1
            frames = entry.get("frames")  # a log edited by hand may say anything ("ten": a traceback)
            self.frames += frames if _number(frames) else 0
            self.seconds += entry_seconds(entry)
        else:
            self.failed.append((entry.get("input", "?"), failure(entry)))

    def lines(self) -> list[str]:
        fps = self.frames / self.wall if self.wall > 0 else 0.0
        out = [f"{self.total} clips: {self.done} done, {self.skipped} skipped (already done), "
               f"{len(self.failed)} failed; {self.frames} frames in {self.wall:.1f} s ({fps:.1f} frames/s overall)"]
        out += [f"failed: {name}: {error}" for name, error in self.failed]
        return out


def failure(entry: dict) -> str:
    """A failed entry's reason without the input's path in front (as the user typed it, or
    absolute), which the report names anyway; after its manifest row's line, where it has one and
    does not say it (rows may share an input)."""
    error, name, row = str(entry.get("error", "unknown error")), str(entry.get("input", "")), entry.get("row")
    first, _, rest = error.partition(": ")
    with contextlib.suppress(OSError, ValueError):
        if name and rest and Path(first).resolve() == Path(name).resolve():
            error = rest
    return f"{row}: {error}" if isinstance(row, str) and row and not error.startswith(row) else error


def entry_seconds(entry: dict) -> float:
    """How long a clip took: its own ``seconds``, else ``finished - started`` (a worker that died
    reports no seconds), else 0."""
    seconds, started, finished = (entry.get(k) for k in ("seconds", "started", "finished"))
    if _number(seconds):
        return float(seconds)
    if _number(started) and _number(finished):
        return max(0.0, finished - started)
    return 0.0


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def latest_entries(path: Path) -> list[dict]:
    """The last entry of every input and output pair of a job log (a rerun's entries replace
    the earlier attempts'), in the order the pairs first appear."""
    # a "started" line is a clip in flight, or one a kill stopped: no attempt to count
    return list(last_entries(e for e in read_log(path) if e["status"] != "started").values())


def summarize_log(path: Path) -> Summary:
    """The state of a job log: the last entry of every input and output pair."""
    latest = latest_entries(path)
    summary = Summary(total=len(latest))
    for entry in latest:
        summary.add(entry)
    # Each entry's span, even for entries without "started" (older logs): a missing start once
    # counted as 1970 and the wall time came out as 56 years.
    spans = [(e["finished"] - entry_seconds(e), e["finished"]) for e in latest if _number(e.get("finished"))]
    summary.wall = _covered(spans)
    return summary


def _covered(spans: list[tuple[float, float]]) -> float:
    """Seconds during which at least one of the ``(begin, end)`` spans ran: a batch resumed the
    next day counted the night between its runs, so its overall frames/s came out near zero. A
    span of no length (an older log's dead worker, with no start) ran since the span before it
    ended."""
    total, reach = 0.0, float("-inf")
    for begin, end in sorted(spans):
        if begin == end and reach > float("-inf"):
            begin = min(begin, reach)
        if end > reach:
            total += end - max(begin, reach)
            reach = end
    return total

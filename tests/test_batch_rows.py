"""Batch through the command line: a bad manifest row fails alone, `report` times every entry,
outputs inside the input folder are never inputs, and Ray is told not to report usage."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from test_publish import start, temporaries, wait_for_temporary
from vidinpaint.batch import LOG_NAME, read_log
from vidinpaint.synthetic import background, write_clip

FAST = [a for s in ("detect.backend=motion", "segment.backend=box") for a in ("--set", s)]


def clip(path: Path, frames: int = 6) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    bg = background(64, 48)
    write_clip(path, [np.roll(bg, i, axis=1) for i in range(frames)], fps=10)
    return path


def test_a_missing_input_or_a_bad_set_fails_its_row_and_the_others_run(tmp_path):
    clip(tmp_path / "a.mp4")
    clip(tmp_path / "b.mp4")
    manifest = tmp_path / "jobs.jsonl"
    rows = [{"input": "a.mp4"}, {"input": "gone.mp4"}, {"input": "b.mp4", "set": ["encode.crf=fast"]},
            {"input": "a.mp4", "output": "a_masked.mp4", "mask": "no-mask.png"}]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    for attempt in range(2):  # the rerun fingerprints finished rows again: still no traceback
        result = run_cli("batch", str(manifest), "-o", str(out), "-j", "1", *FAST)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        # each named by its line too, whenever its failure is found: several rows may share one input
        assert f"failed: {tmp_path / 'gone.mp4'}: {manifest} line 2: no such file" in result.stderr.splitlines(), \
            result.stderr
        assert any(line.startswith(f"failed: {tmp_path / 'b.mp4'}: {manifest} line 3: encode.crf: expected int")
                   for line in result.stderr.splitlines()), result.stderr
        assert (f"failed: {tmp_path / 'a.mp4'}: {manifest} line 4: --mask {tmp_path / 'no-mask.png'}: no such file "
                "or folder" in result.stderr.splitlines()), result.stderr
        assert f"4 clips: {1 - attempt} done, {attempt} skipped" in result.stderr
    latest = {Path(e["output"]).name: e["status"] for e in read_log(out / LOG_NAME)}
    assert latest == {"a.mp4": "done", "gone.mp4": "failed", "b.mp4": "failed", "a_masked.mp4": "failed"}


def test_a_row_that_cannot_be_read_fails_alone(tmp_path):
    """Torn JSON, a row that is no object, an input that is no text, a misspelt column (which
    was dropped, and everyone removed) and an output outside -o (which replaced a file there):
    each fails its row with the reason; the good rows run. They were tracebacks that stopped
    the batch, or silent."""
    clip(tmp_path / "a.mp4")
    keep = clip(tmp_path / "v" / "two.mp4")
    before = keep.read_bytes()
    lines = ['{"input": "a.mp4"}', '{"input": "a.mp4", "outp', '["a.mp4"]', '{"input": 5}', "",
             '{"input": "a.mp4", "output": "t.mp4", "trakcs": "1"}',
             '{"input": "a.mp4", "output": "../v/two.mp4"}',
             '{"input": "a.mp4", "output": "m.mp4", "mask": "m.png", "classes": "dog"}']  # the blank line counted
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    result = run_cli("batch", str(manifest), "-o", str(out), "-j", "1", *FAST)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    row = f"failed: {manifest} line"
    assert failed == [f"{row} 2: not JSON (Unterminated string starting at: line 1 column 20 (char 19))",
                      f"{row} 3: not an object with an 'input'", f"{row} 4: 'input' must be text, not 5",
                      f"{row} 6: unknown column 'trakcs' (columns: input, output, mask, classes, set, tracks, "
                      "keep_tracks, tracks_file, region, min_height, points, boxes)",
                      f"{row} 7: output ../v/two.mp4 is outside the output folder {out}",
                      f"{row} 8: 'classes' chooses what is detected; a row with a 'mask' gives the masks and skips "
                      "detection"], result.stderr
    assert "7 clips: 1 done, 0 skipped (already done), 6 failed" in result.stderr
    assert keep.read_bytes() == before and not (out / "t.mp4").exists()


def test_two_rows_with_one_output_fail_alone(tmp_path):
    """They stopped the whole batch before any clip ran ("two inputs would both be written")."""
    clip(tmp_path / "a.mp4")
    clip(tmp_path / "b.mp4")
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text('{"input": "a.mp4", "output": "x.mp4"}\n{"input": "b.mp4", "output": "x.mp4"}\n'
                        '{"input": "a.mp4", "output": "y.mp4"}\n')
    out = tmp_path / "out"
    result = run_cli("batch", str(manifest), "-o", str(out), "-j", "1", *FAST)
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert result.returncode == 1 and len(failed) == 2, result.stderr
    assert all("x.mp4 is another job's output too; give each its own output" in line for line in failed)
    assert (out / "y.mp4").exists() and not (out / "x.mp4").exists()


def test_a_row_writing_another_rows_input_fails_alone_and_the_input_is_kept(tmp_path):
    """Row 1 (a -> b.mp4) replaced b.mp4, row 2's input, before row 2 ran: both said done."""
    from vidinpaint.batch import discover

    out = tmp_path / "out"
    clip(out / "a.mp4")
    clip(out / "b.mp4", frames=8)
    before = (out / "b.mp4").read_bytes()
    manifest = out / "jobs.csv"
    manifest.write_text("input,output\na.mp4,b.mp4\nb.mp4,b_out.mp4\n")
    jobs = discover([manifest], out)
    assert jobs[0].error == f"{out / 'a.mp4'}: its output {out / 'b.mp4'} is a job's input or mask; give it another output"
    assert jobs[1].error is None
    result = run_cli("batch", str(manifest), "-o", str(out), "-j", "1", *FAST)
    assert result.returncode == 1 and (out / "b.mp4").read_bytes() == before, result.stderr
    assert (out / "b_out.mp4").exists()


def test_a_file_the_job_log_does_not_know_is_not_replaced_unless_asked(tmp_path):
    """A batch replaced files at its outputs that it had not written, without a word."""
    clip(tmp_path / "in" / "clip.mp4")
    out = tmp_path / "out"
    out.mkdir()
    (out / "clip.mp4").write_text("precious")
    result = run_cli("batch", str(tmp_path / "in"), "-o", str(out), "-j", "1", *FAST)
    assert result.returncode == 1 and (out / "clip.mp4").read_text() == "precious", result.stderr
    assert f"failed: {tmp_path / 'in' / 'clip.mp4'}: output {out / 'clip.mp4'} exists and is not in the job log" \
        in result.stderr, result.stderr
    again = run_cli("batch", str(tmp_path / "in"), "-o", str(out), "-j", "1", *FAST)  # its failure is logged now
    assert again.returncode == 1 and (out / "clip.mp4").read_text() == "precious", again.stderr
    assert run_cli("batch", str(tmp_path / "in"), "-o", str(out), "-j", "1", "--overwrite", *FAST).returncode == 0
    assert (out / "clip.mp4").stat().st_size > 100
    (tmp_path / "in" / "clip.mp4").touch()  # a changed input: the log knows this output, so it is redone
    again = run_cli("batch", str(tmp_path / "in"), "-o", str(out), "-j", "1", *FAST)
    assert again.returncode == 0 and "1 done" in again.stderr, again.stderr


def test_an_excel_csv_and_an_edited_mask(tmp_path):
    """A CSV saved by Excel starts with a byte-order mark (its first column was not 'input'); and
    a rerun redoes a row whose mask file changed (its path alone was compared)."""
    clip(tmp_path / "a.mp4")
    mask = tmp_path / "mask.png"
    import cv2

    cv2.imwrite(str(mask), np.zeros((48, 64), np.uint8))
    manifest = tmp_path / "jobs.csv"
    manifest.write_bytes("input,output,mask\na.mp4,m.mp4,mask.png\n".encode("utf-8-sig"))
    out = tmp_path / "out"
    first = run_cli("batch", str(manifest), "-o", str(out), "-j", "1", *FAST)
    assert first.returncode == 0 and "1 clips: 1 done" in first.stderr, first.stderr
    again = run_cli("batch", str(manifest), "-o", str(out), "-j", "1", *FAST)
    assert "1 skipped" in again.stderr, again.stderr
    marked = np.zeros((48, 64), np.uint8)
    marked[10:30, 20:40] = 255
    cv2.imwrite(str(mask), marked)
    os.utime(mask, ns=(time.time_ns(), time.time_ns() + 10**9))  # a later time, whatever the clock's grain
    edited = run_cli("batch", str(manifest), "-o", str(out), "-j", "1", *FAST)
    assert "1 clips: 1 done, 0 skipped" in edited.stderr, edited.stderr


def test_an_output_folder_that_is_a_file_and_a_log_that_is_a_folder_are_one_line_errors(tmp_path):
    src = clip(tmp_path / "a.mp4")
    result = run_cli("batch", str(src), "-o", str(src))
    assert result.returncode == 1 and result.stderr.splitlines()[-1] == f"error: output {src} is a file; -o takes a folder"
    result = run_cli("batch", str(src), "-o", str(tmp_path / "out"), "--log", str(tmp_path))
    assert result.returncode == 1 and result.stderr.splitlines()[-1] == f"error: --log {tmp_path} is a folder; give a file name"


def report_summary(tmp_path, entries: list[dict]) -> str:
    """The first line `vidinpaint report` prints for a job log of ``entries``."""
    log = tmp_path / LOG_NAME
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    result = run_cli("report", str(log))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[0]


def test_report_times_entries_without_a_start(tmp_path):
    now = 1_795_892_440.0
    entries = [{"input": "/x/a.mp4", "status": "done", "frames": 100, "seconds": 4.0, "fps": 25.0,
                "started": now - 4.0, "finished": now},
               # a worker that died, as logs before this fix wrote it: no "started", no "seconds"
               {"input": "/x/b.mp4", "status": "failed", "error": "worker died: BrokenProcessPool: killed",
                "finished": now + 2.0}]
    assert report_summary(tmp_path, entries) == ("2 clips: 1 done, 0 skipped (already done), 1 failed; "
                                                 "100 frames in 6.0 s (16.7 frames/s overall)")


def test_report_counts_the_time_the_batch_ran_not_the_night_between_two_runs(tmp_path):
    day = 1_795_892_440.0
    entries = [{"input": "/x/a.mp4", "status": "done", "frames": 100, "seconds": 4.0, "started": day - 4.0, "finished": day},
               {"input": "/x/b.mp4", "status": "done", "frames": 100, "seconds": 3.0, "started": day - 3.0, "finished": day},
               # resumed the next morning
               {"input": "/x/c.mp4", "status": "done", "frames": 60, "seconds": 2.0, "started": day + 50_000.0,
                "finished": day + 50_002.0}]
    assert report_summary(tmp_path, entries) == ("3 clips: 3 done, 0 skipped (already done), 0 failed; "
                                                 "260 frames in 6.0 s (43.3 frames/s overall)")


def test_report_reads_a_log_edited_by_hand(tmp_path):
    """A done entry with "frames": "ten" made report print a TypeError traceback."""
    now = 1_795_892_440.0
    entries = [{"input": "/x/a.mp4", "status": "done", "frames": "ten", "seconds": "4", "started": now - 4.0,
                "finished": now}]
    assert report_summary(tmp_path, entries).startswith("1 clips: 1 done")


def test_report_lists_each_clip_once_as_the_summary_counts_it(tmp_path):
    """The table listed every attempt (a clip failed twice and done once: three rows, under a
    summary of one clip), by a base name two folders' x.mp4 shared."""
    day = 1_795_892_440.0
    entry = {"status": "done", "frames": 10, "seconds": 1.0, "fps": 10.0, "started": day, "finished": day + 1}
    entries = [{**entry, "input": "/x/a/x.mp4", "output": str(tmp_path / "a" / "x.mp4"), "status": "failed",
                "error": "bad"},
               {**entry, "input": "/x/a/x.mp4", "output": str(tmp_path / "a" / "x.mp4")},
               {**entry, "input": "/x/b/x.mp4", "output": str(tmp_path / "b" / "x.mp4")}]
    (tmp_path / LOG_NAME).write_text("".join(json.dumps(e) + "\n" for e in entries))
    result = run_cli("report", str(tmp_path / LOG_NAME))
    assert result.stdout.splitlines()[0].startswith("2 clips: 2 done"), result.stdout
    rows = [line.split()[:2] for line in result.stdout.splitlines() if "x.mp4" in line]
    assert rows == [[str(Path("a") / "x.mp4"), "done"], [str(Path("b") / "x.mp4"), "done"]], result.stdout


def test_an_entry_after_a_torn_line_is_on_its_own_line(tmp_path):
    """Glued to a line a kill had torn, a finished clip's entry was lost and the clip redone."""
    from vidinpaint.batch import append_log

    log = tmp_path / LOG_NAME
    log.write_text('{"input": "/x/a.mp4", "status": "done"}\n{"input": "/x/b.mp4", "outp')
    append_log(log, {"input": "/x/c.mp4", "output": "/y/c.mp4", "status": "done"})
    assert [e["input"] for e in read_log(log)] == ["/x/a.mp4", "/x/c.mp4"]


def test_a_job_log_that_cannot_be_written_is_one_line_before_any_clip(tmp_path):
    """The first clip was cleaned, then writing its entry raised a PermissionError traceback."""
    from vidinpaint.batch import Job
    from vidinpaint.config import Config
    from vidinpaint.errors import OutputError
    from vidinpaint.runner import run_batch

    (tmp_path / "file").write_text("a file where the log's folder should be")
    with pytest.raises(OutputError, match="cannot write the job log .*file.*jobs.jsonl"):
        run_batch([Job(clip(tmp_path / "a.mp4"), tmp_path / "out" / "a.mp4")], Config(), tmp_path / "file" / "jobs.jsonl")
    assert not (tmp_path / "out").exists()


def test_the_frames_drain_ends_quietly_when_the_manager_goes_away():
    """SIGTERM to the process group killed the manager: the drain thread died on a BrokenPipeError
    traceback (and with the broad except it had, a dead manager would have spun it forever)."""
    import threading

    from vidinpaint.runner import Events, _drain

    class Gone:
        def get(self, timeout):
            raise BrokenPipeError(32, "Broken pipe")

        def empty(self):
            raise BrokenPipeError(32, "Broken pipe")

    thread = threading.Thread(target=_drain, args=(Gone(), Events(), threading.Event()), daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_an_idle_worker_told_to_stop_exits_quietly():
    """A SIGTERM landing in a worker's exit finalizers printed "Exception ignored ... SystemExit: 143"."""
    import subprocess
    import sys

    code = ("import atexit, os, signal, time\nfrom vidinpaint.batch import _unwind\n"
            "signal.signal(signal.SIGTERM, _unwind)\n"
            "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGTERM), time.sleep(5)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 128 + signal.SIGTERM and done.stderr == "", done.stderr


def test_the_input_folder_as_the_output_folder_says_why_nothing_was_found(tmp_path):
    clip(tmp_path / "shoot" / "a.mp4")
    result = run_cli("batch", str(tmp_path / "shoot"), "-o", str(tmp_path / "shoot"), *FAST)
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == (
        f"error: no videos or images found in the inputs outside the output folder {tmp_path / 'shoot'} "
        f"(files under it are outputs, never inputs)"), result.stderr


def test_outputs_inside_the_input_folder_are_never_taken_as_inputs(tmp_path):
    src = tmp_path / "shoot"
    clip(src / "a.mp4")
    clip(src / "day2" / "b.mp4")
    out = src / "cleaned"
    first = run_cli("batch", str(src), "-o", str(out), "-j", "1", *FAST)
    assert first.returncode == 0, first.stderr
    assert "2 clips: 2 done" in first.stderr
    again = run_cli("batch", str(src), "-o", str(out), "-j", "1", *FAST)
    assert again.returncode == 0, again.stderr
    assert "2 clips: 0 done, 2 skipped" in again.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4")) == ["a.mp4", "day2/b.mp4"]


def fake_ray(folder: Path) -> Path:
    """A ``ray`` package that only records the environment it was imported in, then is missing."""
    (folder / "ray").mkdir(parents=True)
    (folder / "ray" / "__init__.py").write_text(
        "import os, pathlib\n"
        "pathlib.Path(os.environ['RECORD']).write_text(os.environ.get('RAY_USAGE_STATS_ENABLED', 'unset'))\n"
        "raise ImportError('recorder only')\n")
    return folder


def test_ray_usage_statistics_are_off_unless_the_user_turns_them_on(tmp_path):
    clip(tmp_path / "in" / "a.mp4")
    paths = f"{fake_ray(tmp_path / 'fake')}:{Path(__file__).resolve().parents[1]}"
    for user, expected in ((None, "0"), ("1", "1")):
        env = {"PYTHONPATH": paths, "RECORD": str(tmp_path / "record")}
        if user is not None:
            env["RAY_USAGE_STATS_ENABLED"] = user
        result = run_cli("batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--ray", *FAST, env=env)
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1] == "error: --ray needs Ray: pip install 'vidinpaint[ray]'"
        assert (tmp_path / "record").read_text() == expected


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_stops_a_batch_and_leaves_no_temporary_file(tmp_path, workers):
    clip(tmp_path / "in" / "a.mp4", frames=300)
    out = tmp_path / "out"
    out.mkdir()
    proc = start("batch", str(tmp_path / "in"), "-o", str(out), "-j", workers, *FAST)
    wait_for_temporary(proc, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.splitlines()[-1].startswith("error: interrupted by SIGTERM; finished clips are logged"), err
    assert not temporaries(out) and not (out / "a.mp4").exists()


def test_manifests_as_spreadsheets_write_them(tmp_path):
    """Excel's plain CSV is not UTF-8 (one error naming the fix); a value with commas not quoted,
    and a trailing empty column; two manifests of one name in two folders (their bad rows'
    placeholder outputs clashed); a torn first log line (a kill) is no stranger's file."""
    from vidinpaint.batch import discover
    from vidinpaint.errors import InputError

    latin = tmp_path / "latin.csv"
    latin.write_bytes("input\nd\xe9fil\xe9.mp4\n".encode("latin-1"))
    with pytest.raises(InputError, match=r'not UTF-8 text; save it as UTF-8 \(Excel: "CSV UTF-8"\)'):
        discover([latin], tmp_path / "out")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("input,region,\n\na.mp4,10,20,300,400\nb.mp4,,\n")
    jobs = discover([sheet], tmp_path / "out")
    assert jobs[0].error is not None and "more fields than the header; quote values" in jobs[0].error
    assert "sheet.csv line 3:" in jobs[0].error  # the file's line, the blank one counted: it said row 1
    assert jobs[1].error is None and jobs[1].input.name == "b.mp4"
    for folder in ("b", "c"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "jobs.jsonl").write_text("not json\n")
    assert len(discover([tmp_path / "b" / "jobs.jsonl", tmp_path / "c" / "jobs.jsonl"], tmp_path / "out")) == 2
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"input": "/x/a.mp4", "sta')
    assert read_log(torn) == []
    stranger = tmp_path / "notes.txt"  # one line of something else: `report` said "0 clips" and exited 0
    stranger.write_text("x\n")
    with pytest.raises(InputError, match="not a job log"):
        read_log(stranger)


def test_a_failure_names_its_input_once_however_it_was_typed(tmp_path, monkeypatch):
    from vidinpaint.batch import failure

    monkeypatch.chdir(tmp_path)
    entry = {"input": str(tmp_path / "clips" / "b.mp4"), "error": "clips/b.mp4: not a readable video"}
    assert failure(entry) == "not a readable video"
    assert failure({"input": "/x/a.mp4", "error": "worker died"}) == "worker died"


def test_a_clip_killed_after_its_output_was_in_place_is_redone_not_failed(tmp_path):
    """A kill between a clip's rename and its log line (a SIGKILL, a worker orphaned by its
    parent's death) left an output the log did not know: every rerun failed that clip as a
    stranger's file. The "started" line written before the clip now says it is the batch's own."""
    clip(tmp_path / "in" / "a.mp4")
    out = tmp_path / "out"
    assert run_cli("batch", str(tmp_path / "in"), "-o", str(out), *FAST).returncode == 0
    log = out / LOG_NAME
    lines = log.read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines] == ["started", "done"]
    log.write_text(lines[0] + "\n")  # the kill: the output in place, its "done" line never written
    again = run_cli("batch", str(tmp_path / "in"), "-o", str(out), *FAST)
    assert again.returncode == 0 and "1 done" in again.stderr, again.stderr


def test_a_strangers_file_at_an_output_stays_a_strangers_on_every_rerun(tmp_path):
    clip(tmp_path / "in" / "a.mp4")
    out = tmp_path / "out"
    (out / "a.mp4").parent.mkdir(parents=True)
    (out / "a.mp4").write_bytes(b"mine")
    for _ in range(2):  # the first failure must not make the file the batch's own
        done = run_cli("batch", str(tmp_path / "in"), "-o", str(out), *FAST)
        assert done.returncode == 1 and "exists and is not in the job log" in done.stderr, done.stderr
    assert (out / "a.mp4").read_bytes() == b"mine"


def test_a_second_batch_on_the_same_job_log_is_refused(tmp_path):
    """Two batches on one job cleaned every clip twice and logged each twice."""
    import fcntl

    clip(tmp_path / "in" / "a.mp4")
    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOG_NAME, "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # the first batch, at work
        done = run_cli("batch", str(tmp_path / "in"), "-o", str(out), *FAST)
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1] == (
        f"error: another batch is working on the job log {out / LOG_NAME}; let it finish (it resumes where a "
        "stopped one left off), or give this one its own -o"), done.stderr
    assert not (out / "a.mp4").exists()


def test_the_log_cannot_be_a_clip_of_the_batch(tmp_path):
    """`--log out/a.mp4` appended the log's lines to the clip published there."""
    clip(tmp_path / "in" / "a.mp4")
    out = tmp_path / "out"
    for log, role in ((out / "a.mp4", "an output"), (tmp_path / "in" / "a.mp4", "an input")):
        done = run_cli("batch", str(tmp_path / "in"), "-o", str(out), "--log", str(log), "--overwrite", *FAST)
        assert done.returncode == 1 and done.stderr.strip().splitlines()[-1] == (
            f"error: --log {log} is {role} of the batch; give the log a file of its own"), done.stderr
    assert not out.exists()


def test_an_output_folder_that_cannot_be_made_fails_its_clip_in_one_line(tmp_path):
    clip(tmp_path / "in" / "sub" / "a.mp4")
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_bytes(b"a file where the clip's folder goes")
    done = run_cli("batch", str(tmp_path / "in"), "-o", str(out), *FAST)
    assert done.returncode == 1, done.stderr
    assert f"failed a.mp4: cannot create the folder {out / 'sub'} for a.mp4: File exists" in done.stderr, done.stderr


def test_an_input_folder_inside_the_output_folder_says_its_files_are_skipped(tmp_path):
    clip(tmp_path / "proj" / "in" / "a.mp4")
    clip(tmp_path / "src" / "b.mp4")
    alone = run_cli("batch", str(tmp_path / "proj" / "in"), "-o", str(tmp_path / "proj"), *FAST)
    assert alone.returncode == 1 and alone.stderr.strip().splitlines()[-1] == (
        f"error: no videos or images found in the inputs outside the output folder {tmp_path / 'proj'} "
        "(files under it are outputs, never inputs)"), alone.stderr
    both = run_cli("batch", str(tmp_path / "proj" / "in"), str(tmp_path / "src"), "-o", str(tmp_path / "proj"), *FAST)
    assert both.returncode == 0 and (
        f"warning {tmp_path / 'proj' / 'in'} is inside the output folder {tmp_path / 'proj'}: its files are taken "
        "for outputs and skipped") in both.stderr, both.stderr


def test_the_same_clip_asked_for_twice_runs_once(tmp_path):
    """A file named twice, or a manifest row repeated, failed both copies as writing "another job's
    output", and `report` counted one clip where the batch had said two."""
    a = clip(tmp_path / "a.mp4")
    manifest = tmp_path / "jobs.csv"
    manifest.write_text("input\na.mp4\na.mp4\n")
    for inputs in ([str(a), str(a)], [str(manifest)]):
        out = tmp_path / f"out{len(inputs)}"
        done = run_cli("batch", *inputs, "-o", str(out), *FAST)
        assert done.returncode == 0 and "1 clips: 1 done" in done.stderr, done.stderr
        report = run_cli("report", str(out / LOG_NAME))
        assert "1 clips: 1 done" in report.stdout + report.stderr, report.stdout + report.stderr


def test_names_with_a_newline_or_an_escape_sequence_stay_on_one_line(tmp_path):
    """A file name with a newline split its failure, the summary and the report's row over two
    lines; one with an escape sequence recoloured the terminal and moved the report's columns."""
    src = tmp_path / "in"
    clip(src / "good.mp4")
    (src / "bad\nname.mp4").write_bytes(b"junk")
    (src / "e\x1b[31mred.mp4").write_bytes(b"junk")
    out = tmp_path / "out"
    done = run_cli("batch", str(src), "-o", str(out), *FAST)
    report = run_cli("report", str(out / LOG_NAME))
    said = done.stderr + report.stdout + report.stderr
    assert done.returncode == 1 and "\x1b" not in said, said
    lines = said.splitlines()
    for shown in ("bad name.mp4", "e\\x1b[31mred.mp4"):
        assert any(line.startswith(f"  failed {shown}: ") for line in lines), said
        assert any(line.startswith("failed: ") and shown in line for line in lines), said
        assert any(line.startswith(shown) and "failed" in line for line in report.stdout.splitlines()), said


def test_a_csv_without_its_header_says_so_and_spaces_after_commas_are_no_part_of_names(tmp_path):
    clip(tmp_path / "a.mp4")
    clip(tmp_path / "b.mp4")
    headless = tmp_path / "headless.csv"
    headless.write_text("a.mp4\nb.mp4\n")
    done = run_cli("batch", str(headless), "-o", str(tmp_path / "out1"), *FAST)
    assert done.returncode == 1 and "unknown column 'a.mp4'" in done.stderr and (
        "a CSV's first line names its columns: start the file with a line 'input'") in done.stderr, done.stderr
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("input, output\nb.mp4, x2.mp4 \n")
    done = run_cli("batch", str(spaced), "-o", str(tmp_path / "out2"), *FAST)
    assert done.returncode == 0 and (tmp_path / "out2" / "x2.mp4").exists(), done.stderr


def test_a_file_put_where_a_clip_failed_stays_a_strangers(tmp_path):
    """A clip that started and failed wrote nothing at its output: a file put there later is not
    the batch's to replace (a review found "started" lines made every such path the batch's own)."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.mp4").write_bytes(b"junk")
    out = tmp_path / "out"
    assert run_cli("batch", str(src), "-o", str(out), *FAST).returncode == 1  # started, then failed
    (out / "a.mp4").write_bytes(b"mine")
    clip(src / "a.mp4")
    done = run_cli("batch", str(src), "-o", str(out), *FAST)
    assert done.returncode == 1 and "exists and is not in the job log" in done.stderr, done.stderr
    assert (out / "a.mp4").read_bytes() == b"mine"


def test_an_output_changed_since_the_batch_wrote_it_is_neither_taken_as_done_nor_replaced(tmp_path):
    """A copy cut short, or someone's edit: a rerun skipped it as done, whatever it held."""
    clip(tmp_path / "in" / "a.mp4")
    clip(tmp_path / "in" / "b.mp4")
    out = tmp_path / "out"
    assert run_cli("batch", str(tmp_path / "in"), "-o", str(out), *FAST).returncode == 0
    written = (out / "a.mp4").read_bytes()
    (out / "a.mp4").write_bytes(written[: len(written) // 2])
    (out / "b.mp4").touch()  # a copy of the folder changes times, not the files: still done
    for _ in range(2):  # its own failure must not make the file the batch's to replace
        again = run_cli("batch", str(tmp_path / "in"), "-o", str(out), *FAST)
        assert again.returncode == 1, again.stderr
        assert f"output {out / 'a.mp4'} changed since this batch wrote it ({len(written) // 2} bytes, written as " \
               f"{len(written)}); move it away, or pass --overwrite to clean the clip again" in again.stderr
        assert "1 skipped" in again.stderr or "skipped 1" in again.stderr, again.stderr
    assert (out / "a.mp4").read_bytes() == written[: len(written) // 2]
    assert run_cli("batch", str(tmp_path / "in"), "-o", str(out), "--overwrite", *FAST).returncode == 0
    assert (out / "a.mp4").read_bytes() != written[: len(written) // 2]
    # killed after a new output was in place and before its line: the batch's own, redone, not "changed"
    with (out / LOG_NAME).open("a") as log:
        log.write(json.dumps({"input": str((tmp_path / "in" / "a.mp4").resolve()),
                              "output": str((out / "a.mp4").resolve()), "status": "started"}) + "\n")
    (out / "a.mp4").write_bytes(b"a newer clean, cut short by the kill")
    again = run_cli("batch", str(tmp_path / "in"), "-o", str(out), *FAST)
    assert again.returncode == 0 and (out / "a.mp4").read_bytes() != b"a newer clean, cut short by the kill", again.stderr

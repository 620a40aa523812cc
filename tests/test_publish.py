"""Publishing the output: never over a file that appeared meanwhile, nothing left behind by a signal,
symbolic links refused, and a preview that fails after the video says exactly that."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import decode_all, run_cli
from vidinpaint.synthetic import background, write_clip

MOTION = ["--set", "detect.backend=motion", "--set", "segment.backend=box"]


def clip(path: Path, frames: int = 60) -> Path:
    bg = background(160, 120)
    write_clip(path, [np.roll(bg, 2 * i, axis=1) for i in range(frames)], fps=10)
    return path


def _default_sigint() -> None:
    """A shell without job control starts background commands with SIGINT ignored, and a child
    inherits that; the run under test must get SIGINT as a user's Ctrl-C would deliver it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "40", "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "vidinpaint", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_default_sigint)


def temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".tmp" in p.name]


def wait_for_temporary(proc: subprocess.Popen, folder: Path) -> None:
    """Until the run has begun writing (its temporary file exists)."""
    deadline = time.monotonic() + 120
    while not temporaries(folder):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)


def paused_while(proc: subprocess.Popen, folder: Path, action) -> tuple[int, str]:
    """Stop the run once it writes, ``action()``, let it go on; returns (exit code, stderr)."""
    try:
        wait_for_temporary(proc, folder)
        proc.send_signal(signal.SIGSTOP)
        action()
    finally:
        proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def test_a_file_that_appears_during_the_run_is_kept(tmp_path):
    src, out = clip(tmp_path / "in.mp4"), tmp_path / "out.mp4"
    code, err = paused_while(start("clean", str(src), "-o", str(out), *MOTION), tmp_path,
                             lambda: out.write_bytes(b"someone else's result"))
    assert code == 1
    assert err.splitlines()[-1].startswith(f"error: output {out} appeared while this run was working"), err
    assert "--overwrite" in err.splitlines()[-1]
    assert out.read_bytes() == b"someone else's result"
    assert not temporaries(tmp_path)


def test_overwrite_replaces_a_file_that_appears_during_the_run(tmp_path):
    src, out = clip(tmp_path / "in.mp4"), tmp_path / "out.mp4"
    code, err = paused_while(start("clean", str(src), "-o", str(out), "--overwrite", *MOTION), tmp_path,
                             lambda: out.write_bytes(b"old"))
    assert code == 0, err
    assert len(decode_all(out)[0]) == 60


def test_two_runs_on_one_output_one_wins_one_says_so(tmp_path):
    src, out = clip(tmp_path / "in.mp4", 30), tmp_path / "out.mp4"
    runs = [start("clean", str(src), "-o", str(out), *MOTION) for _ in range(2)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in runs]
    assert sorted(code for code, _ in results) == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert loser.splitlines()[-1].startswith(f"error: output {out} "), loser
    assert len(decode_all(out)[0]) == 30 and not temporaries(tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_removes_the_temporary_file_and_says_so_in_one_line(tmp_path, sig):
    src, out = clip(tmp_path / "in.mp4", 200), tmp_path / "out.mp4"
    proc = start("clean", str(src), "-o", str(out), *MOTION)
    wait_for_temporary(proc, tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig
    assert err.splitlines()[-1] == f"error: interrupted by {sig.name}; what was not finished was not written (files finished before are kept)", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_the_temporary_of_a_killed_run_is_removed_by_the_next_one(tmp_path):
    """SIGKILL (the out-of-memory killer on a batch node) leaves the partial temporary file; the
    next run for that output removes it, and leaves one that a live run holds."""
    import fcntl

    src, out = clip(tmp_path / "in.mp4", 200), tmp_path / "out.mp4"
    proc = start("clean", str(src), "-o", str(out), *MOTION)
    wait_for_temporary(proc, tmp_path)
    proc.kill()
    proc.communicate(timeout=60)
    [left] = temporaries(tmp_path)
    live = tmp_path / ".out.live.tmp.mp4"  # another run's, which holds its lock
    with open(live, "wb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_cli("clean", str(src), "-o", str(out), *MOTION)
        assert result.returncode == 0, result.stderr
        assert temporaries(tmp_path) == [live.name], left


@pytest.mark.parametrize("target_exists", [True, False])
def test_a_symlinked_output_is_refused_and_its_target_untouched(tmp_path, target_exists):
    src, target, link = clip(tmp_path / "in.mp4", 4), tmp_path / "target.mp4", tmp_path / "link.mp4"
    if target_exists:
        target.write_bytes(b"keep")
    link.symlink_to(target)
    result = run_cli("clean", str(src), "-o", str(link), "--overwrite", *MOTION)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(f"error: output {link} is a symbolic link (to {target})")
    assert link.is_symlink() and (target.read_bytes() == b"keep" if target_exists else not target.exists())


def test_a_preview_that_fails_after_the_video_says_the_video_was_written(tmp_path):
    src, out, preview = clip(tmp_path / "in.mp4"), tmp_path / "out.mp4", tmp_path / "out.preview.png"
    code, err = paused_while(start("clean", str(src), "-o", str(out), "--preview", *MOTION), tmp_path,
                             lambda: preview.write_bytes(b"not ours"))
    assert code == 1
    last = err.splitlines()[-1]
    assert last.startswith(f"error: wrote {out}, but the preview {preview} failed: output {preview} appeared"), err
    assert len(decode_all(out)[0]) == 60 and preview.read_bytes() == b"not ours"
    assert not temporaries(tmp_path)


def test_an_existing_preview_is_refused_before_any_work(tmp_path):
    src, out, preview = clip(tmp_path / "in.mp4", 4), tmp_path / "out.mp4", tmp_path / "out.preview.png"
    preview.write_bytes(b"old")
    result = run_cli("clean", str(src), "-o", str(out), "--preview", *MOTION)
    assert result.returncode == 1 and not out.exists()
    assert result.stderr.splitlines() == [f"error: output {preview} exists; pass --overwrite to replace it"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_the_no_hard_link_fallback_also_refuses_to_replace(tmp_path):
    from vidinpaint.atomic import _rename_noreplace
    from vidinpaint.errors import OutputError

    tmp, out = tmp_path / ".out.tmp.mp4", tmp_path / "out.mp4"
    tmp.write_bytes(b"ours")
    out.write_bytes(b"theirs")
    with pytest.raises(OutputError, match="appeared while this run was working"):
        _rename_noreplace(tmp, out, OSError(1, "no hard links"))
    assert out.read_bytes() == b"theirs"
    out.unlink()
    _rename_noreplace(tmp, out, OSError(1, "no hard links"))
    assert out.read_bytes() == b"ours" and not tmp.exists()


def test_only_the_outputs_own_temporaries_are_stale(tmp_path):
    """clip.part2.mp4's temporary is not clip.mp4's (a glob with '*' took it for one)."""
    from vidinpaint.atomic import remove_stale

    mine, theirs = tmp_path / ".clip.ab12cd34.tmp.mp4", tmp_path / ".clip.part2.ab12cd34.tmp.mp4"
    for path in (mine, theirs):
        path.write_bytes(b"partial")
    assert remove_stale(tmp_path / "clip.mp4") == [mine]
    assert theirs.exists() and not mine.exists()


def test_an_output_named_to_the_file_systems_limit_is_written(tmp_path):
    """A name of 241-255 bytes is valid, but its temporary's, 15-20 bytes longer, was not: "File
    name too long". A killed run's temporary of such a name is still found as stale."""
    from vidinpaint.atomic import atomic_folder, atomic_path, remove_stale

    stem = "é" * 120  # 240 bytes of UTF-8
    with atomic_path(tmp_path / f"{stem}.mp4") as tmp:
        tmp.write_bytes(b"done")
    assert (tmp_path / f"{stem}.mp4").read_bytes() == b"done"
    with atomic_folder(tmp_path / ("f" * 250), lambda found: False) as folder:
        (folder / "000000.png").write_bytes(b"mask")
    assert (tmp_path / ("f" * 250) / "000000.png").exists()
    left = tmp_path / f".{'é' * 100}.ab12cd34.tmp.mp4"  # what a killed run leaves: its stem cut to 200 bytes
    left.write_bytes(b"partial")
    assert remove_stale(tmp_path / f"{stem}.mp4") == [left]


def test_an_output_whose_name_is_not_utf8_is_written(tmp_path):
    """Linux names are bytes: ``caf\\xe9.mp4`` (Latin-1) reaches Python as a surrogate, which the
    temporary's name was encoded from as UTF-8: a traceback."""
    import os

    from vidinpaint.atomic import atomic_path, remove_stale

    name = os.fsdecode(b"caf\xe9" * 60 + b".mp4")  # and over the 200 bytes kept in the temporary's name
    with atomic_path(tmp_path / name) as tmp:
        tmp.write_bytes(b"done")
    assert (tmp_path / name).read_bytes() == b"done"
    from vidinpaint.atomic import _short

    assert _short(os.fsdecode(b"\xb0" * 300)) == os.fsdecode(b"\xb0" * 200)  # Latin-1 degree signs, not cut to nothing
    left = tmp_path / os.fsdecode(b"." + (b"caf\xe9" * 60)[:200] + b".ab12cd34.tmp.mp4")
    left.write_bytes(b"partial")
    assert remove_stale(tmp_path / name) == [left]


@pytest.mark.parametrize("where", ["flock", "rename"])
def test_a_signal_while_the_temporary_is_made_leaves_nothing(tmp_path, monkeypatch, where):
    """SIGTERM in a batch, as its clip's temporary was being made, left it under its first name
    (ending in "-"), which no later run removes."""
    from vidinpaint import atomic

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.fcntl if where == "flock" else atomic.os, where, interrupted)
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_path(tmp_path / "out.mp4"):
            pass
    assert list(tmp_path.iterdir()) == []

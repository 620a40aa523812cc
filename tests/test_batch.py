"""Batch jobs: resume after SIGKILL, a corrupt clip in the middle, manifests, Ray, reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import decode_all
from vidinpaint.batch import LOG_NAME, discover, read_log
from vidinpaint.config import load_config
from vidinpaint.runner import run_batch
from vidinpaint.synthetic import walkers, write_clip

FAST = ["detect.backend=motion", "detect.window=8", "segment.backend=box"]
FRAMES = 30


def make_clips(folder: Path, names: list[str]) -> list[Path]:
    paths = []
    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_clip(path, (f for f, _, _ in walkers(128, 96, FRAMES, seed=i)), fps=15)
        paths.append(path)
    return paths


def cli(*args: str, **kw) -> list[str]:
    return [sys.executable, "-m", "vidinpaint", *args]


def batch_cmd(src: Path, out: Path, *extra: str) -> list[str]:
    sets = [a for s in FAST for a in ("--set", s)]
    return cli("batch", str(src), "-o", str(out), "-j", "1", *sets, *extra)


def test_discover_mirrors_the_tree_and_reads_manifests(tmp_path):
    make_clips(tmp_path / "in", ["a.mp4", "sub/b.mp4"])
    jobs = discover([tmp_path / "in"], tmp_path / "out")
    assert [j.output.relative_to(tmp_path / "out").as_posix() for j in jobs] == ["a.mp4", "sub/b.mp4"]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"input": "in/a.mp4", "output": "x.mp4", "classes": "person,dog",
                                    "set": ["mask.dilate=2"]}) + "\n")
    (job,) = discover([manifest], tmp_path / "out")
    assert job.output == tmp_path / "out" / "x.mp4"
    assert job.overrides == ("mask.dilate=2", "detect.classes=person,dog")


def test_sigkill_then_rerun_finishes_everything_once(tmp_path):
    names = [f"clip{i}.mp4" for i in range(6)]
    make_clips(tmp_path / "in", names)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(batch_cmd(tmp_path / "in", out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len([e for e in read_log(out / LOG_NAME) if e["status"] == "done"]) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {e["output"]: Path(e["output"]).stat().st_mtime_ns for e in read_log(out / LOG_NAME)
                if e["status"] == "done"}
    assert 2 <= len(finished) < 6, "the kill should land mid-batch"
    visible = [p for p in out.glob("*.mp4") if not p.name.startswith(".")]
    for path in visible:  # no partial file under an output name (in-flight work is a hidden temp file)
        assert len(decode_all(path)[0]) == FRAMES
    rerun = subprocess.run(batch_cmd(tmp_path / "in", out), capture_output=True, text=True, env=env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(finished)} skipped" in rerun.stderr
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".mp4") == names
    assert not [p for p in out.iterdir() if ".tmp" in p.name]  # a killed clip's temp file is gone
    for name in names:
        assert len(decode_all(out / name)[0]) == FRAMES
    for path, mtime in finished.items():
        assert Path(path).stat().st_mtime_ns == mtime  # not reprocessed
    done = [e["input"] for e in read_log(out / LOG_NAME) if e["status"] == "done"]
    assert sorted(done) == sorted(set(done)) and len(done) == 6  # each clip done exactly once


def test_a_worker_killed_mid_batch_fails_its_clip_alone(tmp_path):
    """One killed worker broke the pool: both clips in flight failed, the batch stopped with a
    BrokenProcessPool traceback, and the clips after them never ran."""
    from pool_tasks import dies_on_poison

    from vidinpaint.batch import Job, read_log
    from vidinpaint.config import Config
    from vidinpaint.runner import Events, Summary, _run_pool

    jobs = [Job(tmp_path / f"{name}.mp4", tmp_path / "out" / f"{name}.mp4") for name in ("a", "poison", "b", "c", "d")]
    summary, notices = Summary(total=len(jobs)), []
    _run_pool(jobs, Config(), tmp_path / "log.jsonl", summary, Events(notice=notices.append), 2, dies_on_poison)
    status = {Path(e["input"]).name: e["status"] for e in read_log(tmp_path / "log.jsonl")}
    assert status == {"a.mp4": "done", "poison.mp4": "failed", "b.mp4": "done", "c.mp4": "done", "d.mp4": "done"}
    assert [e["error"] for e in read_log(tmp_path / "log.jsonl") if e["status"] == "failed"][0].startswith(
        "worker died while cleaning this clip alone")
    assert notices and "a worker died" in notices[0]


def test_a_corrupt_clip_is_logged_and_the_rest_complete(tmp_path):
    make_clips(tmp_path / "in", ["a.mp4", "c.mp4"])
    (tmp_path / "in" / "b.mp4").write_bytes(b"\x00garbage" * 500)
    result = subprocess.run(batch_cmd(tmp_path / "in", tmp_path / "out", "-j", "2"), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1
    assert "3 clips: 2 done, 0 skipped (already done), 1 failed" in result.stderr
    log = read_log(tmp_path / "out" / LOG_NAME)
    failed = [e for e in log if e["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["input"].endswith("b.mp4") and "not a readable video" in failed[0]["error"]
    assert len(decode_all(tmp_path / "out" / "a.mp4")[0]) == FRAMES
    report = subprocess.run(cli("report", str(tmp_path / "out" / LOG_NAME)), capture_output=True, text=True)
    assert report.returncode == 0 and "1 failed" in report.stdout and "b.mp4" in report.stdout
    # the output folder, for the log in it: it said "no such job log"
    folder = subprocess.run(cli("report", str(tmp_path / "out")), capture_output=True, text=True)
    assert folder.returncode == 0 and folder.stdout == report.stdout


def test_each_done_line_names_its_output(tmp_path):
    """Two manifest rows may clean one input two ways: both lines said "done   a.mp4"."""
    (a,) = make_clips(tmp_path / "in", ["a.mp4"])
    manifest = tmp_path / "rows.csv"
    manifest.write_text(f"input,output\n{a},plain.mp4\n{a},sub/other.mp4\n")
    sets = [x for s in FAST for x in ("--set", s)]
    result = subprocess.run(cli("batch", str(manifest), "-o", str(tmp_path / "out"), "-j", "1", *sets),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    done = sorted(line.split(":")[0].split() for line in result.stderr.splitlines() if line.lstrip().startswith("done"))
    assert done == [["done", "a.mp4", "->", "plain.mp4"], ["done", "a.mp4", "->", "sub/other.mp4"]], result.stderr


def test_a_missing_file_on_the_command_line_fails_alone(tmp_path):
    """A path given on the command line that is not there (a typo, a clip not copied yet) is a bad
    clip like any other: it fails, is logged and reported, and the others are cleaned. It stopped
    the whole batch before anything ran."""
    (a,) = make_clips(tmp_path / "in", ["a.mp4"])
    missing = tmp_path / "in" / "typo.mp4"
    sets = [x for s in FAST for x in ("--set", s)]
    result = subprocess.run(cli("batch", str(missing), str(a), "-o", str(tmp_path / "out"), "-j", "1", *sets),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "2 clips: 1 done, 0 skipped (already done), 1 failed" in result.stderr
    assert f"failed: {missing}: no such file or folder" in result.stderr.splitlines()
    assert len(decode_all(tmp_path / "out" / "a.mp4")[0]) == FRAMES
    failed = [e for e in read_log(tmp_path / "out" / LOG_NAME) if e["status"] == "failed"]
    assert [Path(e["input"]).name for e in failed] == ["typo.mp4"]


def test_manifest_options_are_honoured(tmp_path):
    a, b = make_clips(tmp_path / "in", ["a.mp4", "b.mp4"])
    mask = np.zeros((96, 128), np.uint8)
    mask[10:40, 10:40] = 255
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    manifest = tmp_path / "jobs.csv"
    manifest.write_text("input,output,mask,set\n"
                        "in/a.mp4,a_masked.mp4,m.png,mask.dilate=0\n"
                        "in/b.mp4,,,encode.crf=30;inpaint.backend=ns\n")
    summary = run_batch(discover([manifest], tmp_path / "out"), load_config(None, FAST), tmp_path / "out" / LOG_NAME)
    assert summary.done == 2 and not summary.failed
    log = {Path(e["output"]).name: e for e in read_log(tmp_path / "out" / LOG_NAME)}
    assert log["a_masked.mp4"]["backends"]["detect"].startswith("skipped: user masks")
    assert "dilate 0px" in log["a_masked.mp4"]["backends"]["mask"]
    assert "crf 30" in log["b.mp4"]["backends"]["encode"] and "Navier-Stokes" in log["b.mp4"]["backends"]["inpaint"]


@pytest.mark.slow
def test_ray_local_cluster_runs_the_batch_with_the_same_log(tmp_path):
    ray = pytest.importorskip("ray")
    make_clips(tmp_path / "in", ["a.mp4", "b.mp4", "c.mp4"])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_batch(discover([tmp_path / "in"], tmp_path / "out"), load_config(None, FAST),
                            tmp_path / "out" / LOG_NAME, use_ray=True)
    finally:
        ray.shutdown()
    assert summary.done == 3 and not summary.failed
    log = [e for e in read_log(tmp_path / "out" / LOG_NAME) if e["status"] == "done"]
    assert {"input", "output", "status", "frames", "seconds", "fps", "backends", "settings",
            "input_size", "input_mtime_ns"} <= set(log[0])
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        assert len(decode_all(tmp_path / "out" / name)[0]) == FRAMES


@pytest.mark.parametrize("cores, gpus, gib, workers", [(16, 1, 141, 4), (2, 1, 141, 1), (16, 8, 80, 8), (16, 0, 0, 4),
                                                       (2, 0, 0, 1), (16, 1, 8, 2), (16, 1, 3, 1), (64, 2, 8, 4)])
def test_default_workers_use_the_cores_on_a_gpu_node_too(monkeypatch, cores, gpus, gib, workers):
    """A clip's CPU stages keep a few cores busy, so a 16-core node with one big GPU runs four
    workers; a GPU with 8 GiB takes two, each with its own CUDA context and models."""
    import types

    import torch

    from vidinpaint.runner import default_workers

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setattr("vidinpaint.devices.no_gpu_driver", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: types.SimpleNamespace(total_memory=gib << 30))
    assert default_workers() == workers

"""Run batch jobs: inline, on N local worker processes (models resident per worker), or on Ray.

The parent process owns the job log and the progress display; workers only clean clips.
With worker processes, first Ctrl-C: no new clips start, the ones in flight finish and are
logged; second Ctrl-C: in-flight clips are abandoned (their temporary files are removed) and the
batch stops. With one worker the clip runs in this process, and Ctrl-C stops it at once.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from queue import Empty
from typing import IO

from .batch import (Job, Summary, append_log, is_done, job_entry, last_entries, output_changed, read_log, run_job,
                    worker_init)
from .config import Config
from .devices import cuda_memories
from .errors import ConfigError, OutputError, Terminated


@dataclass
class Events:
    """What the caller wants to hear about (the CLI draws progress bars from these)."""

    frames: Callable[[int], None] = lambda n: None
    clip: Callable[[dict], None] = lambda entry: None
    skipped: Callable[[int], None] = lambda n: None
    notice: Callable[[str], None] = lambda text: None


GIB_PER_GPU_WORKER = 4  # a worker's share of its GPU's memory: SAM ViT-H's weights alone are 2.4 GiB


def default_workers() -> int:
    """One worker per 4 cores (each worker uses several threads), and at least one per GPU, but
    no more on a GPU than ``GIB_PER_GPU_WORKER`` each of its memory allows (every worker holds
    its own CUDA context and models).

    A GPU node needs more than one worker per GPU: a clip's CPU stages keep about two cores busy
    whatever the node has, and the GPU stages use a fraction of it. On a lent H200 node with 16
    cores, 4 workers sharing the GPU ran 14.3 frames/s against 8.5 for one (8 clips of 50 frames,
    ``scripts/bench_batch.py --workers 1,4 --set device=cuda``), with 0.07 GiB of GPU memory each
    for NanoDet; SAM's weights, where present, take far more.
    """
    cpu = max(1, (os.cpu_count() or 1) // 4)
    memories = cuda_memories()
    if memories:
        fits = sum(max(1, memory // (GIB_PER_GPU_WORKER << 30)) for memory in memories)
        return max(len(memories), min(cpu, fits))
    return cpu


def _pending(jobs: list[Job], config: Config, log_path: Path, summary: Summary, overwrite: bool) -> list[Job]:
    """The jobs not done yet. One whose output is a file the log does not know (not written by a
    batch with this log) fails alone, unless ``overwrite``: a batch replaced such files silently."""
    log = read_log(log_path)
    last = last_entries(log)  # read once: a scan of the log per job was quadratic in the batch's size
    done = last_entries(e for e in log if e["status"] == "done")
    # what a clip of this log wrote: a "done" output, or one whose clip's last line is "started" (a
    # kill came before its "done" line); a failure wrote nothing there, and a file there since is a stranger's
    ours = {str(e.get("output")) for e in log if e["status"] == "done"} | \
        {str(output) for (_, output), e in last.items() if e["status"] == "started"}
    todo = []
    for job in jobs:
        if is_done(job, config, last):  # (its output unchanged: read once, here)
            summary.skipped += 1
            continue
        key = job_entry(job)
        # a last line "started": killed after its output was in place and before its line, the batch's own, redone
        started = last.get((key["input"], key["output"]), {}).get("status") == "started"
        changed = output_changed(job, done) if not overwrite and job.error is None and not started else ""
        if changed:  # someone's work, or a broken copy: either way not the batch's to replace unasked
            todo.append(replace(job, error=f"{job.input}: output {job.output} changed since this batch wrote it "
                                           f"({changed}); move it away, or pass --overwrite to clean the clip again"))
        elif not overwrite and job.error is None and (job.output.exists() or job.output.is_symlink()) \
                and str(job.output.resolve()) not in ours:
            todo.append(replace(job, error=f"{job.input}: output {job.output} exists and is not in the job log "
                                           f"{log_path}; move it away, or pass --overwrite to replace it"))
        else:
            todo.append(job)
    return todo


def _starting(job: Job, log_path: Path) -> None:
    """Log that ``job`` starts, so that its output is known as the batch's own if a kill comes
    after the output is in place and before its entry; not for a job that fails before it writes
    anything (a stranger's file at its output must stay a stranger's)."""
    if job.error is None:
        append_log(log_path, job_entry(job, status="started", started=time.time()))


def _record(entry: dict, log_path: Path, summary: Summary, events: Events) -> None:
    append_log(log_path, entry)
    summary.add(entry)
    events.clip(entry)


def run_batch(jobs: list[Job], config: Config, log_path: Path, workers: int = 1, use_ray: bool = False,
              ray_address: str | None = None, events: Events | None = None, overwrite: bool = False) -> Summary:
    """Clean every job not already done; returns the summary (``failed`` lists the errors).
    ``overwrite``: replace outputs the job log does not know, too."""
    events = events or Events()
    try:  # found now, not after the first clip's work (a PermissionError traceback, the clip unlogged)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(log_path, "a")
    except OSError as err:
        raise OutputError(f"cannot write the job log {log_path}: {err.strerror or err}") from None
    with lock:
        _lock(lock, log_path)
        return _run_batch(jobs, config, log_path, workers, use_ray, ray_address, events, overwrite)


def _lock(log: IO, path: Path) -> None:
    """Hold ``log`` locked until it is closed: a second batch on the same job log would clean
    every clip again and log each twice. Where the file system cannot lock (some network file
    systems), the batch runs unlocked, as before."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return
    try:
        fcntl.flock(log.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise OutputError(f"another batch is working on the job log {path}; let it finish (it resumes "
                          "where a stopped one left off), or give this one its own -o") from None
    except OSError:
        pass


def _run_batch(jobs: list[Job], config: Config, log_path: Path, workers: int, use_ray: bool,
               ray_address: str | None, events: Events, overwrite: bool) -> Summary:
    summary = Summary(total=len(jobs))
    todo = _pending(jobs, config, log_path, summary, overwrite)
    events.skipped(summary.skipped)
    start = time.time()
    try:
        if use_ray:
            _run_ray(todo, config, log_path, summary, events, ray_address)
        elif workers <= 1:
            for job in todo:
                _starting(job, log_path)
                _record(run_job(job, config, events.frames), log_path, summary, events)
        else:
            _run_pool(todo, config, log_path, summary, events, workers)
    finally:
        summary.wall = time.time() - start
    return summary


def _drain(frames, events: Events, stop: threading.Event) -> None:
    """Pass the workers' frame counts on until ``stop``; the manager process going away (a
    SIGTERM or SIGHUP to the whole process group) ends it quietly (a BrokenPipeError traceback)."""
    while True:
        try:
            if stop.is_set() and frames.empty():
                return
            events.frames(frames.get(timeout=0.1))
        except Empty:
            continue
        except (OSError, EOFError):
            return


def _pool_job(job: Job, config: Config, queue) -> dict:
    """Runs in a worker: report frames in chunks so the parent's bar moves during long clips."""
    pending = [0]

    def progress(n: int) -> None:
        pending[0] += n
        if pending[0] >= 10:
            queue.put(pending[0])
            pending[0] = 0

    entry = run_job(job, config, progress)
    queue.put(pending[0])
    return entry


def _run_pool(todo: list[Job], config: Config, log_path: Path, summary: Summary, events: Events,
              workers: int, task: Callable[[Job, Config, object], dict] = _pool_job) -> None:
    """The jobs on ``workers`` processes. A worker that dies (killed, out of memory) breaks the
    whole pool, failing every clip in flight, and nothing says which clip killed it: the pool is
    made again and those clips run once more, one at a time, and the one that breaks a pool
    running alone fails; then the rest go on as before (the batch stopped with a traceback, and
    every clip after them never ran). ``task``: what a worker runs."""
    ctx = mp.get_context("spawn")  # no forked torch/FFmpeg state in workers
    manager = ctx.Manager()
    queue = manager.Queue()
    gpus = manager.Queue()
    n_gpus = len(cuda_memories())
    threads = max(1, (os.cpu_count() or 1) // workers)

    def new_pool() -> ProcessPoolExecutor:
        while not gpus.empty():  # ids a broken pool's workers never took: each pool's start evenly
            gpus.get_nowait()
        for i in range(workers):  # each worker takes one GPU id (a dead one never gives its id back)
            gpus.put(i % n_gpus if n_gpus else "")
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init, initargs=(gpus, threads))

    stop = threading.Event()
    drainer = threading.Thread(target=_drain, args=(queue, events, stop), daemon=True)
    drainer.start()
    pool = new_pool()
    futures: dict[Future, Job] = {}
    submitted: dict[Future, float] = {}
    pending = deque(todo)
    suspects: deque[Job] = deque()  # in flight when a pool broke: run again one at a time
    alone: Future | None = None  # a suspect's, submitted with nothing else in flight
    stopping = broken = False
    try:
        while True:
            if broken and not futures:  # every clip of the broken pool is back: a new pool for them
                pool.shutdown(wait=True, cancel_futures=True)
                pool, broken = new_pool(), False
                events.notice("a worker died; the pool was made again" + (
                    f", and the {len(suspects)} clip(s) it may have been cleaning run again, one at a time"
                    if suspects else ""))
            try:
                if not stopping and suspects and not futures:
                    job = suspects[0]
                    _starting(job, log_path)
                    future = pool.submit(task, job, config, queue)
                    suspects.popleft()
                    futures[future], submitted[future] = job, time.time()
                    alone = future
                while not stopping and not suspects and len(futures) < workers and pending:
                    _starting(pending[0], log_path)
                    future = pool.submit(task, pending[0], config, queue)
                    futures[future], submitted[future] = pending.popleft(), time.time()
            except BrokenProcessPool:  # a worker died since the last wait: the pool takes nothing more
                broken = True
            if not futures:
                if broken:
                    continue
                break
            try:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt as interrupt:
                if stopping or isinstance(interrupt, Terminated):  # SIGTERM/SIGHUP: abandon at once
                    raise
                stopping = True
                events.notice(f"stopping: {len(futures)} clip(s) in flight will finish (Ctrl-C again to abandon them)")
                continue
            for future in done:
                job, started = futures.pop(future), submitted.pop(future)
                try:
                    entry = future.result()
                except BrokenProcessPool as err:
                    broken = True
                    if future is not alone:
                        suspects.append(job)
                        continue
                    entry = job_entry(job, status="failed", error=f"worker died while cleaning this clip alone "
                                                                  f"(killed, or out of memory?): {err}",
                                      started=started, finished=time.time())
                except Exception as err:  # noqa: BLE001 - whatever else a worker's result raised
                    entry = job_entry(job, status="failed", error=f"worker failed: {type(err).__name__}: {err}",
                                      started=started, finished=time.time())
                _record(entry, log_path, summary, events)
        if stopping:
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()  # SIGTERM: the worker unwinds and removes its temporary file
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        stop.set()
        drainer.join()
        manager.shutdown()


def _run_ray(todo: list[Job], config: Config, log_path: Path, summary: Summary, events: Events,
             address: str | None) -> None:
    """One Ray task per clip (GPU requested when the config runs on CUDA), retried if a worker dies."""
    # Ray reports usage statistics to its authors unless told not to; that is the user's call.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'vidinpaint[ray]'") from None

    if not ray.is_initialized():
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
    wants_gpu = config.device == "cuda" or (config.device == "auto" and ray.cluster_resources().get("GPU", 0) > 0)
    task = ray.remote(num_cpus=1, num_gpus=1 if wants_gpu else 0, max_retries=2)(run_job)
    started = time.time()
    for job in todo:
        _starting(job, log_path)
    refs = {task.remote(job, config): job for job in todo}
    while refs:
        done, _ = ray.wait(list(refs), num_returns=1)
        job = refs.pop(done[0])
        try:
            entry = ray.get(done[0])
        except Exception as err:  # noqa: BLE001 - the task failed after its retries
            entry = job_entry(job, status="failed",
                              error=f"ray task failed: {type(err).__name__}: {str(err).splitlines()[0]}",
                              started=started, finished=time.time())
        events.frames(entry.get("frames", 0))
        _record(entry, log_path, summary, events)

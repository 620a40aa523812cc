"""Tasks for batch worker processes in tests (spawned workers import them by name)."""

import os

from vidinpaint.batch import job_entry


def dies_on_poison(job, config, queue) -> dict:
    """A worker's task that kills its own process on a clip named poison.mp4, as the OOM killer would."""
    if job.input.name == "poison.mp4":
        os._exit(9)
    return job_entry(job, status="done", frames=1, seconds=0.01, fps=100.0, backends={})

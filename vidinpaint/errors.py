"""User-facing errors: each carries a one-line reason that the CLI prints as is."""

from __future__ import annotations


class VidinpaintError(Exception):
    """Base class; ``str(err)`` is a complete one-line explanation for the user."""


class InputError(VidinpaintError):
    """The input cannot be used (missing, corrupt, truncated, no video, no frames...)."""


class OutputError(VidinpaintError):
    """The output cannot be written (not writable, would overwrite the input, exists...)."""


class ConfigError(VidinpaintError):
    """A configuration file or override is invalid."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread so a run unwinds (and cleans up) as on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class VidinpaintWarning(UserWarning):
    """Something the user should know about a run that still completes (the CLI prints ``warning:``)."""

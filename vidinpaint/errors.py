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

"""User-facing errors: each carries a one-line reason that the CLI prints as is."""

from __future__ import annotations

import errno

import av


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


# other control characters, shown escaped: a file name holding an escape sequence recoloured the
# terminal and moved the report's columns
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(c) not in "\t\n\r"}


def one_line(text: str) -> str:
    """Line breaks (FFmpeg's multi-line messages, a newline in a file name) become spaces, other
    control characters ``\\xNN``; anything else is kept as is."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip()).translate(_CONTROLS)


def user_message(error: BaseException) -> str | None:
    """The one line the CLI prints after ``error:`` for an error the user caused; None for a bug.
    The review page shows the same text, so both say the same thing about the same input."""
    if isinstance(error, VidinpaintError):
        return one_line(str(error))
    if isinstance(error, av.FFmpegError):
        return one_line(f"FFmpeg: {error}")
    if isinstance(error, OSError) and error.errno == errno.ENAMETOOLONG:  # from any path check, input or output
        name = shortened(str(error.filename)) if error.filename else "a name"
        return one_line(f"{name}: the name is too long for the file system")
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):  # a full disk, or quota
        where = shortened(str(error.filename)) if error.filename else "the output"
        return one_line(f"cannot write {where}: {error.strerror}")
    return None


def shortened(name: str, most: int = 80) -> str:
    """``name`` if it is at most ``most`` characters, else its start and end around an ellipsis."""
    return name if len(name) <= most else f"{name[:most // 2]}...{name[-(most // 2 - 3):]}"

"""Outputs appear whole or not at all: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError


def check_output_path(output: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse outputs that would destroy an input, clobber a file, or cannot be created."""
    resolved = output.resolve()
    for item in inputs:
        if item.exists() and resolved == item.resolve():
            raise OutputError(f"output {output} is the input file; choose another --output")
    if output.is_dir():
        raise OutputError(f"output {output} is a directory; give a file name")
    if output.exists() and not overwrite:
        raise OutputError(f"output {output} exists; pass --overwrite to replace it")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {output}: folder {parent} is not writable")


@contextlib.contextmanager
def atomic_path(output: Path) -> Iterator[Path]:
    """Yield a temporary path in ``output``'s folder; rename it to ``output`` on success.

    The temporary name keeps the extension, so muxers that pick the format from the file name
    still work. On any error the temporary file is removed and ``output`` is left untouched.
    """
    parent = output.parent if str(output.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=f".tmp{output.suffix}", dir=parent)
    except OSError as err:
        raise OutputError(f"cannot write {output}: {err.strerror or err}") from None
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise

"""Outputs appear whole or not at all: write to a temporary file beside the target, then publish it.

Publishing never replaces a file that appeared while the run was working (another run writing
the same ``-o``, a user copying a file there) unless the caller asked to replace: checking for the
file before the run and renaming over it at the end lost one of two concurrent results silently.

A run holds a lock on its temporary file. A run killed outright (SIGKILL, the kernel's
out-of-memory killer on a batch node) cannot remove it, so the next run for the same output
removes the temporaries of that name that nobody holds: they were left, partial, by a dead run.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import OutputError, VidinpaintError


def check_output_path(output: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse outputs that would destroy an input, clobber a file, or cannot be created."""
    if output.is_symlink():
        # Renaming onto a link replaces the link, not the file it points to: neither is what was meant.
        raise OutputError(f"output {output} is a symbolic link (to {os.readlink(output)}); "
                          f"give the real path as --output, or remove the link")
    resolved = output.resolve()
    for item in inputs:
        if item.exists() and resolved == item.resolve():
            raise OutputError(f"output {output} is the input file; choose another --output")
    if output.is_dir():
        raise OutputError(f"output {output} is a directory; give a file name")
    if output.exists() and not output.is_file():  # renamed onto, a FIFO or device would become a plain file
        raise OutputError(f"output {output} is not a regular file (a pipe or a device); give a file name")
    if output.exists() and not overwrite:
        raise OutputError(f"output {output} exists; pass --overwrite to replace it")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {output}: folder {parent} is not writable")


def _appeared(output: Path) -> OutputError:
    return OutputError(f"output {output} appeared while this run was working; it was left as it is and "
                       f"this run's result discarded: pass --overwrite to replace it, or choose another --output")


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _rename_noreplace(tmp: Path, output: Path, link_error: OSError) -> None:
    """Linux ``renameat2(RENAME_NOREPLACE)``, for file systems without hard links (FAT, some shares)."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(tmp), _AT_FDCWD, os.fsencode(output), _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise _appeared(output)
        reason = os.strerror(code)
    else:
        reason = link_error.strerror or str(link_error)
    raise OutputError(f"cannot write {output} without the risk of replacing a file that appears meanwhile: "
                      f"this file system has no hard links or no-replace rename ({reason}); "
                      f"pass --overwrite to write it anyway")


def publish(tmp: Path, output: Path, replace: bool) -> None:
    """Give the finished ``tmp`` the name ``output``; with ``replace`` False, fail rather than
    replace a file that exists now (a hard link, unlike a rename, refuses an existing target)."""
    if replace:
        os.replace(tmp, output)
        return
    try:
        os.link(tmp, output)
    except FileExistsError:
        raise _appeared(output) from None
    except OSError as err:
        _rename_noreplace(tmp, output, err)
        return
    tmp.unlink()


def _held(path: Path) -> bool:
    """Whether a live run holds ``path`` (its lock); a file that cannot be opened counts as held."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the lock just taken


TEMP_NAME_BYTES = 200  # of an output's name kept in its temporary's, which adds 15-20 bytes to it


def _short(name: str) -> str:
    """``name`` cut to ``TEMP_NAME_BYTES`` bytes (whole characters), for its temporary's name: an
    output named with 241-255 bytes, a valid name, failed with "File name too long". Bytes as
    the file system has them: a name that is not UTF-8 (``caf\\xe9.mp4``) is a valid name too."""
    raw = os.fsencode(name)
    cut = min(len(raw), TEMP_NAME_BYTES)
    if cut < len(raw) and raw[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back to its character's lead
        for back in range(1, min(3, cut) + 1):  # byte if one is that near (0x80-0xBF alone are whole characters
            byte = raw[cut - back] & 0xC0        # in other encodings: Latin-1's degree sign)
            if byte == 0xC0:
                cut -= back
                break
            if byte != 0x80:
                break
    return os.fsdecode(raw[:cut])


def remove_stale(output: Path, folders: bool = False) -> list[Path]:
    """Remove the temporaries of ``output``'s name that no run holds (left by a run that was
    killed); returns them. Only ``output``'s own: mkstemp's 8 random characters exactly, so
    ``clip.part2.mp4``'s are not ``clip.mp4``'s. ``folders``: the temporary folders of
    :func:`atomic_folder` instead of files."""
    parent = output.parent if str(output.parent) else Path(".")
    suffix = "" if folders else output.suffix
    stem = _short(output.name if folders else output.stem)
    pattern = f".{glob.escape(stem)}.{'[a-z0-9_]' * 8}.tmp{glob.escape(suffix)}"
    stale = [p for p in parent.glob(pattern) if (p.is_dir() if folders else p.is_file()) and not _held(p)]
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path) if folders else path.unlink()
    return stale


def _locked_temporary(make: Callable[[], str], output: Path) -> tuple[int, Path]:
    """A new temporary (``make`` returns its name, ending in "-"), locked, then renamed without
    the "-": :func:`remove_stale` never sees it unlocked, as the lock stays with it through the
    rename. Returns the lock's descriptor and the path."""
    try:
        name = make()
    except OSError as err:
        raise OutputError(f"cannot write {output}: {err.strerror or err}") from None
    fd, tmp, made = -1, Path(name[:-1]), name
    try:
        fd = os.open(name, os.O_RDONLY)
        with contextlib.suppress(OSError):  # a file system without locks: no removal by later runs
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until this run ends, however it ends
        os.rename(name, tmp)
        made = str(tmp)  # ours under its new name from here on
    except BaseException as err:  # also a signal (SIGTERM in a batch): its "-" name is never swept
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):  # an empty folder or a file, either way just made by this run
            os.unlink(made) if os.path.isfile(made) else os.rmdir(made)
        if isinstance(err, OSError):
            raise OutputError(f"cannot write {output}: {err.strerror or err}") from None
        raise
    return fd, tmp


def _usual_permissions(path: Path, mode: int) -> None:
    """``mode`` less the umask, as a plain ``open`` or ``mkdir`` would have made ``path``."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def _made(made: tuple[int, str]) -> str:
    """mkstemp's name, its descriptor closed (the lock takes its own)."""
    os.close(made[0])
    return made[1]


@contextlib.contextmanager
def atomic_folder(folder: Path, replaceable: Callable[[Path], bool]) -> Iterator[Path]:
    """Yield a new temporary folder beside ``folder``; publish it as ``folder`` on success.

    Each run gets its own temporary (two runs writing the same folder used to share one name and
    delete each other's), locked as :func:`atomic_path`'s files are, so a dead run's is removed
    by the next. A folder found at ``folder`` when publishing is replaced only if
    ``replaceable(folder)``, else this is an error and the folder is left as it is.
    """
    parent = folder.parent if str(folder.parent) else Path(".")
    remove_stale(folder, folders=True)
    fd, tmp = _locked_temporary(
        lambda: tempfile.mkdtemp(prefix=f".{_short(folder.name)}.", suffix=".tmp-", dir=parent), folder)
    try:
        _usual_permissions(tmp, 0o777)  # mkdtemp makes 0700
        yield tmp
        if folder.exists() or folder.is_symlink():
            if folder.is_symlink() or not folder.is_dir() or not replaceable(folder):
                raise _appeared(folder)
            shutil.rmtree(folder)
        try:
            os.rename(tmp, folder)
        except OSError:  # a folder appeared again in between: it stays
            raise _appeared(folder) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        os.close(fd)


@contextlib.contextmanager
def atomic_path(output: Path, replace: bool = True, sweep: bool = True) -> Iterator[Path]:
    """Yield a temporary path in ``output``'s folder; publish it as ``output`` on success.

    The temporary name keeps the extension, so muxers that pick the format from the file name
    still work. On any error the temporary file is removed and ``output`` is left untouched.
    ``replace`` False: a file that appeared at ``output`` meanwhile is kept and this is an error.
    ``sweep`` False: no removal of dead runs' temporaries (it lists the folder: a folder of
    thousands of images, each written in a moment, would be listed once per image).
    """
    parent = output.parent if str(output.parent) else Path(".")
    if sweep:
        remove_stale(output)
    fd, tmp = _locked_temporary(lambda: _made(tempfile.mkstemp(prefix=f".{_short(output.stem)}.",
                                                              suffix=f".tmp{output.suffix}-", dir=parent)), output)
    try:
        _usual_permissions(tmp, 0o666)  # mkstemp makes 0600
        yield tmp
        publish(tmp, output, replace)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(err, VidinpaintError) and tmp.name in str(err):
            # The user never chose the temporary name: say what they asked for.
            text = str(err).replace(str(tmp), str(output)).replace(tmp.name, output.name)
            raise type(err)(text) from None
        raise
    finally:
        os.close(fd)

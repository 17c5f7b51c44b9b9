"""The one atomic writer: every file and folder this package writes (TF.js folders, Keras files, golden records, the
URL cache) goes through :func:`write_file` or :func:`write_folder`.

Guarantees (POSIX; see the README's "Atomic writes"):

- What is written goes first to a temporary name beside the target, ``.<name>.tfjs-interop-tmp-<pid>-<random>``:
  unpredictable (64 random bits) and created exclusively (``O_EXCL``, ``O_NOFOLLOW``; ``mkdir`` for a folder), so a
  file or symlink planted there is never written through. Files get mode 0666 and folders 0777, less the umask
  (0644 / 0755 with the usual umask), as ``open`` and ``mkdir`` make them.
- Every file is fsynced, then the temporary folder, then the parent after the switch: once a write returns, a
  crash does not undo it.
- The switch is one rename: a reader sees the old target or the new one, never a mix and never neither. Replacing
  a folder swaps the two atomically (Linux ``renameat2(RENAME_EXCHANGE)``); where that is missing, the old folder
  is moved aside under a recognisable name first, and a later writer of the same target puts it back if the
  process died between the two renames.
- ``overwrite=False`` cannot be raced: a file is published with ``link()`` (which fails if the name exists) and a
  folder with ``rename()`` onto a missing or empty name, so of two writers one succeeds and the other gets
  :class:`~tfjs_interop.errors.InputError`.
- A writer holds an exclusive ``flock`` on its temporary file or folder while it works. Temporaries whose lock is
  free and whose process is gone belong to dead writers (SIGKILL, power loss): each write removes those it finds
  beside its target.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError

TEMP_MARK = ".tfjs-interop-tmp-"
OLD_MARK = ".tfjs-interop-old-"
_OWNED = re.compile(r"\.(?P<name>.*)(?P<mark>\.tfjs-interop-(?:tmp|old)-)(?P<pid>\d+)-[0-9a-f]{16}")
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100

try:
    import fcntl
except ImportError:  # Windows: no flock; stale temporaries are told by their process alone
    fcntl = None

Content = bytes | Callable[[BinaryIO], object]


def write_file(path: str | os.PathLike, data: Content, *, overwrite: bool = True) -> Path:
    """Write one file atomically: ``data`` (bytes, or a function writing to a binary stream) replaces ``path``.

    Raises:
        InputError: when ``path`` is a folder or a dangling symlink, or exists and ``overwrite`` is false.
    """
    path = _real_target(Path(os.path.abspath(path)), folder=False)
    if not overwrite and os.path.lexists(path):
        raise InputError(f"{str(path)!r} exists; pass overwrite=True to replace it")
    clean_stale(path.parent)
    temp, fd = _new_temp_file(path)
    try:
        with os.fdopen(fd, "wb", closefd=False) as stream:
            data(stream) if callable(data) else stream.write(data)
        os.fsync(fd)
        _publish_file(temp, path, overwrite)
        _fsync_folder(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    finally:
        os.close(fd)  # releases the lock
    return path


def write_folder(target: str | os.PathLike, files: dict[str, Content], *, overwrite: bool = False,
                 finish: Callable[[Path], object] | None = None) -> Path:
    """Write a folder of ``files`` (name -> content) atomically in place of ``target``.

    ``finish(temporary_folder)``, when given, adds to the folder before it is published. A failure at any point
    leaves ``target`` as it was and no temporary folder behind.

    Raises:
        InputError: when ``target`` is a file, or a non-empty folder and ``overwrite`` is false (also when another
            writer publishes it first).
    """
    target = check_folder_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent)
    temp = _temp_path(target, TEMP_MARK)
    os.mkdir(temp, 0o777)
    lock = _lock(temp, directory=True)
    try:
        for name, data in files.items():
            _write_new(temp / name, data)
        if finish is not None:
            finish(temp)
        _fsync_folder(temp)
        _publish_folder(temp, target, overwrite)
        _fsync_folder(target.parent)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    finally:
        os.close(lock)
    return target


def clean_stale(folder: Path) -> list[Path]:
    """Remove the temporaries of dead writers in ``folder`` (restoring a folder moved aside before its
    replacement arrived); return what was removed or restored."""
    handled = []
    try:
        names = os.listdir(folder)
    except OSError:
        return handled
    for name in names:
        match = _OWNED.fullmatch(name)
        if match and _process_gone(int(match["pid"])):
            with _if_unlocked(folder / name) as free:
                if free:
                    _dispose(folder / name, folder / match["name"], match["mark"] == OLD_MARK)
                    handled.append(folder / name)
    return handled


# --- helpers --------------------------------------------------------------------------------------------------

def _real_target(path: Path, folder: bool) -> Path:
    """The path to write: a symlink is followed to what it names; a dangling one, or the wrong kind, is refused."""
    if path.is_symlink():
        if not path.exists():
            raise InputError(f"{str(path)!r} is a symlink to {os.readlink(path)!r}, which does not exist; "
                             "remove the link or write to a real path")
        path = path.resolve()
    if not folder and path.is_dir():
        raise InputError(f"{str(path)!r} is a folder; expected the path of a file to write")
    if folder and path.exists() and not path.is_dir():
        raise InputError(f"{str(path)!r} exists and is not a folder")
    return path


def check_folder_target(target: str | os.PathLike, overwrite: bool) -> Path:
    """The absolute folder :func:`write_folder` would write, or InputError as it would raise it."""
    target = _real_target(Path(os.path.abspath(target)), folder=True)  # "." has no name to put a temporary beside
    if target.is_dir() and not overwrite and any(target.iterdir()):
        raise InputError(f"{str(target)!r} is not empty; pass overwrite=True (--overwrite) to replace it")
    return target


def _temp_path(target: Path, mark: str) -> Path:
    return target.with_name(f".{target.name}{mark}{os.getpid()}-{secrets.token_hex(8)}")


def _new_temp_file(target: Path) -> tuple[Path, int]:
    temp = _temp_path(target, TEMP_MARK)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_CLOEXEC", 0), 0o666)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    return temp, fd


def _write_new(path: Path, data: Content) -> None:
    """A new file inside a temporary folder, created exclusively and fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    with os.fdopen(fd, "wb") as stream:
        data(stream) if callable(data) else stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _lock(path: Path, directory: bool) -> int:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _publish_file(temp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)  # fails if the name exists, whoever made it
    except FileExistsError:
        raise InputError(f"{str(path)!r} exists (another writer made it first); pass overwrite=True to replace "
                         "it") from None
    os.unlink(temp)


def _publish_folder(temp: Path, target: Path, overwrite: bool) -> None:
    try:
        os.rename(temp, target)  # onto a missing or empty folder only: never over another writer's files
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        if not overwrite:
            raise InputError(f"{str(target)!r} is not empty (another writer made it first); pass overwrite=True "
                             "to replace it") from None
    _replace_folder(temp, target)


def _replace_folder(temp: Path, target: Path) -> None:
    """Swap ``temp`` into ``target`` and remove the old folder; the target exists throughout."""
    if _renameat2(temp, target, _RENAME_EXCHANGE):
        shutil.rmtree(temp, ignore_errors=True)  # the old folder, now under the temporary name
        return
    old = _temp_path(target, OLD_MARK)  # a later writer restores it if we die before the second rename
    os.rename(target, old)
    try:
        os.rename(temp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _renameat2(source: Path, destination: Path, flags: int) -> bool:
    """Linux ``renameat2``; False where the C library or the file system lacks it."""
    function = getattr(_libc(), "renameat2", None)
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(destination), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(destination))


_LIBC: list = []


def _libc() -> object:
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]


def _fsync_folder(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows cannot open a folder to fsync it
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _process_gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False  # alive, someone else's
    return False


@contextlib.contextmanager
def _if_unlocked(path: Path) -> Iterator[bool]:
    """Whether no writer holds ``path``'s lock (held for the duration); False if it vanished or is locked."""
    try:
        info = os.lstat(path)
        if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
            yield True  # a symlink or other object under our name: nothing of ours, remove it
            return
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError:
        yield False
        return
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
        yield os.fstat(fd).st_ino == info.st_ino
    finally:
        os.close(fd)


def _dispose(path: Path, target: Path, moved_aside: bool) -> None:
    with contextlib.suppress(OSError):
        if moved_aside and not os.path.lexists(target):
            os.rename(path, target)  # the process died between moving the old folder aside and the new one in
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)

"""Writing output files safely: all or nothing.

An output file either appears complete or not at all: data are written to a
temporary file in the destination folder and renamed into place, so an error
half-way (or Ctrl-C) never leaves a half-written result behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from .errors import OutputError


def check_writable_dir(folder: str | os.PathLike, *, create: bool = True) -> Path:
    """Return ``folder`` as a Path after making sure files can be written in it.

    Raises:
        OutputError: the path exists and is not a folder, cannot be created,
            or is not writable.
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OutputError(f"output path {path} exists and is not a folder")
    if not path.exists():
        if not create:
            raise OutputError(f"output folder {path} does not exist")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {path} is not writable")
    return path


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary file beside ``path``, moved onto ``path`` when the block succeeds.

    The one atomic writer of lvquant: write the content to the yielded path
    (any library may write it); on success it gets the usual permissions
    (``0666`` less the umask; ``mkstemp`` makes ``0600``) and is renamed onto
    ``path`` in one step. On any error, or Ctrl-C, the temporary file is
    removed and ``path`` is left as it was.

    Raises:
        OutputError: the folder does not exist or cannot be written.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_npz_atomic(path: str | os.PathLike, arrays: dict) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` to ``path`` atomically (see :func:`atomic_file`)."""
    import numpy as np

    with atomic_file(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def check_can_create(folder: str | os.PathLike) -> Path:
    """Make sure ``folder`` could be written, without creating anything (a refused run leaves nothing).

    The folder may exist (then it must be a writable folder) or not (then its
    nearest existing parent must be a writable folder).

    Raises:
        OutputError: it exists and is not a folder, or cannot be written.
    """
    path = Path(folder)
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"output path {path} exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputError(f"output folder {path} is not writable")
        return path
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot create {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot create {path}: {parent} is not writable")
    return path


@contextlib.contextmanager
def staged_folder(folder: str | os.PathLike, *, replace: bool | Callable[[Path], bool] = False,
                  tag: str = "") -> Iterator[Path]:
    """A hidden temporary folder beside ``folder`` that becomes ``folder`` in one rename when the block succeeds.

    Write everything into the yielded folder. On success it is renamed onto
    ``folder``; an error, Ctrl-C or SIGTERM (handled as Ctrl-C by the CLI)
    removes it and leaves ``folder`` as it was. An existing empty ``folder``
    is simply replaced; an existing non-empty one only when ``replace`` is
    True (or a function of the folder that returns True): it is renamed aside
    and deleted once the new one is in place. Another process that puts a
    folder there meanwhile makes the final rename fail instead of mixing
    files: one complete output wins, the other run gets an OutputError.

    Args:
        folder: the folder to create.
        replace: whether an existing non-empty folder may be replaced.
        tag: a string in the temporary folder's name (lets a caller find the
            debris of its own killed work, see :func:`remove_debris`).

    Raises:
        OutputError: the folder exists and may not be replaced, or cannot be written.
    """
    folder = Path(folder)
    parent = folder.parent if str(folder.parent) else Path(".")

    def occupied() -> bool:
        return folder.exists() and (not folder.is_dir() or any(folder.iterdir()))

    def may_replace() -> bool:
        return folder.is_dir() and (replace(folder) if callable(replace) else bool(replace))

    if occupied() and not may_replace():
        raise OutputError(f"{folder} already exists" + ("" if folder.is_dir() else " and is not a folder"))
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{tag}", suffix=".part", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    old: Path | None = None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if occupied():
            if not may_replace():
                raise OutputError(f"{folder} already exists (written by another run meanwhile)")
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{tag}", suffix=".old", dir=parent))
            os.replace(folder, old / "previous")
        try:
            os.rename(tmp, folder)
        except OSError:
            if old is not None:  # put the previous folder back
                with contextlib.suppress(OSError):
                    os.rename(old / "previous", folder)
            raise
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not (old / "previous").exists():
            shutil.rmtree(old, ignore_errors=True)
        if isinstance(exc, OSError):
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                raise OutputError(f"{folder} was written by another run meanwhile; this run's output is dropped") from None
            raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_folder_atomic(folder: str | os.PathLike, contents: dict[str, bytes], *,
                        replace: bool | Callable[[Path], bool] = False, tag: str = "") -> Path:
    """Write a folder of files so that it appears complete or not at all (see :func:`staged_folder`).

    Args:
        folder: the folder to create.
        contents: file name (no path separators) -> bytes.
        replace: replace an existing folder (or a function saying whether it may be).
        tag: a string in the temporary folder's name.

    Returns:
        ``folder`` as a Path.

    Raises:
        OutputError: the folder exists (without ``replace``), or it cannot be written.
    """
    for name in contents:
        if not name or "/" in name or os.sep in name or name in (".", ".."):
            raise ValueError(f"not a plain file name: {name!r}")
    with staged_folder(folder, replace=replace, tag=tag) as tmp:
        try:
            for name, data in contents.items():
                (tmp / name).write_bytes(data)
                os.chmod(tmp / name, 0o666 & ~_umask())
        except OSError as exc:
            raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
    return Path(folder)


def remove_debris(folder: str | os.PathLike, tag: str = "", *, older_than_s: float | None = None) -> int:
    """Remove the temporary folders :func:`write_folder_atomic` left in ``folder`` when killed.

    Only hidden ``.*TAG*.part`` / ``.old`` folders are touched; with
    ``older_than_s`` only those not modified for that long (another live run
    may still be writing the younger ones). Returns how many were removed.
    """
    import time

    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        if not (e.name.startswith(".") and (e.name.endswith(".part") or e.name.endswith(".old")) and tag in e.name):
            continue
        try:
            if not e.is_dir(follow_symlinks=False):
                continue
            if older_than_s is not None and now - e.stat(follow_symlinks=False).st_mtime < older_than_s:
                continue
        except OSError:
            continue
        shutil.rmtree(e.path, ignore_errors=True)
        removed += 1
    return removed

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
from typing import Iterator

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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_folder_atomic(folder: str | os.PathLike, contents: dict[str, bytes], *, replace: bool = False,
                        tag: str = "") -> Path:
    """Write a whole folder of files so that it appears complete or not at all.

    The files are written into a hidden temporary folder beside ``folder``
    (``.NAME.TAG*.part``) which is then renamed onto ``folder`` in one step. An
    error or an interrupt removes the temporary folder and leaves ``folder``
    as it was. With ``replace`` an existing ``folder`` is first renamed aside
    and deleted once the new one is in place; without it an existing
    non-empty ``folder`` is an error — also when another process puts one
    there while this call writes (the final rename refuses a non-empty
    target), so two writers never leave a mix of their files.

    Args:
        folder: the folder to create.
        contents: file name (no path separators) -> bytes.
        replace: replace an existing folder.
        tag: a string in the temporary folder's name (lets a caller find the
            debris of its own interrupted work, see :func:`remove_debris`).

    Returns:
        ``folder`` as a Path.

    Raises:
        OutputError: the folder exists (without ``replace``), or it cannot be written.
    """
    folder = Path(folder)
    parent = folder.parent
    for name in contents:
        if not name or "/" in name or os.sep in name or name in (".", ".."):
            raise ValueError(f"not a plain file name: {name!r}")
    if folder.exists() and not replace and (not folder.is_dir() or any(folder.iterdir())):
        raise OutputError(f"{folder} already exists")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{tag}", suffix=".part", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write in {parent}: {exc.strerror or exc}") from None
    old: Path | None = None
    try:
        for name, data in contents.items():
            (tmp / name).write_bytes(data)
            os.chmod(tmp / name, 0o666 & ~_umask())
        os.chmod(tmp, 0o777 & ~_umask())
        if replace and folder.exists():
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
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise OutputError(f"{folder} already exists (written by another run meanwhile)") from None
            raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder


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

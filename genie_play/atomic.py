"""Atomic file writes: temp file in the same folder, fsync, rename. A crash never leaves a half file."""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from genie_play.errors import GenieError


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ""):
    """Yields a temp path beside `path`; on success it is fsynced and renamed onto `path`. An OSError names
    `path` itself (not the temp file), so a failed write reads as one line about the user's file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=path.parent)
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as error:
        if error.filename == str(path):
            raise
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def refuse_to_replace(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Raises GenieError when `path` is a folder, or a file already there and `overwrite` is off:
    a user's file is never replaced by surprise."""
    path = Path(path)
    if path.is_dir():
        raise GenieError(f"{path}: is a folder, not a file name")
    if path.exists() and not overwrite:
        raise GenieError(f"{path}: already exists (pass --overwrite to replace it)")

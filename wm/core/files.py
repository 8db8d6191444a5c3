"""Atomic output files: written under a temporary name beside the target, renamed when complete.

Every writer in wm goes through here, so an interrupted or failed write never leaves a
half-written file under the target's name, and an existing target stays intact until the rename.
The file is fsynced before the rename and its folder after it, so a crash or power loss at any
instant leaves either the old or the new file. Files are created ``0666 & ~umask`` like ``open``.
A write killed outright (SIGKILL) leaves its temporary file behind, named ``.<stem>.<8 chars><suffix>``:
``remove_leftovers`` drops those from a folder that wm alone writes.
"""

from __future__ import annotations

import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from wm.core.errors import WMError


@contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` when the block succeeds and is
    removed when it fails. With ``suffix``, ``path`` must end in it and its folder must exist."""
    path = Path(path)
    if suffix is not None and (path.suffix.lower() != suffix or not path.parent.is_dir()):
        raise WMError(f"{path}: expected a {suffix} file in an existing folder")
    tmp = _create_temporary(path)
    try:
        yield tmp
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _create_temporary(path: Path) -> Path:
    """A new empty file beside ``path`` named ``.<stem>.<8 random chars><suffix>``, mode 0666 & ~umask."""
    while True:
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}{path.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def replace_durably(tmp: Path, path: Path) -> None:
    """Rename the finished ``tmp`` to ``path``: ``tmp``'s bytes reach the disk first (a symlink has
    none), its folder's entry right after, so a crash leaves the old ``path`` or the new one."""
    if not tmp.is_symlink():
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the entries of ``folder`` (new, renamed or removed files) durable (POSIX; Windows cannot
    open a folder, and its renames need no such step)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_LEFTOVER = re.compile(r"\..+\.[a-z0-9_]{8}(\.[^.]*)?")  # ours (hex) and the older mkstemp names


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temporary files that killed writes left in ``folder``; returns what was removed.

    Only for folders that wm alone writes (a run folder, its checkpoints/): any hidden name of the
    temporary pattern there is an unfinished write, never the user's file."""
    if not folder.is_dir():
        return []
    removed = [p for p in folder.iterdir() if _LEFTOVER.fullmatch(p.name) and (p.is_symlink() or p.is_file())]
    for leftover in removed:
        leftover.unlink(missing_ok=True)
    return removed


def write_text_atomic(path: str | Path, text: str) -> None:
    """Replace ``path``'s content with ``text`` in one step."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


Writer = TypeVar("Writer", bound="AtomicWriter")


class AtomicWriter(ABC):
    """Base of writers that build a file under a temporary name: ``close()`` puts it in place,
    ``abort()`` drops it. As a context manager, a block that succeeds closes, one that raises aborts."""

    @abstractmethod
    def close(self) -> Path:
        """Put the finished file in place; returns its path."""

    @abstractmethod
    def abort(self) -> None:
        """Drop the temporary file; the destination is left as it was."""

    def __enter__(self: Writer) -> Writer:
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if error is None:
            self.close()
        else:
            self.abort()

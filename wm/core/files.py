"""Atomic output files: written under a temporary name beside the target, renamed when complete.

Every writer in wm goes through here, so an interrupted or failed write never leaves a
half-written file under the target's name, and an existing target stays intact until the rename.
"""

from __future__ import annotations

import os
import tempfile
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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


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

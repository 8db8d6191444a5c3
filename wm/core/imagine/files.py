"""Atomic output files: written under a temporary name beside the target, renamed when complete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wm.core.errors import WMError


@contextmanager
def atomic_path(path: str | Path, suffix: str) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (which must end in ``suffix``); it replaces ``path``
    when the block succeeds and is removed when it fails, so no half-written file is left."""
    path = Path(path)
    if path.suffix.lower() != suffix or not path.parent.is_dir():
        raise WMError(f"{path}: expected a {suffix} file in an existing folder")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)

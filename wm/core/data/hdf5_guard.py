"""Open the datasets of an untrusted HDF5 file without reading any other file or unbounded memory.

``dataset(f, path, key)`` resolves a top-level ``key`` one link at a time and never follows a link
out of the file: external links, external storage and virtual datasets are refused, soft links are
followed inside the file only; a chunk (decoded whole by any read) holds at most MAX_CHUNK_BYTES.
Only the built-in filters (gzip, lzf, shuffle, fletcher32) are
accepted, so reading wm's keys never makes HDF5 search its plug-in path (``HDF5_PLUGIN_PATH``) for
a filter the file names, and ``check_stored`` can bound what the stored bytes decode to.
"""

from __future__ import annotations

import posixpath
from math import prod
from pathlib import Path
from typing import Any

from wm.core.errors import WMError

DEFLATE, SHUFFLE, FLETCHER32, LZF = 1, 2, 3, 32000  # HDF5 filter ids
MAX_RATIO = {DEFLATE: 1032.0, LZF: 100.0, SHUFFLE: 1.0, FLETCHER32: 1.0}  # most bytes one stored byte decodes to
MAX_SOFT_LINKS = 16
SLACK_BYTES = 1 << 20  # declared sizes up to this are accepted whatever the storage (headers, fill values)
MAX_CHUNK_BYTES = 1 << 28  # a read decodes whole chunks; 256 MiB holds one 4096x4096x4 float32 frame


def dataset(f: Any, path: Path, key: str) -> Any:
    """The object at top-level ``key`` of the open h5py file ``f`` (None when absent), checked as above."""
    import h5py

    target = _hard_path(f, path, key, "/" + key, 0)
    if target is None:
        return None
    obj = f[target]  # every link on target is a hard link inside this file
    if isinstance(obj, h5py.Dataset):
        _own_storage(path, key, obj)
    return obj


def row_bytes(data: Any) -> int:
    """Bytes of one step of an (N, T, ...) dataset (one element of an (N,) one)."""
    return int(data.dtype.itemsize * prod(data.shape[2:]))


def check_stored(path: Path, key: str, data: Any, declared: int) -> None:
    """Refuse a dataset whose ``declared`` bytes (the part wm reads) exceed what its stored bytes can
    decode to: a shape that claims far more data than the file holds, before anything is allocated."""
    stored = int(data.id.get_storage_size())
    if declared > stored * max_expansion(data) + SLACK_BYTES:
        raise WMError(f"{path}: '{key}' claims {declared:,} bytes of data but stores {stored:,}; expected a shape "
                      "that fits the stored data (a forged or truncated file)")


def max_expansion(data: Any) -> float:
    """How many bytes one stored byte of ``data`` can decode to through its filter pipeline."""
    plist = data.id.get_create_plist()
    return prod(MAX_RATIO[plist.get_filter(i)[0]] for i in range(plist.get_nfilters()))


def _own_storage(path: Path, key: str, data: Any) -> None:
    if data.is_virtual:
        raise WMError(f"{path}: '{key}' is a virtual dataset (it maps data from other files); "
                      "expected data stored in this file")
    if data.external:
        raise WMError(f"{path}: '{key}' keeps its data in external file {data.external[0][0]!r}; "
                      "expected data stored in this file")
    if data.chunks is not None and prod(data.chunks) * data.dtype.itemsize > MAX_CHUNK_BYTES:
        raise WMError(f"{path}: '{key}' has chunks {data.chunks} of {prod(data.chunks) * data.dtype.itemsize:,} bytes; "
                      f"expected at most {MAX_CHUNK_BYTES:,} (rechunk with h5repack)")
    plist = data.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code, _, _, name = plist.get_filter(i)
        if code not in MAX_RATIO:
            named = f" ({name.decode(errors='replace')})" if name else ""
            raise WMError(f"{path}: '{key}' uses HDF5 filter {code}{named}; expected gzip, lzf or no compression "
                          "(recompress with `h5repack -f GZIP=1`)")


def _hard_path(f: Any, path: Path, key: str, link_path: str, hops: int) -> str | None:
    """``link_path`` rewritten as a path of hard links only (soft links resolved inside the file);
    None when it names nothing. External and user-defined links are refused, never followed."""
    import h5py
    from h5py import h5l

    current = "/"
    for part in (p for p in link_path.split("/") if p not in ("", ".")):
        group = f[current]
        name = part.encode()
        if not isinstance(group, h5py.Group) or not group.id.links.exists(name):
            return None
        kind = group.id.links.get_info(name).type
        if kind == h5l.TYPE_HARD:
            current = posixpath.join(current, part)
        elif kind == h5l.TYPE_SOFT:
            if hops >= MAX_SOFT_LINKS:
                raise WMError(f"{path}: '{key}' goes through more than {MAX_SOFT_LINKS} soft links; "
                              "expected a dataset")
            target = group.id.links.get_val(name).decode(errors="replace")
            resolved = _hard_path(f, path, key, posixpath.join(current, target), hops + 1)
            if resolved is None:
                return None
            current = resolved
        else:
            what = "a user-defined link"
            if kind == h5l.TYPE_EXTERNAL:
                other, _ = group.id.links.get_val(name)
                what = f"an external link to {other.decode(errors='replace')!r}"
            raise WMError(f"{path}: '{key}' is reached through {what} at '{posixpath.join(current, part)}'; "
                          "expected data stored in this file (wm reads no file it was not given)")
    return current

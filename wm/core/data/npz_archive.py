"""Arrays of untrusted .npy and .npz files, checked against the bytes that hold them before any allocation.

An array's header (shape, dtype) must be numeric and fit in the bytes that follow it: the file size
for a .npy, the member's uncompressed size for an .npz, which in turn must be reachable from its
compressed size (deflate expands at most MAX_DEFLATE_RATIO times). Rows of an .npz member are
read through the zip stream, so a window costs its own rows, not the whole file: a read that starts
where the last one stopped continues the stream, one before it restarts it.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import IO

import numpy as np

from wm.core.errors import WMError

MAX_DEFLATE_RATIO = 1032
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError)


@dataclass(frozen=True)
class Header:
    """What an .npy header declares; ``offset`` is where the data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    offset: int

    @property
    def nbytes(self) -> int:
        return prod(self.shape) * self.dtype.itemsize


def read_header(file: Path, key: str, fh: IO[bytes], available: int) -> Header:
    """The header at the start of ``fh``, refused unless numeric and its data fits in ``available`` bytes."""
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    shape, fortran, dtype = (fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0)(fh)
    header = Header(tuple(int(n) for n in shape), np.dtype(dtype), bool(fortran), fh.tell())
    if header.dtype.kind not in "biuf":
        raise WMError(f"{file}: '{key}' has dtype {header.dtype}; expected numbers")
    if header.offset + header.nbytes > available:
        raise WMError(f"{file}: '{key}' declares shape {header.shape} ({header.nbytes:,} bytes) but the file holds "
                      f"{max(available - header.offset, 0):,}; expected a shape that fits its data "
                      "(a forged or truncated file)")
    return header


def load_npy(file: Path, key: str) -> np.ndarray:
    """A whole .npy file, its header checked against the file size first."""
    try:
        with open(file, "rb") as fh:
            read_header(file, key, fh, file.stat().st_size)
        return np.load(file, allow_pickle=False)
    except READ_ERRORS as err:
        raise WMError(f"{file}: not a readable .npy file ({err}); expected numpy.save output") from None


class NpzArchive:
    """One open .npz file; ``header``, ``rows`` and ``array`` name a member without its ``.npy``."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._stream: tuple[str, IO[bytes], Header] | None = None
        try:
            self._zip = zipfile.ZipFile(file)
        except READ_ERRORS as err:
            raise WMError(f"{file}: not a readable .npz file ({err}); expected numpy.savez output") from None

    def close(self) -> None:
        self._drop()
        self._zip.close()

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, key: str) -> bool:
        return f"{key}.npy" in self._zip.NameToInfo

    def header(self, key: str) -> Header:
        """The checked header of member ``key`` (present: see ``has``)."""
        return self._open(key)[2]

    def array(self, key: str) -> np.ndarray:
        """The whole member ``key`` (at least one axis)."""
        header = self.header(key)
        if not header.shape:
            raise WMError(f"{self.file}: '{key}' is a scalar; expected an array with one row per frame")
        return self.rows(key, 0, header.shape[0])

    def rows(self, key: str, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) along the first axis of member ``key`` (Fortran-ordered members are read whole)."""
        _, fh, header = self._open(key)
        if header.fortran:
            return self._read(key, fh, header, 0, header.shape[0]).reshape(header.shape, order="F")[start:stop]
        return self._read(key, fh, header, start, stop).reshape((stop - start, *header.shape[1:]))

    def _read(self, key: str, fh: IO[bytes], header: Header, start: int, stop: int) -> np.ndarray:
        """The flat elements of rows [start, stop), continuing the stream when it is already there."""
        row = header.nbytes // max(header.shape[0], 1)
        buffer = bytearray(row * (stop - start))
        try:
            if fh.tell() != header.offset + row * start:
                fh.seek(header.offset + row * start)
            got = fh.readinto(buffer)
        except READ_ERRORS as err:
            self._drop()
            raise WMError(f"{self.file}: '{key}' could not be read ({err}); expected numpy.savez output") from None
        if got != len(buffer):
            self._drop()
            raise WMError(f"{self.file}: '{key}' ends after {got:,} of {len(buffer):,} bytes; expected a complete file")
        return np.frombuffer(buffer, dtype=header.dtype)

    def _open(self, key: str) -> tuple[str, IO[bytes], Header]:
        """The open stream of member ``key`` (the previous member's stream is closed)."""
        if self._stream is not None and self._stream[0] == key:
            return self._stream
        self._drop()
        info = self._zip.NameToInfo[f"{key}.npy"]
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise WMError(f"{self.file}: '{key}' uses zip compression method {info.compress_type}; "
                          "expected numpy.savez or savez_compressed output (stored or deflated)")
        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else MAX_DEFLATE_RATIO
        fh = self._zip.open(info)
        try:
            header = read_header(self.file, key, fh, min(info.file_size, ratio * info.compress_size))
        except BaseException as err:
            fh.close()
            if isinstance(err, READ_ERRORS):
                raise WMError(f"{self.file}: '{key}' could not be read ({err}); expected numpy.savez output") from None
            raise
        self._stream = (key, fh, header)
        return self._stream

    def _drop(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream = None

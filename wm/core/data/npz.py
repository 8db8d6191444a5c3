"""Reader for a directory of per-episode .npz files.

Each file holds ``frames`` (T,C,H,W) or (T,H,W,C), uint8 or float in [0, 255], and ``actions``
(T,) integers or (T,A) floats; optionally ``rewards`` (T,) and ``terminals`` (T,) (in every
file or in none). Files are episodes in natural name order (ep2 before ep10). Every array's header
is checked against the bytes that hold it before it is read (npz_archive); frames are read window
by window through the zip stream of one open episode, never a whole file at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from wm.core.data import checks
from wm.core.data.frames import to_uint8_chw
from wm.core.data.npz_archive import Header, NpzArchive
from wm.core.data.per_file import PerFileEpisodes, natural_key
from wm.core.errors import WMError

STEP_KEYS = ("actions", "rewards", "terminals")


class NpzEpisodes(PerFileEpisodes):
    """One episode per .npz file; the file of the last read stays open, so the next window continues its stream."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = str(self.path)
        self.files = sorted(self.path.glob("*.npz"), key=natural_key)
        self._current: tuple[int, int, NpzArchive] | None = None  # (episode, pid, archive) of the last read
        heads = [self._frames_header(f) for f in self.files]
        shape, dtype, self.layout = heads[0]
        self._first_frames = (shape, dtype)  # for storage()
        for file, (other, other_dtype, _) in zip(self.files, heads):
            if other[1:] != shape[1:] or other_dtype != dtype:
                raise WMError(f"{file}: 'frames' has shape {other} {other_dtype}; expected "
                              f"(T,{','.join(map(str, shape[1:]))}) {dtype} like {self.files[0].name}")
        self.lengths = np.array([h[0][0] for h in heads], dtype=np.int64)
        chw = shape[1:] if self.layout == "channels_first" else (shape[3], shape[1], shape[2])
        steps = self._step_arrays()
        self._set_steps(steps["actions"], steps["rewards"], steps["terminals"], chw)
        if dtype != np.uint8:
            for e in self.spread_episodes(checks.FLOAT_SAMPLE_EPISODES):
                sample = self._archive(e).rows("frames", 0, min(checks.FLOAT_SAMPLE_FRAMES, int(self.lengths[e])))
                checks.float_frame_values(self.files[e], "frames", sample)

    def _frames_header(self, file: Path) -> tuple[tuple[int, ...], np.dtype, checks.Layout]:
        with NpzArchive(file) as archive:
            if not archive.has("frames"):
                raise WMError(f"{file}: no 'frames' array; expected 'frames' and 'actions' in every .npz episode")
            header = archive.header("frames")
        shape, dtype = header.shape, header.dtype
        layout = checks.frame_layout(file, "frames", shape, lead=1)
        checks.frame_dtype(file, "frames", dtype)
        height, width = shape[2:4] if layout == "channels_first" else shape[1:3]
        checks.frame_size(file, "frames", height, width)
        if shape[0] == 0:
            raise WMError(f"{file}: 'frames' has 0 steps; expected at least one frame")
        return shape, dtype, layout

    def _step_arrays(self) -> dict[str, list[np.ndarray] | None]:
        """``actions``, ``rewards`` and ``terminals`` from every file (each file opened once); None when no
        file has the optional ones. Their headers must say one row per frame before they are read."""
        loaded = []
        for file, steps in zip(self.files, self.lengths):
            with NpzArchive(file) as archive:
                keys = [key for key in STEP_KEYS if archive.has(key)]
                for key in keys:
                    _one_per_frame(file, key, archive.header(key), int(steps))
                loaded.append({key: archive.array(key) for key in keys})
        out: dict[str, list[np.ndarray] | None] = {}
        for key in STEP_KEYS:
            present = [key in arrays for arrays in loaded]
            if all(present):
                out[key] = [arrays[key] for arrays in loaded]
            elif any(present) or key == "actions":
                expected = ("'frames' and 'actions' in every .npz episode" if key == "actions"
                            else f"'{key}' in all or no episodes")
                raise WMError(f"{self.files[present.index(False)]}: no '{key}' array; expected {expected}")
            else:
                out[key] = None
        return out

    def _archive(self, episode: int) -> NpzArchive:
        """The open file of ``episode`` in this process (the previous episode's file is closed)."""
        if self._current is None or self._current[:2] != (episode, os.getpid()):
            self.close()
            self._current = (episode, os.getpid(), NpzArchive(self.files[episode]))
        return self._current[2]

    def _frames(self, episode: int, start: int, stop: int) -> np.ndarray:
        return to_uint8_chw(self._archive(episode).rows("frames", start, stop), self.layout)

    def close(self) -> None:
        if self._current is not None and self._current[1] == os.getpid():
            self._current[2].close()
        self._current = None

    def storage(self) -> dict[str, str]:
        shape, dtype = self._first_frames
        return {"format": f"folder of {len(self.files)} .npz files", "frames": f"{shape} per file, {dtype}"}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_current"] = None
        return state


def _one_per_frame(file: Path, key: str, header: Header, steps: int) -> None:
    """A per-step array declares one row per frame (checked on its header, before it is read)."""
    if key != "actions" and header.shape != (steps,):
        raise WMError(f"{file}: '{key}' has shape {header.shape}; expected ({steps},), one per frame")
    if not header.shape or header.shape[0] != steps:
        found = header.shape[0] if header.shape else 0
        raise WMError(f"{file}: '{key}' has {found} steps; expected {steps}, one per frame")

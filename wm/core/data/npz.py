"""Reader for a directory of per-episode .npz files.

Each file holds ``frames`` (T,C,H,W) or (T,H,W,C), uint8 or float in [0, 255], and ``actions``
(T,) integers or (T,A) floats; optionally ``rewards`` (T,) and ``terminals`` (T,) (in every
file or in none). Files are episodes in natural name order (ep2 before ep10). Frame shapes are
validated from the .npy headers without loading frames; frames load one episode at a time.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from wm.core.data import checks
from wm.core.data.frames import to_uint8_chw
from wm.core.data.per_file import PerFileEpisodes, natural_key
from wm.core.errors import WMError

STEP_KEYS = ("actions", "rewards", "terminals")


def npy_header(file: Path, key: str) -> tuple[tuple[int, ...], np.dtype] | None:
    """(shape, dtype) of one array inside an .npz without reading its data; None when absent."""
    try:
        with zipfile.ZipFile(file) as archive:
            if f"{key}.npy" not in archive.namelist():
                return None
            with archive.open(f"{key}.npy") as fh:
                version = np.lib.format.read_magic(fh)
                fmt = np.lib.format
                reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                shape, _, dtype = reader(fh)
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise WMError(f"{file}: not a readable .npz file ({err}); expected numpy.savez output") from None
    return tuple(shape), dtype


class NpzEpisodes(PerFileEpisodes):
    """One episode per .npz file; the last episode's frames are kept after a read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = str(self.path)
        self.files = sorted(self.path.glob("*.npz"), key=natural_key)
        heads = [self._frames_header(f) for f in self.files]
        shape, dtype, self.layout = heads[0]
        self._first_frames = (shape, dtype)  # for storage()
        for file, (other, other_dtype, _) in zip(self.files, heads):
            if other[1:] != shape[1:] or other_dtype != dtype:
                raise WMError(f"{file}: 'frames' has shape {other} {other_dtype}; expected "
                              f"(T,{','.join(map(str, shape[1:]))}) {dtype} like {self.files[0].name}")
        self.lengths = np.array([h[0][0] for h in heads], dtype=np.int64)
        self._cache: tuple[int, np.ndarray] | None = None
        chw = shape[1:] if self.layout == "channels_first" else (shape[3], shape[1], shape[2])
        steps = self._step_arrays()
        self._set_steps(steps["actions"], steps["rewards"], steps["terminals"], chw)
        if dtype != np.uint8:
            for e in self.spread_episodes(checks.FLOAT_SAMPLE_EPISODES):
                checks.float_frame_values(self.files[e], "frames", self._stored_frames(e)[: checks.FLOAT_SAMPLE_FRAMES])

    def _frames_header(self, file: Path) -> tuple[tuple[int, ...], np.dtype, checks.Layout]:
        head = npy_header(file, "frames")
        if head is None:
            raise WMError(f"{file}: no 'frames' array; expected 'frames' and 'actions' in every .npz episode")
        shape, dtype = head
        layout = checks.frame_layout(file, "frames", shape, lead=1)
        checks.frame_dtype(file, "frames", dtype)
        if shape[0] == 0:
            raise WMError(f"{file}: 'frames' has 0 steps; expected at least one frame")
        return shape, dtype, layout

    def _step_arrays(self) -> dict[str, list[np.ndarray] | None]:
        """``actions``, ``rewards`` and ``terminals`` from every file (each file opened once); None when no
        file has the optional ones."""
        loaded = []
        for file in self.files:
            with np.load(file) as data:
                loaded.append({key: data[key] for key in STEP_KEYS if key in data.files})
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

    def _stored_frames(self, episode: int) -> np.ndarray:
        if self._cache is None or self._cache[0] != episode:
            with np.load(self.files[episode]) as data:
                self._cache = (episode, data["frames"])
        return self._cache[1]

    def _frames(self, episode: int, start: int, stop: int) -> np.ndarray:
        return to_uint8_chw(self._stored_frames(episode)[start:stop], self.layout)

    def storage(self) -> dict[str, str]:
        shape, dtype = self._first_frames
        return {"format": f"folder of {len(self.files)} .npz files", "frames": f"{shape} per file, {dtype}"}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

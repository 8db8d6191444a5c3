"""Reader for HDF5 episode files: the canonical layout written by EpisodeWriter and the other accepted ones.

Keys: ``frames`` (N,T,C,H,W) or (N,T,H,W,C), uint8 or float in [0, 255]; ``actions`` (N,T) integers
or (N,T,A) floats; optional ``lengths`` (N,), ``rewards`` (N,T), ``terminals`` (N,T), ``states``
(N,T,S) floats. Attributes ``action_names``, ``fps``, ``num_actions`` and ``source`` are used when
present. Frames stay on disk and are read window by window; the steps inside episodes of actions,
rewards, terminals and states (a few bytes per step, padding dropped) are held in memory. Every key
is opened through hdf5_guard (no other file is read) and its shape is checked against its stored
bytes before anything is allocated.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from wm.core.data import checks, hdf5_guard
from wm.core.data.dataset import EpisodeDataset, window_dict
from wm.core.data.frames import to_uint8_chw
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError

READ_BYTES = 16 << 20  # at most this much padded per-step data is read at once when opening


def _h5py() -> Any:
    import h5py

    return h5py


class Hdf5Episodes(EpisodeDataset):
    """Episodes stored as padded (N, T, ...) arrays in one HDF5 file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: Any = None
        self._frames: Any = None  # the 'frames' dataset of this process's handle
        self._pid = -1
        try:
            self._load(self._open())
        except BaseException:
            self.close()
            raise

    def _load(self, f: Any) -> None:
        frames, actions = (self._required(f, key) for key in ("frames", "actions"))
        self.layout = checks.frame_layout(self.path, "frames", frames.shape, lead=2)
        checks.frame_dtype(self.path, "frames", frames.dtype)
        n, t = frames.shape[:2]
        if n == 0 or t == 0:
            raise WMError(f"{self.path}: 'frames' has shape {frames.shape}; expected at least one episode of one step")
        channels = frames.shape[2] if self.layout == "channels_first" else frames.shape[-1]
        height, width = frames.shape[3:5] if self.layout == "channels_first" else frames.shape[2:4]
        checks.frame_size(self.path, "frames", height, width)
        checks.same_shape(self.path, "actions", actions.shape, (n, t), "N episodes and T steps of 'frames'")
        self.lengths = self._lengths(f, actions)
        self._offsets = np.concatenate([[0], np.cumsum(self.lengths)])  # episode e is steps [offsets[e], offsets[e+1])
        hdf5_guard.check_stored(self.path, "frames", frames, self.total_steps * hdf5_guard.row_bytes(frames))
        steps = self._steps(actions, "actions")
        kind = checks.action_kind(self.path, "actions", actions, lead=2, values=steps)
        self._actions = steps.astype(np.int64 if kind == "discrete" else np.float32)
        self._rewards = self._optional(f, "rewards", (n, t), np.float32)
        self._terminals = self._optional(f, "terminals", (n, t), np.bool_)
        self._states = self._optional(f, "states", (n, t), np.float32, vector=True)
        if frames.dtype != np.uint8:
            self._check_float_frames()
        attrs = f.attrs  # only the attributes wm uses are read
        names = tuple(str(x) for x in np.atleast_1d(attrs.get("action_names", [])))
        if kind == "discrete":
            used = int(self._actions.max()) + 1  # every episode has at least one step
            num_actions = int(attrs.get("num_actions", max(used, len(names))))
            checks.discrete_count(self.path, "num_actions", num_actions)
            if num_actions < used:
                raise WMError(f"{self.path}: attribute num_actions={num_actions} but 'actions' holds {used - 1}; "
                              f"expected num_actions >= {used}")
        else:
            num_actions = int(self._actions.shape[-1])
        checks.action_names(self.path, names, num_actions if kind == "discrete" else 0)
        fps = attrs.get("fps")
        self.source = str(attrs.get("source") or self.path)
        self.spec = DataSpec(
            channels=int(channels), height=int(height), width=int(width), action_kind=kind,
            num_actions=num_actions, action_names=names, has_rewards=self._rewards is not None,
            has_terminals=self._terminals is not None, fps=float(fps) if fps is not None and fps > 0 else None,
            state_size=0 if self._states is None else int(self._states.shape[1]),
        )

    def _required(self, f: Any, key: str) -> Any:
        data = hdf5_guard.dataset(f, self.path, key)
        if not isinstance(data, _h5py().Dataset):
            raise WMError(f"{self.path}: no '{key}' dataset; found keys {sorted(f.keys())}, "
                          "expected 'frames' and 'actions'")
        return data

    def _open(self) -> Any:
        """The file handle of this process (reopened after fork or unpickling)."""
        if self._file is None or self._pid != os.getpid():
            try:
                self._file = _h5py().File(self.path, "r")
            except OSError as err:
                raise WMError(f"{self.path}: not a readable HDF5 file ({err}); expected an HDF5 dataset") from None
            self._pid = os.getpid()
            self._frames = hdf5_guard.dataset(self._file, self.path, "frames")
        return self._file

    def _stored_frames(self) -> Any:
        """The 'frames' dataset of this process's handle."""
        self._open()
        return self._frames

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = self._frames = None

    def _lengths(self, f: Any, actions: Any) -> np.ndarray:
        """Steps per episode: the 'lengths' dataset, else T for every episode (checked against the
        stored 'actions' first, so that a forged N x T allocates nothing)."""
        n, t = actions.shape[:2]
        data = hdf5_guard.dataset(f, self.path, "lengths")
        if data is None:
            hdf5_guard.check_stored(self.path, "actions", actions, n * t * hdf5_guard.row_bytes(actions))
            return np.full(n, t, dtype=np.int64)
        if not isinstance(data, _h5py().Dataset) or data.shape != (n,) or not np.issubdtype(data.dtype, np.integer):
            found = f"shape {data.shape} dtype {data.dtype}" if isinstance(data, _h5py().Dataset) else "a group"
            raise WMError(f"{self.path}: 'lengths' has {found}; expected ({n},) integers (one per episode)")
        hdf5_guard.check_stored(self.path, "lengths", data, n * data.dtype.itemsize)
        lengths = data[()]
        if lengths.min() < 1 or lengths.max() > t:
            raise WMError(f"{self.path}: 'lengths' has values in [{lengths.min()}, {lengths.max()}]; "
                          f"expected values in [1, {t}] (T of 'frames')")
        return lengths.astype(np.int64)

    def _optional(
        self, f: Any, key: str, shape: tuple[int, int], dtype: type, vector: bool = False
    ) -> np.ndarray | None:
        """``key`` of shape (N, T), or with ``vector`` (N, T, S) floats, as its steps inside episodes."""
        data = hdf5_guard.dataset(f, self.path, key)
        if data is None:
            return None
        dataset = isinstance(data, _h5py().Dataset)
        if vector:
            fits = dataset and data.ndim == 3 and data.shape[:2] == shape and data.shape[2] >= 1 and \
                np.issubdtype(data.dtype, np.floating)
        else:
            fits = dataset and data.shape == shape
        if not fits:
            found = "a group" if not dataset else f"shape {data.shape}" + (f" dtype {data.dtype}" if vector else "")
            want = f"({shape[0]}, {shape[1]}, S) floats" if vector else f"{shape}"
            raise WMError(f"{self.path}: '{key}' has {found}; expected {want} like 'actions'")
        values = self._steps(data, key)
        checks.finite(self.path, key, values)
        return values.astype(dtype)

    def _steps(self, data: Any, key: str) -> np.ndarray:
        """The steps inside their episodes of an (N, T, ...) dataset, concatenated to (total_steps, ...).

        Its size is checked against the stored bytes first; episodes are read a few at a time so that
        padding past their ends is never held in memory.
        """
        if data.dtype.kind not in "biuf":
            raise WMError(f"{self.path}: '{key}' has dtype {data.dtype}; expected numbers")
        step = hdf5_guard.row_bytes(data)
        hdf5_guard.check_stored(self.path, key, data, self.total_steps * step)
        out = np.empty((self.total_steps, *data.shape[2:]), dtype=data.dtype)
        lo = 0
        while lo < self.num_episodes:
            hi, longest = lo + 1, int(self.lengths[lo])
            while hi < self.num_episodes and (hi + 1 - lo) * max(longest, self.lengths[hi]) * step <= READ_BYTES:
                longest = max(longest, int(self.lengths[hi]))
                hi += 1
            block = data[lo:hi, :longest]
            for row, episode in enumerate(range(lo, hi)):
                out[self._offsets[episode] : self._offsets[episode + 1]] = block[row, : self.lengths[episode]]
            lo = hi
        return out

    def _check_float_frames(self) -> None:
        """Finite and in [0, 255] on the first frames of a few episodes spread over the file."""
        frames = self._stored_frames()
        episodes = self.spread_episodes(checks.FLOAT_SAMPLE_EPISODES)
        sample = np.concatenate([frames[e, : min(checks.FLOAT_SAMPLE_FRAMES, int(self.lengths[e]))] for e in episodes])
        checks.float_frame_values(self.path, "frames", sample)

    def read(self, episode: int, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        start, stop = self._window(episode, start, stop)
        frames = to_uint8_chw(self._stored_frames()[episode, start:stop], self.layout)
        steps = slice(self._offsets[episode] + start, self._offsets[episode] + stop)
        rewards = None if self._rewards is None else self._rewards[steps]
        terminals = None if self._terminals is None else self._terminals[steps]
        states = None if self._states is None else self._states[steps]
        return window_dict(frames, self._actions[steps], rewards, terminals, states)

    def all_steps(self, key: str) -> np.ndarray | None:
        values = {"actions": self._actions, "rewards": self._rewards, "terminals": self._terminals,
                  "states": self._states}[key]
        if values is None:
            return None
        view = values.view()  # the reader's own array, not a copy: read-only
        view.flags.writeable = False
        return view

    def storage(self) -> dict[str, str]:
        frames = self._stored_frames()
        compression = frames.compression or "none"
        if frames.compression_opts is not None:
            compression += f" (level {frames.compression_opts})"
        layout = "N,T,C,H,W" if self.layout == "channels_first" else "N,T,H,W,C"
        return {
            "format": "HDF5",
            "frames": f"{frames.shape} {layout} {frames.dtype}",
            "chunks": str(frames.chunks or "contiguous"),
            "compression": compression,
        }

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_file"] = state["_frames"] = None
        return state

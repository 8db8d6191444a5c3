"""Reader for HDF5 episode files: the canonical layout written by EpisodeWriter and the other accepted ones.

Keys: ``frames`` (N,T,C,H,W) or (N,T,H,W,C), uint8 or float in [0, 255]; ``actions`` (N,T) integers
or (N,T,A) floats; optional ``lengths`` (N,), ``rewards`` (N,T), ``terminals`` (N,T). Attributes
``action_names``, ``fps``, ``num_actions`` and ``source`` are used when present. Frames stay on disk
and are read window by window; actions, rewards and terminals (small) are held in memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from wm.core.data import checks
from wm.core.data.dataset import EpisodeDataset, window_dict
from wm.core.data.frames import to_uint8_chw
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError


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
        for key in ("frames", "actions"):
            if key not in f or not isinstance(f[key], _h5py().Dataset):
                raise WMError(f"{self.path}: no '{key}' dataset; found keys {sorted(f.keys())}, "
                              "expected 'frames' and 'actions'")
        frames = f["frames"]
        self.layout = checks.frame_layout(self.path, "frames", frames.shape, lead=2)
        checks.frame_dtype(self.path, "frames", frames.dtype)
        n, t = frames.shape[:2]
        if n == 0 or t == 0:
            raise WMError(f"{self.path}: 'frames' has shape {frames.shape}; expected at least one episode of one step")
        self.lengths = self._lengths(f, n, t)
        actions = f["actions"][()]
        checks.same_shape(self.path, "actions", actions.shape, (n, t), "N episodes and T steps of 'frames'")
        valid = np.arange(t)[None, :] < self.lengths[:, None]  # (N, T) steps inside their episode; padding is ignored
        kind = checks.action_kind(self.path, "actions", actions, lead=2, values=actions[valid])
        self._actions = actions.astype(np.int64 if kind == "discrete" else np.float32)
        self._rewards = self._optional(f, "rewards", (n, t), np.float32, valid)
        self._terminals = self._optional(f, "terminals", (n, t), np.bool_, valid)
        if frames.dtype != np.uint8:
            self._check_float_frames()
        attrs = dict(f.attrs)
        names = tuple(str(x) for x in np.atleast_1d(attrs.get("action_names", [])))
        if kind == "discrete":
            used = int(self._actions[valid].max()) + 1  # every episode has at least one step
            num_actions = int(attrs.get("num_actions", max(used, len(names))))
            if num_actions < used:
                raise WMError(f"{self.path}: attribute num_actions={num_actions} but 'actions' holds {used - 1}; "
                              f"expected num_actions >= {used}")
        else:
            num_actions = int(self._actions.shape[-1])
        checks.action_names(self.path, names, num_actions if kind == "discrete" else 0)
        channels = frames.shape[2] if self.layout == "channels_first" else frames.shape[-1]
        height, width = frames.shape[3:5] if self.layout == "channels_first" else frames.shape[2:4]
        fps = attrs.get("fps")
        self.source = str(attrs.get("source") or self.path)
        self.spec = DataSpec(
            channels=int(channels), height=int(height), width=int(width), action_kind=kind,
            num_actions=num_actions, action_names=names, has_rewards=self._rewards is not None,
            has_terminals=self._terminals is not None, fps=float(fps) if fps is not None and fps > 0 else None,
        )

    def _open(self) -> Any:
        """The file handle of this process (reopened after fork or unpickling)."""
        if self._file is None or self._pid != os.getpid():
            try:
                self._file = _h5py().File(self.path, "r")
            except OSError as err:
                raise WMError(f"{self.path}: not a readable HDF5 file ({err}); expected an HDF5 dataset") from None
            self._pid = os.getpid()
            self._frames = self._file.get("frames")
        return self._file

    def _stored_frames(self) -> Any:
        """The 'frames' dataset of this process's handle."""
        self._open()
        return self._frames

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = self._frames = None

    def _lengths(self, f: Any, n: int, t: int) -> np.ndarray:
        if "lengths" not in f:
            return np.full(n, t, dtype=np.int64)
        lengths = f["lengths"][()]
        if lengths.shape != (n,) or not np.issubdtype(lengths.dtype, np.integer):
            raise WMError(f"{self.path}: 'lengths' has shape {lengths.shape} dtype {lengths.dtype}; "
                          f"expected ({n},) integers (one per episode)")
        if lengths.min() < 1 or lengths.max() > t:
            raise WMError(f"{self.path}: 'lengths' has values in [{lengths.min()}, {lengths.max()}]; "
                          f"expected values in [1, {t}] (T of 'frames')")
        return lengths.astype(np.int64)

    def _optional(self, f: Any, key: str, shape: tuple[int, int], dtype: type, valid: np.ndarray) -> np.ndarray | None:
        if key not in f:
            return None
        values = f[key][()]
        if values.shape != shape:
            raise WMError(f"{self.path}: '{key}' has shape {values.shape}; expected {shape} like 'actions'")
        checks.finite(self.path, key, values[valid])
        return values.astype(dtype)

    def _check_float_frames(self) -> None:
        """Finite and in [0, 255] on the first frames of a few episodes spread over the file."""
        frames = self._stored_frames()
        episodes = self.spread_episodes(checks.FLOAT_SAMPLE_EPISODES)
        sample = np.concatenate([frames[e, : min(checks.FLOAT_SAMPLE_FRAMES, int(self.lengths[e]))] for e in episodes])
        checks.float_frame_values(self.path, "frames", sample)

    def read(self, episode: int, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        start, stop = self._window(episode, start, stop)
        frames = to_uint8_chw(self._stored_frames()[episode, start:stop], self.layout)
        rewards = None if self._rewards is None else self._rewards[episode, start:stop]
        terminals = None if self._terminals is None else self._terminals[episode, start:stop]
        return window_dict(frames, self._actions[episode, start:stop], rewards, terminals)

    def all_steps(self, key: str) -> np.ndarray | None:
        values = {"actions": self._actions, "rewards": self._rewards, "terminals": self._terminals}[key]
        return None if values is None else np.concatenate([values[e, :n] for e, n in enumerate(self.lengths)])

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

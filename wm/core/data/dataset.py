"""EpisodeDataset: the one read interface over every accepted layout, and open_dataset.

Conventions of ``read``: frames uint8 (t, C, H, W) channel-first; actions int64 (t,) or
float32 (t, A); rewards float32 (t,), terminals bool (t,) and states float32 (t, S) (a per-step
vector such as a robot's joint positions, ``spec.state_size`` = S) when the data has them.
``actions[t]`` is taken at ``frames[t]`` and produces ``frames[t + 1]``; ``rewards[t]``
and ``terminals[t]`` are the outcome of that same step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from wm.core.data.spec import DataSpec
from wm.core.errors import WMError

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")


class EpisodeDataset(ABC):
    """Episodes of frames and actions, read lazily by window. Picklable (handles reopen per process)."""

    path: Path
    spec: DataSpec
    lengths: np.ndarray  # (N,) int64, steps per episode
    source: str  # where the data came from (the file's ``source`` attribute, else the path)

    @property
    def num_episodes(self) -> int:
        return len(self.lengths)

    @property
    def total_steps(self) -> int:
        return int(self.lengths.sum())

    @abstractmethod
    def read(self, episode: int, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """Steps [start, stop) of one episode (stop=None: to its end), as described in the module docstring."""

    @abstractmethod
    def all_steps(self, key: str) -> np.ndarray | None:
        """Every step's ``actions``, ``rewards``, ``terminals`` or ``states``, episodes concatenated
        (None when absent)."""

    @abstractmethod
    def storage(self) -> dict[str, str]:
        """How the data lies on disk (layout, dtype, chunks, compression), for display."""

    def close(self) -> None:
        """Release open file handles (they reopen on the next read)."""

    def spread_episodes(self, count: int) -> list[int]:
        """Up to ``count`` episode indices spread evenly over the dataset, first and last included."""
        return sorted(set(np.linspace(0, self.num_episodes - 1, count).round().astype(int).tolist()))

    def disk_bytes(self) -> int:
        if self.path.is_dir():
            return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return self.path.stat().st_size

    def _window(self, episode: int, start: int, stop: int | None) -> tuple[int, int]:
        if not 0 <= episode < self.num_episodes:
            raise IndexError(f"episode {episode} out of range [0, {self.num_episodes})")
        length = int(self.lengths[episode])
        stop = length if stop is None else stop
        if not 0 <= start <= stop <= length:
            raise IndexError(f"window [{start}, {stop}) outside episode {episode} of length {length}")
        return start, stop


def window_dict(
    frames: np.ndarray, actions: np.ndarray, rewards: np.ndarray | None, terminals: np.ndarray | None,
    states: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The dict ``read`` returns; optional entries only when present (arrays are copied)."""
    out = {"frames": frames, "actions": actions.copy()}
    for key, values in (("rewards", rewards), ("terminals", terminals), ("states", states)):
        if values is not None:
            out[key] = values.copy()
    return out


def open_dataset(path: str | Path, camera: str | list[str] | None = None) -> EpisodeDataset:
    """Open an HDF5 file (any accepted layout), a directory of per-episode .npz files or a LeRobot
    dataset (a folder or ``hf://datasets/USER/NAME``; ``camera`` picks its video features), validating it."""
    from wm.core.data.lerobot import is_lerobot, open_lerobot

    if is_lerobot(path):
        return open_lerobot(path, camera)
    path = Path(path).expanduser()
    if camera:
        raise WMError(f"{path}: a camera ({camera}) was asked for, but this is not a LeRobot dataset; "
                      "expected data.camera only with LeRobot datasets")
    if not path.exists():
        raise WMError(f"{path}: no such file or directory; expected an HDF5 file or a folder of .npz episodes")
    if path.is_dir():
        from wm.core.data.npz import NpzEpisodes

        if not any(path.glob("*.npz")):
            raise WMError(
                f"{path}: folder holds no .npz episodes; expected one .npz per episode "
                "(image folders and videos: run `wm data convert` first)"
            )
        return NpzEpisodes(path)
    from wm.core.data.hdf5 import Hdf5Episodes

    return Hdf5Episodes(path)

"""PerFileEpisodes: the shared part of layouts that keep one file (or folder) per episode.

Actions, rewards, terminals and states (small) are validated and held in memory at open; subclasses
only say how to load frames of one episode.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wm.core.data import checks
from wm.core.data.dataset import EpisodeDataset, window_dict
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError


def natural_key(path: Path) -> list[Any]:
    """Sort key that orders ep2 before ep10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


class PerFileEpisodes(EpisodeDataset):
    """Episodes stored one per file: ``files[e]`` names episode e in messages."""

    files: list[Path]
    _actions: list[np.ndarray]
    _rewards: list[np.ndarray] | None = None
    _terminals: list[np.ndarray] | None = None
    _states: list[np.ndarray] | None = None

    def _set_steps(
        self, actions: Sequence[np.ndarray], rewards: Sequence[np.ndarray] | None,
        terminals: Sequence[np.ndarray] | None, frame_shape: tuple[int, int, int], fps: float | None = None,
        states: Sequence[np.ndarray] | None = None,
    ) -> None:
        """Validate per-episode arrays against ``lengths`` and build ``spec``; frame_shape is (C, H, W),
        states are (T, S) floats."""
        kinds = set()
        for file, steps, array in zip(self.files, self.lengths, actions):
            if len(array) != steps:
                raise WMError(f"{file}: 'actions' has {len(array)} steps; expected {steps}, one per frame")
            kinds.add(checks.action_kind(file, "actions", array, lead=1))
        tails = {a.shape[1:] for a in actions}
        if len(kinds) > 1 or len(tails) > 1:
            raise WMError(f"{self.path}: episodes mix action shapes {sorted(tails)}; "
                          "expected the same in every episode")
        kind = kinds.pop()
        self._actions = [a.astype(np.int64 if kind == "discrete" else np.float32) for a in actions]
        self._rewards = self._per_step("rewards", rewards, np.float32)
        self._terminals = self._per_step("terminals", terminals, np.bool_)
        self._states = self._per_step("states", states, np.float32, vector=True)
        num_actions = max(int(a.max(initial=0)) for a in self._actions) + 1 if kind == "discrete" else tails.pop()[0]
        self.spec = DataSpec(
            channels=frame_shape[0], height=frame_shape[1], width=frame_shape[2], action_kind=kind,
            num_actions=num_actions, has_rewards=self._rewards is not None,
            has_terminals=self._terminals is not None, fps=fps,
            state_size=0 if self._states is None else self._states[0].shape[1],
        )

    def _per_step(
        self, key: str, arrays: Sequence[np.ndarray] | None, dtype: type, vector: bool = False
    ) -> list[np.ndarray] | None:
        """Each episode's ``key``: (T,) values, or with ``vector`` (T, S) with the same S in every episode."""
        if arrays is None:
            return None
        size = arrays[0].shape[1:] if vector and arrays[0].ndim == 2 else ()
        for file, steps, array in zip(self.files, self.lengths, arrays):
            if array.shape != (steps, *size) or (vector and not size):
                want = f"({steps}, {size[0] if size else 'S'})" if vector else f"({steps},)"
                raise WMError(f"{file}: '{key}' has shape {array.shape}; expected {want}, one per frame")
            checks.finite(file, key, array)
        return [a.astype(dtype) for a in arrays]

    @abstractmethod
    def _frames(self, episode: int, start: int, stop: int) -> np.ndarray:
        """uint8 (stop - start, C, H, W) frames of one episode."""

    def read(self, episode: int, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        start, stop = self._window(episode, start, stop)
        rewards = None if self._rewards is None else self._rewards[episode][start:stop]
        terminals = None if self._terminals is None else self._terminals[episode][start:stop]
        states = None if self._states is None else self._states[episode][start:stop]
        return window_dict(self._frames(episode, start, stop), self._actions[episode][start:stop], rewards, terminals,
                           states)

    def all_steps(self, key: str) -> np.ndarray | None:
        values = {"actions": self._actions, "rewards": self._rewards, "terminals": self._terminals,
                  "states": self._states}[key]
        return None if values is None else np.concatenate(values)

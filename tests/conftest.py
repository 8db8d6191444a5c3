"""Shared fixtures: small real datasets written to tmp_path in every accepted layout.

Frames come from a tiny deterministic world: a coloured square on a textured background that
the actions move (discrete: 0 stay, 1 left, 2 right, 3 up, 4 down; continuous: (dx, dy) in
[-1, 1] scaled to pixels), so frame t + 1 really depends on action t. Rewards are 1 when the
square touches the right edge; the last step of each episode is terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

Episode = dict[str, np.ndarray]
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])  # (dx, dy) per discrete action


def square_world(
    lengths: Sequence[int] = (24, 32, 40), size: int = 16, channels: int = 3, continuous: bool = False, seed: int = 0
) -> list[Episode]:
    """Episodes of frames uint8 (T, C, H, W), actions (T,) int64 or (T, 2) float32, rewards, terminals."""
    rng = np.random.default_rng(seed)
    side = max(2, size // 8)
    yy, xx = np.mgrid[0:size, 0:size]
    background = (20 + 10 * ((xx // 4 + yy // 4) % 2)).astype(np.uint8)
    colour = np.array([230, 120, 40, 200][:channels], dtype=np.uint8)
    episodes = []
    for length in lengths:
        if continuous:
            actions = rng.uniform(-1, 1, size=(length, 2)).astype(np.float32)
            moves = np.rint(actions * 2).astype(int)
        else:
            actions = rng.integers(0, len(MOVES), size=length).astype(np.int64)
            moves = MOVES[actions]
        pos = rng.integers(0, size - side, size=2)
        frames = np.empty((length, channels, size, size), dtype=np.uint8)
        rewards = np.zeros(length, dtype=np.float32)
        for t in range(length):
            frames[t] = background
            frames[t, :, pos[1] : pos[1] + side, pos[0] : pos[0] + side] = colour[:, None, None]
            pos = np.clip(pos + moves[t], 0, size - side)  # action t, taken at frame t, moves to frame t + 1
            rewards[t] = float(pos[0] == size - side)
        terminals = np.zeros(length, dtype=bool)
        terminals[-1] = True
        episodes.append({"frames": frames, "actions": actions, "rewards": rewards, "terminals": terminals})
    return episodes


def write_padded_h5(
    path: Path, episodes: list[Episode], *, channels_last: bool = False, float_frames: bool = False,
    lengths: bool = True, keys: Sequence[str] = ("rewards", "terminals"), attrs: dict[str, Any] | None = None,
) -> Path:
    """A non-canonical HDF5 file: padded (N, T, ...) arrays, contiguous, in the layout asked for."""
    tmax = max(len(e["actions"]) for e in episodes)

    def padded(key: str) -> np.ndarray:
        first = episodes[0][key]
        out = np.zeros((len(episodes), tmax, *first.shape[1:]), dtype=first.dtype)
        for i, e in enumerate(episodes):
            out[i, : len(e[key])] = e[key]
        return out

    frames = padded("frames")
    if channels_last:
        frames = frames.transpose(0, 1, 3, 4, 2)
    with h5py.File(path, "w") as f:
        f["frames"] = frames.astype(np.float32) if float_frames else frames
        f["actions"] = padded("actions")
        for key in keys:
            f[key] = padded(key)
        if lengths:
            f["lengths"] = np.array([len(e["actions"]) for e in episodes])
        f.attrs.update(attrs or {})
    return path


def write_npz_dir(folder: Path, episodes: list[Episode], *, channels_last: bool = False,
                  keys: Sequence[str] = ("rewards", "terminals")) -> Path:
    """One ep<i>.npz per episode (compressed), numbered so that natural order matters (ep2 < ep10)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, e in enumerate(episodes):
        frames = e["frames"].transpose(0, 2, 3, 1) if channels_last else e["frames"]
        np.savez_compressed(folder / f"ep{i}.npz", frames=frames, actions=e["actions"], **{k: e[k] for k in keys})
    return folder


def write_canonical(path: Path, episodes: list[Episode], **spec_fields: Any) -> Path:
    """The canonical file, written by EpisodeWriter."""
    from wm.core.data import DataSpec, EpisodeWriter

    first = episodes[0]
    continuous = first["actions"].ndim == 2
    spec = DataSpec(
        channels=first["frames"].shape[1], height=first["frames"].shape[2], width=first["frames"].shape[3],
        action_kind="continuous" if continuous else "discrete",
        num_actions=first["actions"].shape[1] if continuous else len(MOVES),
        has_rewards=True, has_terminals=True, **spec_fields,
    )
    with EpisodeWriter(path, spec, source="square world") as writer:
        for e in episodes:
            writer.add_episode(e["frames"], e["actions"], e["rewards"], e["terminals"])
    return path


@pytest.fixture
def make_dataset(tmp_path: Path) -> Callable[..., Path]:
    """make_dataset(name, lengths=(24, 32, 40), size=16, continuous=False, **spec_fields) -> canonical HDF5 path."""

    def make(name: str = "data.h5", lengths: Sequence[int] = (24, 32, 40), size: int = 16,
             continuous: bool = False, seed: int = 0, **spec_fields: Any) -> Path:
        episodes = square_world(lengths, size=size, continuous=continuous, seed=seed)
        return write_canonical(tmp_path / name, episodes, **spec_fields)

    return make


@pytest.fixture
def tiny_dataset(make_dataset: Callable[..., Path]) -> Path:
    """4 episodes of 32..48 steps of 64x64 RGB frames, 5 discrete actions, rewards and terminals."""
    return make_dataset("tiny.h5", lengths=(32, 40, 48, 36), size=64,
                        action_names=("NOOP", "LEFT", "RIGHT", "UP", "DOWN"), fps=15.0)

"""The square world for imagination tests: data, a model that predicts it exactly, a trained model.

3x16x16 frames, a 4x4 coloured square on black that actions move one pixel (with wrap-around).
``ShiftModel`` predicts it exactly, so tests can check that actions reach the model and that
frames line up; ``train_tiny`` trains a real tiny ``WorldModel`` on it for a few steps and
saves a real checkpoint. Used by tests/core/imagine and tests/cli/test_rollout_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import torch

from wm.core.checkpoint import Checkpoint, save_checkpoint
from wm.core.config import config_to_dict
from wm.core.config.schema import Config, ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.models.base import Imagined, WorldModelBase

NAMES = ("NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN")
SHIFTS = {2: (-1, 0), 3: (0, 1), 4: (0, -1), 5: (1, 0)}  # action -> (rows, columns)
SPEC = DataSpec(channels=3, height=16, width=16, num_actions=len(NAMES), action_names=NAMES, fps=15.0)
TINY = ModelConfig(size="xs", depth=4, deter=32, hidden=32, stoch=4, classes=4)


def move(frame: np.ndarray, action: int) -> np.ndarray:
    """The square world's dynamics on one frame (C, H, W)."""
    rows, columns = SHIFTS.get(int(action), (0, 0))
    return np.roll(frame, (rows, columns), axis=(-2, -1))


def square_episode(rng: np.random.Generator, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames uint8 (length, 3, 16, 16) and actions int64 (length,) of one episode."""
    frame = np.zeros((3, 16, 16), dtype=np.uint8)
    top, left = rng.integers(0, 12, size=2)
    frame[:, top : top + 4, left : left + 4] = rng.integers(80, 256, size=(3, 1, 1))
    actions = rng.integers(0, len(NAMES), size=length)
    frames = [frame]
    for action in actions[:-1]:
        frames.append(move(frames[-1], action))
    return np.stack(frames), actions.astype(np.int64)


def write_episodes(path: Path, pairs: list[tuple[np.ndarray, np.ndarray]], names: tuple[str, ...]) -> Path:
    """A real HDF5 dataset in the canonical (N, T, C, H, W) layout from equal-length (frames, actions) pairs."""
    with h5py.File(path, "w") as f:
        f["frames"] = np.stack([p[0] for p in pairs])
        f["actions"] = np.stack([p[1] for p in pairs])
        f.attrs["action_names"] = list(names)
        f.attrs["fps"] = 15.0
    return path


def write_square_data(path: Path, episodes: int, length: int, seed: int = 0) -> Path:
    """A real HDF5 dataset of the square world."""
    rng = np.random.default_rng(seed)
    return write_episodes(path, [square_episode(rng, length) for _ in range(episodes)], NAMES)


class ShiftModel(WorldModelBase):
    """Predicts the square world exactly: the state is the current frame in [0, 1].

    The reward head pays 1 for FIRE; the continue head says stop (0) after DOWN.
    """

    def __init__(self, spec: DataSpec = SPEC) -> None:
        super().__init__(ModelConfig(), spec)
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.seen: list[torch.Tensor] = []  # every action batch imagine received

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        frames = batch["frames"].float() / 255
        state = frames[:, 0]
        predicted = self.imagine(state, batch["actions"][:, :-1]).frames
        loss = ((predicted * self.scale - frames[:, 1:]) ** 2).mean()
        return loss, {"recon": loss.detach()}

    def observe(self, frames: torch.Tensor, actions: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
        return frames[:, -1].float() / 255

    def imagine(self, state: torch.Tensor, actions: torch.Tensor, decode: bool = True) -> Imagined:
        self.seen.append(actions.clone())
        out = []
        for t in range(actions.shape[1]):
            state = torch.stack([torch.roll(s, SHIFTS.get(int(a), (0, 0)), dims=(-2, -1)) for s, a in zip(state, actions[:, t])])
            out.append(state)
        frames = torch.stack(out, 1)
        return Imagined(state, frames if decode else None, (actions == 1).float(), (actions != 5).float())

    def decode(self, state: torch.Tensor) -> torch.Tensor:
        return state

    def module_names(self) -> list[str]:
        return []


def train_tiny(data: Path, path: Path, steps: int = 20) -> Path:
    """Train a tiny real WorldModel on square-world ``data`` and save it (3 context clips of 4 frames)."""
    from wm.core.models.world_model import WorldModel

    torch.manual_seed(0)
    with h5py.File(data) as f:
        frames, actions = torch.from_numpy(f["frames"][()]), torch.from_numpy(f["actions"][()])
    model = WorldModel(TINY, SPEC)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains faster on one thread, and a busy machine hurts less
    try:
        for step in range(steps):  # batches of 4 episodes x 10 steps
            rows, start = slice(4 * (step % 2), 4 * (step % 2) + 4), step % (frames.shape[1] - 10)
            batch = {"frames": frames[rows, start : start + 10], "actions": actions[rows, start : start + 10]}
            loss, _ = model.loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    config = Config(model=TINY)
    config.data.context_len = 4
    context = {"frames": frames[:3, :4].clone(), "actions": actions[:3, :4].clone()}
    return save_checkpoint(path, Checkpoint(config_to_dict(config), SPEC, model.state_dict(), context))

"""The state world, for tests of the state vector: a sprite whose position is the state, and a run trained on it.

1x16x16 frames of a 4x4 sprite on black that the 5 actions (noop, up, down, left, right) move 2
pixels. Each step's state vector is (row, 1000 x column, 5): the position the frame shows, on very
different scales, and a constant. Written as a real HDF5 file by ``EpisodeWriter``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wm.core.data.spec import DataSpec
from wm.core.data.writer import EpisodeWriter

SIZE, SPRITE, SPEED = 16, 4, 2
MOVES = {0: (0, 0), 1: (-SPEED, 0), 2: (SPEED, 0), 3: (0, -SPEED), 4: (0, SPEED)}  # action -> (rows, columns)
NAMES = ("NOOP", "UP", "DOWN", "LEFT", "RIGHT")
STATE_SIZE = 3


def state_of(y: int, x: int) -> np.ndarray:
    return np.array([y, 1000.0 * x, 5.0], np.float32)


def state_episode(rng: np.random.Generator, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames uint8 (length, 1, 16, 16), actions int64 (length,) and states float32 (length, 3)."""
    y, x = (int(v) for v in rng.integers(0, SIZE - SPRITE + 1, 2))
    frames, actions, states = [], [], []
    for _ in range(length):
        frame = np.zeros((1, SIZE, SIZE), np.uint8)
        frame[:, y : y + SPRITE, x : x + SPRITE] = 230
        frames.append(frame)
        states.append(state_of(y, x))
        action = int(rng.integers(len(NAMES)))
        actions.append(action)
        dy, dx = MOVES[action]
        y, x = int(np.clip(y + dy, 0, SIZE - SPRITE)), int(np.clip(x + dx, 0, SIZE - SPRITE))
    return np.stack(frames), np.array(actions, np.int64), np.stack(states)


def write_state_world(path: Path, episodes: int, length: int, seed: int, *, state_size: int = STATE_SIZE) -> Path:
    """A canonical HDF5 file of the state world; ``state_size`` 0 leaves the states out, other sizes
    keep the first ``state_size`` values (repeated when larger)."""
    rng = np.random.default_rng(seed)
    spec = DataSpec(channels=1, height=SIZE, width=SIZE, num_actions=len(NAMES), action_names=NAMES,
                    fps=15.0, state_size=state_size)  # fmt: skip
    with EpisodeWriter(path, spec, source="state world") as writer:
        for _ in range(episodes):
            frames, actions, states = state_episode(rng, length)
            kept = np.resize(states, (length, state_size)) if state_size else None
            writer.add_episode(frames, actions, states=kept)
    return path


def state_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run folder, its data) of a tiny RSSM trained 40 steps on 8 episodes (the last one held out),
    evaluated at the end; trained once per test session, whichever module asks first."""
    from wm.core.config import load_config
    from wm.core.training import Trainer

    work = tmp_path_factory.getbasetemp() / "state_world"
    data, run = work / "train.h5", work / "run"
    if (run / "checkpoints" / "final.pt").is_file():
        return run, data
    work.mkdir()
    write_state_world(data, episodes=8, length=24, seed=0)
    config = load_config(["default"], [
        "model.size=xs", "model.depth=4", "model.deter=32", "model.hidden=32", "model.stoch=4", "model.classes=4",
        f"data.path={data}", f"data.image_size={SIZE}", "data.holdout_episodes=1", "data.context_clips=2",
        "data.context_len=3", f"run.dir={work}", "run.name=run", "train.epochs=1", "train.steps_per_epoch=40",
        "train.batch_size=4", "train.seq_len=8", "train.lr=3e-3", "train.warmup_steps=0", "train.log_every=1",
        "train.sample_steps=4", "train.device=cpu", "train.precision=fp32", "seed=0",
    ])  # fmt: skip
    Trainer(config).fit()
    return run, data

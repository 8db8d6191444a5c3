"""The action path, proven end to end: a sprite that the actions move, learned by a tiny real model.

A few hundred frames of a 16x16 world are written to HDF5, trained on with the real Trainer (data
reader, sampler, loss, optimizer) and imagined with the real engine. An action fed one step off,
dropped, or drowned by the static background would leave the imagined sprite where it is: the
per-action futures must move it the right way, and true actions must beat shuffled ones by a
wide margin on the pixels that move. No loss curve shows such a fault.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from tests.core.imagine.squares import write_episodes
from wm.core.config import load_config
from wm.core.imagine.engine import ImaginationEngine
from wm.core.imagine.evaluate import evaluate
from wm.core.loading import load_model
from wm.core.training import Trainer

SIZE, SPRITE, SPEED = 16, 4, 2
NAMES = ("NOOP", "UP", "DOWN", "LEFT", "RIGHT")
MOVES = {0: (0, 0), 1: (-SPEED, 0), 2: (SPEED, 0), 3: (0, -SPEED), 4: (0, SPEED)}  # action -> (rows, columns)
STEPS = 500  # optimizer steps of 8 x 16 frames


def sprite_episode(rng: np.random.Generator, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames uint8 (length, 3, 16, 16) of a bright square on black and the actions (length,) moving it."""
    y, x = (int(v) for v in rng.integers(0, SIZE - SPRITE + 1, 2))
    frames, actions = [], []
    for _ in range(length):
        frame = np.zeros((3, SIZE, SIZE), np.uint8)
        frame[:, y : y + SPRITE, x : x + SPRITE] = 220
        frames.append(frame)
        action = int(rng.integers(len(NAMES)))  # a new key every step: shuffled actions really differ
        actions.append(action)
        dy, dx = MOVES[action]
        y, x = int(np.clip(y + dy, 0, SIZE - SPRITE)), int(np.clip(x + dx, 0, SIZE - SPRITE))
    return np.stack(frames), np.array(actions, np.int64)


def write_sprites(path: Path, episodes: int, length: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    return write_episodes(path, [sprite_episode(rng, length) for _ in range(episodes)], NAMES)


def centroid(frame: torch.Tensor) -> torch.Tensor:
    """Brightness-weighted (row, column) of a frame (C, H, W) in [0, 1]."""
    weight = frame.mean(0)
    grid = torch.arange(SIZE, dtype=torch.float32)
    return torch.stack([(weight.sum(1) * grid).sum(), (weight.sum(0) * grid).sum()]) / weight.sum()


@pytest.fixture(scope="module")
def sprite_model(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("sprites")
    data = write_sprites(work / "train.h5", episodes=24, length=40, seed=0)
    config = load_config(["default"], [
        "model.size=xs", "model.depth=8", "model.deter=64", "model.hidden=64", "model.stoch=8", "model.classes=8",
        f"data.path={data}", f"data.image_size={SIZE}", "data.holdout_episodes=0", "data.context_clips=1",
        "data.context_len=4", f"run.dir={work}", "run.name=run", "train.epochs=1", f"train.steps_per_epoch={STEPS}",
        "train.batch_size=8", "train.seq_len=16", "train.lr=1e-3", "train.warmup_steps=0", "train.log_every=50",
        "train.eval_at_end=false", "train.device=cpu", "seed=0",
    ])  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest, and a busy CI machine hurts less
    try:
        Trainer(config).fit()
    finally:
        torch.set_num_threads(threads)
    model, _ = load_model(str(work / "run"))
    return model, write_sprites(work / "heldout.h5", episodes=16, length=40, seed=1)


def test_true_actions_beat_shuffled_ones_on_the_moving_pixels(sprite_model) -> None:
    model, heldout = sprite_model
    # the window's 4 recorded actions are shuffled, so horizons 1 and 2 see other keys than the true ones
    report = evaluate(model, heldout, context=4, horizons=[1, 2, 4], episodes=64, seed=0, spread_steps=0)
    low = report.series("action_gap", "moving_psnr", "low")[:2]
    gap = report.series("action_gap", "moving_psnr")[:2]
    assert min(low) > 0 and min(gap) > 1.5, f"action gap {gap} dB at horizons 1, 2; interval lows {low}"


def test_each_action_moves_the_sprite_its_own_way(sprite_model) -> None:
    model, heldout = sprite_model
    with h5py.File(heldout) as f:
        frames, actions = torch.from_numpy(f["frames"][:8, :4]), f["actions"][:8, :3]
    engine = ImaginationEngine(model)
    ends = {}
    for action, name in enumerate(NAMES):
        torch.manual_seed(0)
        engine.reset(frames, actions)
        held = np.full((len(frames), 3), action)
        ends[name] = torch.stack([centroid(f) for f in engine.rollout(held)[:, -1]])  # (8, 2) after 3 steps
    start = torch.stack([centroid(f.float() / 255) for f in frames[:, -1]])
    assert (ends["UP"][:, 0] < ends["DOWN"][:, 0] - 1).float().mean() > 0.7, (ends["UP"], ends["DOWN"])
    assert (ends["LEFT"][:, 1] < ends["RIGHT"][:, 1] - 1).float().mean() > 0.7, (ends["LEFT"], ends["RIGHT"])
    assert (ends["NOOP"] - start).norm(dim=1).median() < 1.5  # no key, no move

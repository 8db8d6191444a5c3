"""A tiny real RSSM checkpoint as the trainer writes one: weights, context clips, AdamW state, RNG."""

from __future__ import annotations

from pathlib import Path

import torch

from wm.core.checkpoint import Checkpoint
from wm.core.config import config_to_dict, load_config
from wm.core.data.spec import DataSpec
from wm.core.models import build_model
from wm.core.training.rng import capture_rng

SPEC = DataSpec(3, 16, 16, "discrete", 3, ("stay", "left", "right"), fps=8.0)
TINY = ["model.depth=4", "model.deter=16", "model.hidden=16", "model.stoch=4", "model.classes=4", "data.image_size=16"]


def moving_squares(clips: int, length: int, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames uint8 (K, T, 3, size, size) of a bright square moving by the action taken (0 stay, 1 left, 2 right)."""
    generator = torch.Generator().manual_seed(0)
    actions = torch.randint(0, 3, (clips, length), generator=generator)
    frames = torch.zeros(clips, length, 3, size, size, dtype=torch.uint8)
    for k in range(clips):
        x = 6
        for t in range(length):
            frames[k, t, k % 3, 6:10, x : x + 4] = 255
            x = min(max(x + (0, -2, 2)[int(actions[k, t])], 0), size - 4)
    return frames, actions


def tiny_checkpoint() -> Checkpoint:
    """A checkpoint as the trainer writes one, after two real AdamW steps on a tiny RSSM."""
    config = load_config(["debug"], TINY)
    torch.manual_seed(0)
    model = build_model(config.model, SPEC)
    frames, actions = moving_squares(2, 6)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(2):
        loss, _ = model.loss({"frames": frames, "actions": actions})
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    training = {"step": 2, "epoch": 1, "optimizer": optimizer.state_dict(), "rng": capture_rng()}
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    context = {"frames": frames[:, :4].clone(), "actions": actions[:, :4].clone()}
    return Checkpoint(config_to_dict(config), SPEC, weights, context, training)


def write_squares_dataset(path: Path, episodes: int = 4, length: int = 24) -> Path:
    """A canonical HDF5 dataset of ``moving_squares`` episodes (16x16 RGB, 3 named discrete actions)."""
    from wm.core.data import EpisodeWriter

    frames, actions = moving_squares(episodes, length)
    with EpisodeWriter(path, SPEC, source="moving squares") as writer:
        for k in range(episodes):
            writer.add_episode(frames[k].numpy(), actions[k].numpy())
    return path


def train_tiny_run(data: Path, runs: Path, name: str) -> Path:
    """A real run of the Trainer on ``data`` (2 steps, evaluation at the end): runs/NAME."""
    from wm.core.training import Trainer

    overrides = [
        *TINY, f"data.path={data}", "data.context_clips=2", "data.context_len=3", f"run.dir={runs}", f"run.name={name}",
        "train.epochs=1", "train.steps_per_epoch=2", "train.batch_size=2", "train.seq_len=6", "train.log_every=1",
        "train.warmup_steps=1", "train.sample_steps=2", "train.device=cpu",
    ]  # fmt: skip
    Trainer(load_config(["default"], overrides)).fit()
    return runs / name

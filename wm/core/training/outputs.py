"""What a run shows besides its metrics: sample GIFs and the end-of-training evaluation.

Both run on rank 0 with the training random streams saved and put back, so that writing a
sample never changes what the next training step draws (exact resume depends on it).
"""

from __future__ import annotations

from pathlib import Path

import torch

from wm.core.config import Config
from wm.core.models.base import WorldModelBase
from wm.core.training.data import TrainingData
from wm.core.training.rng import preserved_rng

EVAL_WINDOWS = 64  # held-out windows scored at the end of training


def write_sample(model: WorldModelBase, clips: dict[str, torch.Tensor], steps: int, path: Path) -> Path:
    """A GIF of the context clips followed by ``steps`` imagined frames (see ``save_sample``)."""
    from wm.core.imagine.samples import save_sample

    with preserved_rng():
        return save_sample(model, clips, steps, path)


def evaluate_holdout(
    model: WorldModelBase, data: TrainingData, config: Config, device: torch.device
) -> dict[str, float]:
    """Open-loop imagination figures on held-out windows, flat: ``{"model/psnr@1": ..., "model/psnr_low@1": ...,
    "action_gap/moving_psnr@8": ..., "windows": 64, ...}`` (see ``wm.core.imagine.report.flatten``).

    Context ``data.context_len`` frames, horizons 1 and ``train.sample_steps`` (the spread holds each
    action that long); the baselines ``copy_last`` and ``shuffled_actions`` come with it, the moving
    pixels, the action gap and spread too (see ``wm.core.imagine.evaluate``).
    """
    from wm.core.imagine.evaluate import evaluate

    was_training = model.training
    with preserved_rng():
        report = evaluate(
            model, data.path, context=config.data.context_len, horizons=data.eval_horizons(config),
            episodes=EVAL_WINDOWS, seed=config.seed, episode_indices=data.holdout_episodes, device=device,
            camera=data.camera,
        )  # fmt: skip
    model.train(was_training)
    return report.flat()

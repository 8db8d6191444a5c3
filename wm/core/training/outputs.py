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

EVAL_WINDOWS = 16  # held-out windows scored at the end of training


def write_sample(model: WorldModelBase, clips: dict[str, torch.Tensor], steps: int, path: Path) -> Path:
    """A GIF of the context clips followed by ``steps`` imagined frames (see ``save_sample``)."""
    from wm.core.imagine.samples import save_sample

    with preserved_rng():
        return save_sample(model, clips, steps, path)


def evaluate_holdout(
    model: WorldModelBase, data: TrainingData, config: Config, device: torch.device
) -> dict[str, float]:
    """Open-loop imagination scores on held-out windows: ``{"model/psnr@1": ..., "copy_last/mse@8": ...}``.

    Context ``data.context_len`` frames, horizons 1 and ``train.sample_steps``; the baselines
    ``copy_last`` and ``shuffled_actions`` come with it (see ``wm.core.imagine.evaluate``).
    """
    from wm.core.imagine.evaluate import METRICS, evaluate

    was_training = model.training
    with preserved_rng():
        report = evaluate(
            model, data.path, context=config.data.context_len, horizons=data.eval_horizons(config),
            episodes=EVAL_WINDOWS, seed=config.seed, episode_indices=data.holdout_episodes, device=device,
        )  # fmt: skip
    model.train(was_training)
    return {f"{row['method']}/{m}@{row['horizon']}": row[m] for row in report.rows() for m in METRICS}

"""Open-loop evaluation: observe C frames, imagine H with the recorded actions, score against the truth.

Every window is scored three ways, so the model's numbers have something to stand against:
- ``model``: the model imagining with the recorded actions;
- ``copy_last``: the last context frame repeated (a model that predicts no change);
- ``shuffled_actions``: the model imagining with the window's recorded actions in a random
  order (same context); its gap to ``model`` measures how much the model listens to actions.

Metrics per horizon h (the h-th imagined frame): MSE, PSNR (dB, capped at 100 for identical
frames) and SSIM, from torchmetrics with data_range 1.0 on frames in [0, 1], averaged over
the windows. Windows are drawn reproducibly from ``seed``: the eligible episodes in a random
order, cycled, one window at a random start each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wm.core.errors import WMError
from wm.core.imagine.context import check_compatible, read_window
from wm.core.imagine.engine import ImaginationEngine
from wm.core.files import atomic_path
from wm.core.models.base import WorldModelBase

METHODS = ("model", "copy_last", "shuffled_actions")
METRICS = ("mse", "psnr", "ssim")
PSNR_CAP = 100.0
LINES = {"model": "-", "copy_last": ":", "shuffled_actions": "--"}  # overlapping lines stay visible
BATCH = 8  # windows imagined together


@dataclass
class EvalReport:
    """Scores per method, metric and horizon (``scores[method][metric][i]`` is for ``horizons[i]``)."""

    model: str
    dataset: str
    context: int
    horizons: list[int]
    seed: int
    windows: list[tuple[int, int]]  # (episode, start frame) of each window
    scores: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One row per method and horizon: {"method", "horizon", "mse", "psnr", "ssim"}."""
        return [
            {"method": method, "horizon": horizon, **{m: self.scores[method][m][i] for m in METRICS}}
            for method in METHODS
            for i, horizon in enumerate(self.horizons)
        ]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document `wm eval --json` writes (schema "wm-eval" version 1)."""
        return {
            "format": "wm-eval",
            "version": 1,
            "model": self.model,
            "dataset": self.dataset,
            "context": self.context,
            "horizons": list(self.horizons),
            "seed": self.seed,
            "num_windows": len(self.windows),
            "windows": [{"episode": e, "start": s} for e, s in self.windows],
            "methods": list(METHODS),
            "metrics": list(METRICS),
            "results": self.rows(),
        }


def evaluate(
    model: WorldModelBase,
    dataset_path: str | Path,
    *,
    context: int,
    horizons: list[int],
    episodes: int,
    seed: int,
    episode_indices: list[int] | None = None,
    device: str | torch.device = "cpu",
) -> EvalReport:
    """Score ``episodes`` windows of ``dataset_path`` (restricted to ``episode_indices`` when given)."""
    from wm.core.data.dataset import open_dataset

    if context < 1 or episodes < 1 or not horizons or min(horizons) < 1:
        raise WMError(
            f"eval: expected --context >= 1, --episodes >= 1 and horizons >= 1, "
            f"found context {context}, episodes {episodes}, horizons {horizons}"
        )
    horizons = sorted(set(horizons))
    dataset = open_dataset(dataset_path)
    check_compatible(dataset.spec, model.spec, dataset_path)
    rng = np.random.default_rng(seed)
    need = context + horizons[-1]  # frames per window
    windows = choose_windows(dataset.lengths, need, episodes, rng, episode_indices, dataset_path)
    engine = ImaginationEngine(model, device)
    sums = {method: {metric: np.zeros(len(horizons)) for metric in METRICS} for method in METHODS}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for first in range(0, len(windows), BATCH):
            batch = [read_window(dataset, model.spec, e, s, s + need) for e, s in windows[first : first + BATCH]]
            for method, predictions, truth in _predict(engine, batch, context, horizons, rng):
                for metric, values in frame_scores(predictions, truth).items():
                    sums[method][metric] += values.sum(0)
    scores = {method: {m: (sums[method][m] / len(windows)).tolist() for m in METRICS} for method in METHODS}
    return EvalReport(type(model).__name__, str(dataset_path), context, horizons, seed, windows, scores)


def choose_windows(
    lengths: np.ndarray,
    need: int,
    count: int,
    rng: np.random.Generator,
    episode_indices: list[int] | None,
    path: str | Path,
) -> list[tuple[int, int]]:
    """``count`` windows (episode, start) of ``need`` frames: eligible episodes shuffled and cycled."""
    candidates = range(len(lengths)) if episode_indices is None else episode_indices
    eligible = [int(e) for e in candidates if 0 <= e < len(lengths) and lengths[e] >= need]
    if not eligible:
        longest = max((int(lengths[e]) for e in candidates if 0 <= e < len(lengths)), default=0)
        raise WMError(
            f"{path}: no episode has the {need} frames a window needs (context + largest horizon); "
            f"the longest has {longest}. Lower --context or --horizons"
        )
    order = rng.permutation(eligible)
    picked = [int(order[i % len(order)]) for i in range(count)]
    return [(e, int(rng.integers(0, lengths[e] - need + 1))) for e in picked]


def _predict(
    engine: ImaginationEngine,
    batch: list[dict[str, np.ndarray]],
    context: int,
    horizons: list[int],
    rng: np.random.Generator,
) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(method, predictions (B, len(horizons), C, H, W), truth of the same shape) for each method."""
    frames = torch.from_numpy(np.stack([w["frames"] for w in batch]))
    actions = np.stack([w["actions"] for w in batch])
    future = actions[:, context - 1 : context - 1 + horizons[-1]]
    shuffled = np.stack([row[rng.permutation(len(row))] for row in future])
    count = len(batch)
    # true and shuffled actions share one pass: the context is observed twice, side by side
    engine.reset(frames[:, :context].repeat(2, 1, 1, 1, 1), np.concatenate([actions[:, : context - 1]] * 2))
    imagined = engine.rollout(np.concatenate([future, shuffled])).cpu()
    at = torch.tensor(horizons) - 1
    truth = frames[:, context:][:, at].float() / 255
    copy = (frames[:, context - 1].float() / 255)[:, None].expand_as(truth)
    return [
        ("model", imagined[:count, at], truth),
        ("copy_last", copy, truth),
        ("shuffled_actions", imagined[count:, at], truth),
    ]


def frame_scores(predictions: torch.Tensor, truth: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-window scores (B, K) of frames (B, K, C, H, W) in [0, 1]: MSE, PSNR, SSIM."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    shape = predictions.shape[:2]
    flat_pred = predictions.reshape(-1, *predictions.shape[2:]).float().clamp(0, 1)
    flat_true = truth.reshape(-1, *truth.shape[2:]).float()
    mse = ((flat_pred - flat_true) ** 2).mean(dim=(1, 2, 3))
    psnr = peak_signal_noise_ratio(flat_pred, flat_true, data_range=1.0, reduction="none", dim=(1, 2, 3))
    ssim = structural_similarity_index_measure(flat_pred, flat_true, data_range=1.0, reduction="none")
    return {
        "mse": mse.reshape(shape).numpy(),
        "psnr": psnr.clamp(max=PSNR_CAP).reshape(shape).numpy(),
        "ssim": ssim.reshape(shape).numpy(),
    }


def save_json(report: EvalReport, path: str | Path) -> Path:
    """Write ``report.to_dict()`` as indented JSON (atomic write)."""
    with atomic_path(path, ".json") as tmp:
        tmp.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return Path(path)


def plot_report(report: EvalReport, path: str | Path) -> Path:
    """A PNG with one panel per metric: score vs horizon, one line per method (atomic write)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4 * len(METRICS), 3.2), constrained_layout=True)
    axes = figure.subplots(1, len(METRICS))
    for axis, metric in zip(axes, METRICS):
        for method in METHODS:
            axis.plot(report.horizons, report.scores[method][metric], LINES[method], marker="o", label=method)
        axis.set_title(metric.upper())
        axis.set_xlabel("horizon (imagined steps)")
        axis.grid(alpha=0.3)
    axes[0].legend()
    where = f"{report.model} on {Path(report.dataset).name}"
    figure.suptitle(f"{where}: context {report.context}, {len(report.windows)} windows")
    with atomic_path(path, ".png") as tmp:
        figure.savefig(tmp, dpi=100)
    return Path(path)

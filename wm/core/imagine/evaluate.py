"""Open-loop evaluation: observe C frames, imagine H with the recorded actions, score against the truth.

Every window is scored three ways, so the model's numbers have something to stand against:
- ``model``: the model imagining with the recorded actions;
- ``copy_last``: the last context frame repeated (a model that predicts no change);
- ``shuffled_actions``: the model imagining with the window's recorded actions in a random
  order (same context); its gap to ``model`` measures how much the model listens to actions.

Figures per horizon h (the h-th imagined frame), frames in [0, 1], for each method:
- ``mse``: squared error pooled over windows and pixel values (the mean of the windows' MSEs);
  ``psnr`` = 10 log10(1 / mse) of that pooled MSE (100 dB for an error of exactly 0), never a
  mean of per-frame PSNRs, which windows where nothing changes would dominate;
- ``moving_mse`` / ``moving_psnr``: the same over the *moving pixels* only, the pixels where the
  true frame h differs from the last context frame in any channel (exact: frames are uint8), all
  channels of them; pooled: squared errors summed over every window's moving pixels / the number
  of their pixel values. Copy-last is wrong exactly there. NaN (JSON null) when nothing moves;
- ``ssim``: mean over windows (torchmetrics, data_range 1);
- ``state_mse`` (when the model reads and predicts a state vector, ``spec.state_size`` > 0): the
  squared error of the predicted state vector at step h, each dimension divided by the standard
  deviation of the training data's states (the model's ``state_norm``), pooled over windows and
  values; copy-last repeats the last context step's recorded state.
Beside them (as method/metric): ``truth/moving_fraction`` (the share of pixels that move) and
``truth/change`` (mean |frame h - last context frame|: the true change, to read the spread
against); ``action_gap/moving_psnr`` (model minus shuffled_actions, dB); ``action_spread`` and
``sampling_spread`` ``mean_abs`` at horizons up to ``spread_steps`` (see ``spread.py``).
Every figure has a 95% percentile-bootstrap interval over windows (see ``stats.py``).

Windows are drawn reproducibly from ``seed``: the eligible episodes in a random order, cycled,
one window at a random start each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from wm.core.errors import WMError
from wm.core.imagine.context import check_compatible, read_window
from wm.core.imagine.engine import ImaginationEngine
from wm.core.imagine.report import METHODS, EvalReport
from wm.core.imagine.spread import MAX_ACTIONS, action_set, futures_spread
from wm.core.imagine.stats import Statistic, estimate, pooled, psnr, resample
from wm.core.models.base import WorldModelBase

BATCH = 8  # windows imagined together
WINDOWS = 64  # windows scored by default: intervals narrow enough to read, still quick on a CPU


def evaluate(
    model: WorldModelBase,
    dataset_path: str | Path,
    *,
    context: int,
    horizons: list[int],
    episodes: int = WINDOWS,
    seed: int,
    episode_indices: list[int] | None = None,
    device: str | torch.device = "cpu",
    spread_steps: int | None = None,
    spread_actions: int = MAX_ACTIONS,
    camera: str | list[str] | None = None,
) -> EvalReport:
    """Score ``episodes`` windows of ``dataset_path`` (restricted to ``episode_indices`` when given).

    ``spread_steps``: how long each action is held for the counterfactual spread (default: the
    largest horizon; 0: no spread); ``spread_actions``: at most this many actions held; ``camera``:
    the video feature(s) of a LeRobot dataset (see ``open_dataset``).
    """
    from wm.core.data.dataset import open_dataset

    spread_steps = max(horizons, default=0) if spread_steps is None else spread_steps
    if context < 1 or episodes < 1 or not horizons or min(horizons) < 1 or spread_steps < 0 or spread_actions < 2:
        raise WMError(
            f"eval: expected --context >= 1, --episodes >= 1, horizons >= 1, spread steps >= 0 and spread "
            f"actions >= 2, found context {context}, episodes {episodes}, horizons {horizons}, "
            f"spread steps {spread_steps}, spread actions {spread_actions}"
        )
    horizons = sorted(set(horizons))
    dataset = open_dataset(dataset_path, camera)
    check_compatible(dataset.spec, model.spec, dataset_path)
    rng = np.random.default_rng(seed)
    held = action_set(model.spec, dataset.all_steps("actions"), spread_actions)
    if len(held.actions) < 2:
        spread_steps = 0  # one action: no counterfactual
    spread_at = sorted({h for h in horizons if h <= spread_steps} | {spread_steps}) if spread_steps else []
    need = context + horizons[-1]  # frames per window (the spread needs only the context)
    windows = choose_windows(dataset.lengths, need, episodes, rng, episode_indices, dataset_path)
    engine = ImaginationEngine(model, device)
    parts: dict[str, list[np.ndarray]] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for first in range(0, len(windows), BATCH):
            batch = [read_window(dataset, model.spec, e, s, s + need) for e, s in windows[first : first + BATCH]]
            frames = torch.from_numpy(np.stack([w["frames"] for w in batch]))
            actions = np.stack([w["actions"] for w in batch])
            states = torch.from_numpy(np.stack([w["states"] for w in batch])) if model.spec.state_size else None
            scores = _scores(engine, frames, actions, states, context, horizons, rng)
            if spread_at:
                seen = None if states is None else states[:, :context]
                scores["spread"], scores["sampling"] = futures_spread(
                    engine, frames[:, :context], actions[:, : context - 1], held, spread_at, seen
                )
            for key, value in scores.items():
                parts.setdefault(key, []).append(value)
    sums = {key: np.concatenate(value) for key, value in parts.items()}
    pixels = model.spec.channels * model.spec.height * model.spec.width
    results = _figures(sums, horizons, spread_at, pixels, model.spec.state_size, seed)
    return EvalReport(
        type(model).__name__, str(dataset_path), context, horizons, seed, windows, results,
        spread_steps, held.labels if spread_at else [], held.note if spread_at else "",
    )  # fmt: skip


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


def _scores(
    engine: ImaginationEngine,
    frames: torch.Tensor,
    actions: np.ndarray,
    states: torch.Tensor | None,
    context: int,
    horizons: list[int],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Per-window sums (B, len(horizons)) of one batch: ``{method}/sse``, ``/moving_sse``, ``/ssim``,
    ``moving`` (moving pixel values) and ``change`` (mean |truth - last context frame|); with ``states``
    (B, T, S), ``{method}/state_sse``."""
    future = actions[:, context - 1 : context - 1 + horizons[-1]]
    shuffled = np.stack([row[rng.permutation(len(row))] for row in future])
    count = len(frames)
    # true and shuffled actions share one pass: the context is observed twice, side by side
    seen = None if states is None else states[:, :context].repeat(2, 1, 1)
    engine.reset(frames[:, :context].repeat(2, 1, 1, 1, 1), np.concatenate([actions[:, : context - 1]] * 2), seen)
    imagined, predicted = engine.predict_at(np.concatenate([future, shuffled]), horizons)
    imagined = imagined.cpu()
    truth8, last8 = frames[:, context:][:, torch.tensor(horizons) - 1], frames[:, context - 1]
    mask = moving_mask(truth8, last8)
    truth, last = truth8.float() / 255, (last8.float() / 255)[:, None].expand_as(truth8)
    predictions = {"model": imagined[:count], "copy_last": last, "shuffled_actions": imagined[count:]}
    out = {
        "moving": (mask.sum(dim=(2, 3, 4)) * truth.shape[2]).numpy().astype(np.float64),
        "change": (truth - last).abs().mean(dim=(2, 3, 4)).numpy().astype(np.float64),
    }
    for method, prediction in predictions.items():
        for key, value in frame_scores(prediction, truth, mask).items():
            out[f"{method}/{key}"] = value
    if predicted is not None:  # states are given exactly when the model predicts them
        true_states = states[:, context:][:, torch.tensor(horizons) - 1]
        guesses = {
            "model": predicted[:count], "copy_last": states[:, context - 1 : context], "shuffled_actions": predicted[count:]
        }
        std = engine.model.get_module("state_norm").std
        for method, guess in guesses.items():
            out[f"{method}/state_sse"] = state_sse(guess.cpu(), true_states, std.cpu())
    return out


def state_sse(predictions: torch.Tensor, truth: torch.Tensor, std: torch.Tensor) -> np.ndarray:
    """Per-window sums (B, K) of squared errors of state vectors: predictions (B, K or 1, S) against the
    truth (B, K, S), each dimension divided by ``std`` (S,)."""
    return (((predictions.float() - truth.float()) / std) ** 2).sum(-1).double().numpy()


def moving_mask(truth: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """Moving pixels, bool (B, K, 1, H, W): true frames uint8 (B, K, C, H, W) that differ from the
    last context frame uint8 (B, C, H, W) in any channel."""
    return (truth != last[:, None]).any(dim=2, keepdim=True)


def frame_scores(predictions: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-window sums (B, K) for frames (B, K, C, H, W) in [0, 1] and a moving mask (B, K, 1, H, W):
    ``sse`` (squared error over every pixel value), ``moving_sse`` (over the moving ones), ``ssim``."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    shape = predictions.shape[:2]
    predictions = predictions.float().clamp(0, 1)
    squared = (predictions - truth.float()) ** 2
    flat_pred, flat_true = predictions.reshape(-1, *predictions.shape[2:]), truth.reshape(-1, *truth.shape[2:]).float()
    ssim = structural_similarity_index_measure(flat_pred, flat_true, data_range=1.0, reduction="none")
    return {
        "sse": squared.sum(dim=(2, 3, 4)).double().numpy(),
        "moving_sse": (squared * mask).sum(dim=(2, 3, 4)).double().numpy(),
        "ssim": ssim.reshape(shape).double().numpy(),
    }


def _figures(
    sums: dict[str, np.ndarray], horizons: list[int], spread_at: list[int], pixels: int, state_size: int, seed: int
) -> list[dict[str, Any]]:
    """Long-format rows {"method", "metric", "horizon", "value", "low", "high"} of every figure."""
    draws = resample(len(sums["moving"]), seed)
    full, ones = np.full_like(sums["moving"], pixels), np.ones_like(sums["moving"])
    rows: list[dict[str, Any]] = []

    def add(method: str, metric: str, at: list[int], statistic: Statistic) -> None:
        found = estimate(statistic, draws)
        rows.extend(
            {"method": method, "metric": metric, "horizon": h, "value": float(found.value[i]),
             "low": float(found.low[i]), "high": float(found.high[i])}
            for i, h in enumerate(at)
        )  # fmt: skip

    moving = {m: pooled(sums[f"{m}/moving_sse"], sums["moving"]) for m in METHODS}
    for method in METHODS:
        mse = pooled(sums[f"{method}/sse"], full)
        add(method, "mse", horizons, mse)
        add(method, "psnr", horizons, lambda idx, mse=mse: psnr(mse(idx)))
        add(method, "moving_mse", horizons, moving[method])
        add(method, "moving_psnr", horizons, lambda idx, m=moving[method]: psnr(m(idx)))
        add(method, "ssim", horizons, pooled(sums[f"{method}/ssim"], ones))
        if f"{method}/state_sse" in sums:
            add(method, "state_mse", horizons, pooled(sums[f"{method}/state_sse"], ones * state_size))
    add("truth", "moving_fraction", horizons, pooled(sums["moving"], full))
    add("truth", "change", horizons, pooled(sums["change"], ones))
    gap = lambda idx: psnr(moving["model"](idx)) - psnr(moving["shuffled_actions"](idx))  # noqa: E731
    add("action_gap", "moving_psnr", horizons, gap)
    if spread_at:
        add("action_spread", "mean_abs", spread_at, pooled(sums["spread"], np.ones_like(sums["spread"])))
        add("sampling_spread", "mean_abs", spread_at, pooled(sums["sampling"], np.ones_like(sums["sampling"])))
    return rows

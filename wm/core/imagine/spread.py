"""Counterfactual spread: from one context, each action of a small set held for k steps.

The spread at horizon h is the mean absolute pixel difference (frames in [0, 1]) between the
h-th imagined frames of two different held actions, averaged over every pair of actions.
A model that ignores its actions has a spread of 0 up to its sampling noise, which is measured
beside it: the same difference between two futures imagined with the same (first) action.

Which actions (``action_set``): a discrete space of up to ``MAX_ACTIONS`` uses them all, a larger
one its ``MAX_ACTIONS`` most frequent actions in the data; a continuous space uses the recorded
actions at ``MAX_ACTIONS`` evenly spaced steps of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import torch

from wm.core.data.spec import DataSpec
from wm.core.imagine.engine import ImaginationEngine

MAX_ACTIONS = 8


@dataclass(frozen=True)
class ActionSet:
    """Actions held for the spread: int64 (A,) or float32 (A, num_actions), with display labels."""

    actions: np.ndarray
    labels: list[str]
    note: str  # how they were chosen


def action_set(spec: DataSpec, recorded: np.ndarray, limit: int = MAX_ACTIONS) -> ActionSet:
    """The actions to hold, chosen from ``spec`` and every recorded action ``recorded`` (S[, A])."""
    count = spec.num_actions
    if not spec.discrete:
        rows = recorded.reshape(-1, count).astype(np.float32)
        picked = rows[np.unique(np.linspace(0, len(rows) - 1, limit).round().astype(int))]
        labels = ["(" + ", ".join(f"{v:.2g}" for v in row) + ")" for row in picked]
        return ActionSet(picked, labels, f"{len(picked)} recorded actions at evenly spaced steps of the data")
    if count <= limit:
        chosen, note = np.arange(count), f"all {count} actions"
    else:
        frequency = np.bincount(recorded.astype(np.int64).ravel(), minlength=count)[:count]
        chosen = np.sort(np.argsort(-frequency, kind="stable")[:limit])
        note = f"the {limit} most frequent of {count} actions in the data"
    return ActionSet(chosen.astype(np.int64), [spec.action_name(int(a)) for a in chosen], note)


def futures_spread(
    engine: ImaginationEngine,
    frames: torch.Tensor,
    actions: np.ndarray,
    held: ActionSet,
    horizons: list[int],
    states: torch.Tensor | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(spread, sampling) per window and horizon, each (B, len(horizons)).

    ``frames`` uint8 (B, T, C, H, W), ``actions`` (B, T-1[, A]) and, for a model with a state vector,
    ``states`` (B, T, S) are the contexts; every
    action of ``held`` (at least two; the first one a second time) is held for ``horizons[-1]`` steps.
    """
    count, options = frames.shape[0], len(held.actions)
    rows = options + 1  # the first action twice: sampling noise alone
    seen = None if states is None else states.repeat_interleave(rows, 0)
    engine.reset(frames.repeat_interleave(rows, 0), np.repeat(actions, rows, axis=0), seen)
    plan = np.concatenate([held.actions, held.actions[:1]])  # (rows[, A])
    steps = np.repeat(np.tile(plan, (count,) + (1,) * (plan.ndim - 1))[:, None], horizons[-1], axis=1)
    futures = engine.frames_at(steps, horizons).float().clamp(0, 1).cpu().reshape(count, rows, len(horizons), -1)
    pairs = list(combinations(range(options), 2))
    spread = sum((futures[:, i] - futures[:, j]).abs().mean(-1) for i, j in pairs) / len(pairs)
    sampling = (futures[:, 0] - futures[:, options]).abs().mean(-1)
    return spread.numpy(), sampling.numpy()

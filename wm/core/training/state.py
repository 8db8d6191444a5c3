"""The training state a checkpoint carries for exact resume: tensors and plain values only.

    {"step", "epoch", "steps_per_epoch", "world_size", "optimizer", "scheduler", "rng", "window",
     "train_seconds"}

``train_seconds`` is the time spent training so far, over every resume (``train.max_minutes``).

``world_size`` is informational: any world size resumes it (the data stream is a function of
the step; the model, optimizer and schedule are the same on every rank).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.training.metrics import LossWindow
from wm.core.training.optim import set_base_lr
from wm.core.training.rng import capture_rng, restore_rng


def capture_state(
    *, step: int, epoch: int, steps_per_epoch: int, world_size: int, optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler, window: LossWindow, train_seconds: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    """Everything beyond the weights that a resumed run needs to continue step for step."""
    return {
        "step": step,
        "epoch": epoch,
        "steps_per_epoch": steps_per_epoch,
        "world_size": world_size,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": capture_rng(),
        "window": window.state_dict(),
        "train_seconds": float(train_seconds),
    }


def restore_state(
    state: dict[str, Any], *, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LambdaLR,
    window: LossWindow, lr: float, device: torch.device,
) -> tuple[int, int]:  # fmt: skip
    """Put ``state`` back (a changed ``lr`` becomes the schedule's new target); returns (step, steps_per_epoch)."""
    saved_lr = state["scheduler"]["base_lrs"][0]
    try:
        optimizer.load_state_dict(state["optimizer"])
    except ValueError as err:
        raise WMError(
            f"resume: the optimizer state does not fit the trainable parameters ({err}); "
            "keep finetune.freeze_modules as the run had it"
        ) from err
    scheduler.load_state_dict(state["scheduler"])
    if lr != saved_lr:
        set_base_lr(scheduler, lr)
    window.load_state_dict(state["window"], device)
    restore_rng(state["rng"])
    return int(state["step"]), int(state["steps_per_epoch"])


def same_data(saved: DataSpec, found: DataSpec, path: Path) -> DataSpec:
    """The run's spec, after checking that the data it resumes on has the same frames and actions."""
    keys = ("channels", "height", "width", "action_kind", "num_actions", "state_size")
    diff = [f"{k} {getattr(found, k)} (run has {getattr(saved, k)})" for k in keys if getattr(saved, k) != getattr(found, k)]
    if diff:
        raise WMError(f"resume: data {path} does not fit the run's model: {', '.join(diff)}")
    return saved

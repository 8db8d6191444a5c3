"""Optimisation: AdamW over the trainable parameters, linear warm-up, gradient clipping."""

from __future__ import annotations

import torch
from torch import nn

from wm.core.config.schema import TrainConfig
from wm.core.errors import WMError


class LinearWarmup:
    """LR factor rising linearly from 1/warmup to 1 over ``warmup_steps``, then constant.

    A class rather than a lambda so the scheduler's state_dict stays plain values.
    """

    def __init__(self, warmup_steps: int) -> None:
        self.warmup_steps = warmup_steps

    def __call__(self, step: int) -> float:
        if self.warmup_steps <= 0:
            return 1.0
        return min(1.0, (step + 1) / self.warmup_steps)


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Parameters that require gradients; frozen parts are left out of the optimizer."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise WMError("every model parameter is frozen (finetune.freeze_modules): nothing to train")
    return params


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW on the trainable parameters; fused kernels on CUDA."""
    fused = next(model.parameters()).is_cuda
    return torch.optim.AdamW(
        trainable_parameters(model), lr=config.lr, weight_decay=config.weight_decay, eps=1e-8, fused=fused or None
    )


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step linear warm-up over ``config.warmup_steps`` steps."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, LinearWarmup(config.warmup_steps))


def set_base_lr(scheduler: torch.optim.lr_scheduler.LambdaLR, lr: float) -> None:
    """Change the target learning rate of a (restored) schedule, e.g. ``train.lr`` given on resume."""
    scheduler.base_lrs = [lr for _ in scheduler.base_lrs]
    for group, factor in zip(scheduler.optimizer.param_groups, scheduler.lr_lambdas):
        group["initial_lr"] = lr
        group["lr"] = lr * factor(scheduler.last_epoch)


def clip_gradients(params: list[nn.Parameter], max_norm: float) -> torch.Tensor:
    """Clip the global gradient norm to ``max_norm`` (<= 0 disables clipping); returns the norm."""
    if max_norm <= 0:
        grads = [p.grad for p in params if p.grad is not None]
        return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    return torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)

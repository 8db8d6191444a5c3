"""One optimisation step: loss (optionally bf16 autocast, optionally compiled), backward, clip, update.

The model's ``loss(batch)`` is routed through ``LossModule.forward`` so that DistributedDataParallel
(which hooks ``forward``) averages the gradients across ranks during backward.
"""

from __future__ import annotations

import torch
from torch import nn

from wm.core.config.schema import TrainConfig
from wm.core.models.base import WorldModelBase
from wm.core.training.optim import clip_gradients


class LossModule(nn.Module):
    """``forward(batch) -> (loss, parts)`` of the wrapped world model."""

    def __init__(self, model: WorldModelBase) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.model.loss(batch)


def configure_backends(device: torch.device) -> None:
    """TF32 matmuls and cuDNN autotuning on CUDA (no effect elsewhere)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True


class TrainStep:
    """Callable ``step(batch) -> parts`` doing one update of ``optimizer`` through ``module``.

    ``module`` is the (possibly DDP-wrapped) ``LossModule``; ``params`` the trainable parameters.
    Returned parts are detached device tensors (``loss`` first, then the model's parts,
    then ``grad_norm``); nothing here synchronises with the device.
    """

    def __init__(
        self,
        module: nn.Module,
        params: list[nn.Parameter],
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        config: TrainConfig,
        device: torch.device,
    ) -> None:
        self.params = params
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.grad_clip = config.grad_clip
        self.device = device
        self.autocast = config.precision == "bf16"
        self.forward = torch.compile(module) if config.compile else module

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            loss, parts = self.forward(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = clip_gradients(self.params, self.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return {"loss": loss.detach(), **{k: v.detach() for k, v in parts.items()}, "grad_norm": grad_norm.detach()}

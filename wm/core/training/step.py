"""One optimisation step: loss (bf16 autocast per ``train.precision``, optionally compiled), backward, clip, update.

The model's ``loss(batch)`` is routed through ``LossModule.forward`` so that DistributedDataParallel
(which hooks ``forward``) averages the gradients across ranks during backward.
"""

from __future__ import annotations

import torch
from torch import nn

from wm.core.config.schema import TrainConfig
from wm.core.models.base import WorldModelBase
from wm.core.training.memory import keep_freed_memory
from wm.core.training.optim import clip_gradients
from wm.core.training.precision import resolve_precision


class LossModule(nn.Module):
    """``forward(batch) -> (loss, parts)`` of the wrapped world model."""

    def __init__(self, model: WorldModelBase) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.model.loss(batch)


def configure_backends(device: torch.device) -> None:
    """TF32 matmuls and cuDNN autotuning on CUDA; on the CPU, freed memory kept for the next step
    (``keep_freed_memory``: 1.46x faster steps of size s, benchmarks/RESULTS.md)."""
    if device.type == "cpu":
        keep_freed_memory()
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
        self.precision = resolve_precision(config.precision, device)
        self.forward = compiled(module, device) if config.compile else module

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision.autocast):
            loss, parts = self.forward(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = clip_gradients(self.params, self.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        # clones: outputs of a CUDA-graphed step are overwritten by the next replay
        parts = {"loss": loss, **parts, "grad_norm": grad_norm}
        return {k: v.detach().clone() for k, v in parts.items()}


def compiled(module: nn.Module, device: torch.device) -> nn.Module:
    """``torch.compile`` of forward and backward (AOTAutograd); CUDA graphs on one CUDA device.

    Shapes are static in training (fixed batch, sequence and image size), which CUDA graphs need;
    under DDP the default mode is used, since DDP's gradient hooks run between graph pieces.
    """
    import torch.distributed as dist

    single_cuda = device.type == "cuda" and not (dist.is_available() and dist.is_initialized())
    return torch.compile(module, mode="reduce-overhead" if single_cuda else None)

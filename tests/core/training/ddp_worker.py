"""One rank of a 2-process gloo job, started the way torchrun starts it (environment variables).

Used by test_distributed.py through multiprocessing's spawn; kept free of pytest imports.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch


def zero_gumbel(self: object, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """Stand-in for ``RSSM._gumbel``: no sampling noise, so latents are the most likely classes.

    With noise, two ranks of B windows cannot draw the same noise as one process of 2B windows;
    without it the loss is a pure function of the batch, so gradients can be compared.
    """
    return torch.zeros(shape, device=like.device)


def run_rank(rank: int, world_size: int, port: int, overrides: list[str], out: str) -> None:
    """Train with ``overrides`` as rank ``rank``; save this rank's gradients and weights to ``out``."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank), GLOO_SOCKET_IFNAME="lo",
    )  # fmt: skip
    torch.set_num_threads(1)
    from wm.core.models.rssm import RSSM

    RSSM._gumbel = zero_gumbel
    from wm.core.config import load_config
    from wm.core.training import Trainer

    extra = [f"run.dir={Path(out).parent / 'rank1_runs'}"] if rank > 0 else []
    trainer = Trainer(load_config(["default"], [*overrides, *extra]))
    trainer.fit()
    model = trainer.model
    torch.save(
        {
            "grads": {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None},
            "weights": {n: p.detach().clone() for n, p in model.named_parameters()},
        },
        out,
    )

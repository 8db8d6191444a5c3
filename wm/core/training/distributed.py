"""Where training runs: the device, and the torchrun/DDP process group when launched by torchrun.

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (plus ``MASTER_ADDR``/``MASTER_PORT``);
seeing them, training joins the process group: NCCL on CUDA, gloo on CPU. Rank 0 alone prints,
logs, samples and writes checkpoints; every rank samples its own windows of the data.

A rank that fails exits and so closes its connections: the others' next collective fails at once
(``is_peer_failure`` tells that error from a rank's own), and torchrun stops the job. A rank that
hangs instead is given up on after ``COLLECTIVE_TIMEOUT``, so no job waits forever.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from wm.core.devices import resolve_device
from wm.core.errors import WMError

# Longest wait in one collective: rank 0 writing a large checkpoint or evaluating while the others
# wait at their next step must fit in it, a dead or stuck rank must not hold the job much longer.
COLLECTIVE_TIMEOUT = timedelta(minutes=10)


@dataclass
class DistContext:
    """This process's place in the job: rank, world size and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # this context initialised the process group (and so destroys it on close)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def agree(self, means: list[float], flags: list[bool]) -> tuple[list[float], list[bool]]:
        """``means`` averaged over the ranks, and each flag true only where it is true on every rank."""
        if not self.distributed:
            return means, flags
        values = torch.tensor(means, dtype=torch.float32, device=self.device)
        truth = torch.tensor([float(f) for f in flags], device=self.device)
        if len(means):
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        dist.all_reduce(truth, op=dist.ReduceOp.MIN)
        return (values / self.world_size).tolist(), [bool(v > 0) for v in truth.tolist()]

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def launched_by_torchrun() -> bool:
    return all(key in os.environ for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def setup(device_name: str) -> DistContext:
    """The context for this process; joins the process group when launched by torchrun."""
    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) <= 1:
        return DistContext(device=resolve_device(device_name))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ["LOCAL_RANK"])
    device = resolve_device(device_name, local_rank)
    if device.type == "mps":
        raise WMError("train.device=mps cannot run under torchrun; use train.device=cpu or cuda")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    owns_group = not dist.is_initialized()
    if owns_group:
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(
            backend=backend, rank=rank, world_size=world, timeout=COLLECTIVE_TIMEOUT,
            device_id=device if device.type == "cuda" else None,
        )  # fmt: skip
    return DistContext(rank=rank, world_size=world, local_rank=local_rank, device=device, owns_group=owns_group)


def is_peer_failure(error: BaseException) -> bool:
    """Whether ``error`` came from a collective that another rank left (it failed, was killed or timed
    out), rather than from this rank's own work: c10d's errors, and gloo's, which are RuntimeErrors
    that name gloo's transport."""
    return isinstance(error, dist.DistError) or (type(error) is RuntimeError and "gloo/transport" in str(error))


def wrap_ddp(module: nn.Module, context: DistContext) -> nn.Module:
    """DistributedDataParallel over ``module`` when distributed; frozen parameters are not synchronised.

    DDP registers only parameters with ``requires_grad``, so frozen parts (finetune.freeze_modules,
    a frozen pretrained backbone) cost no communication and need no ``find_unused_parameters``.
    """
    if not context.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids)

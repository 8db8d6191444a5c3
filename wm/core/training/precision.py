"""``train.precision``: ``fp32``, ``bf16`` (autocast) or ``auto``, bf16 where the device computes it natively.

bf16 autocast trains about 1.8x faster on a CPU with avx512_bf16 (benchmarks/RESULTS.md) and on
a GPU with bf16 units; where bf16 is emulated (older CPUs and GPUs, MPS) it is slower than fp32,
so ``auto`` keeps fp32 there. The choice and its reason are said at the start of every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from wm.core.models.layers import bf16_support


@dataclass(frozen=True)
class Precision:
    """The precision a run trains in, and why (``train.precision=auto: bf16 is native on this CPU, avx512_bf16``)."""

    name: Literal["fp32", "bf16"]
    reason: str

    @property
    def autocast(self) -> bool:
        return self.name == "bf16"

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


def resolve_precision(setting: str, device: torch.device) -> Precision:
    """``train.precision`` on ``device`` -> the precision to train in, with its reason."""
    native = bf16_support(device)
    where = {"cpu": "this CPU", "cuda": "this GPU"}.get(device.type, device.type)
    if setting == "auto":
        if native:
            return Precision("bf16", f"train.precision=auto: bf16 is native on {where}, {native}")
        lacks = "has neither avx512_bf16 nor AMX" if device.type == "cpu" else "has no native bf16"
        return Precision("fp32", f"train.precision=auto: {where} {lacks}")
    if setting == "bf16":
        return Precision("bf16", "train.precision=bf16" + ("" if native else f"; {where} emulates it, slower than fp32"))
    return Precision("fp32", "train.precision=fp32")

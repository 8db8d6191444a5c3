"""Which device a command runs on: ``auto`` (CUDA, then MPS, then the CPU), ``cpu``, ``cuda`` or ``mps``.

Training reads it from ``train.device``; ``wm rollout``, ``play``, ``eval`` (and ``train``,
``finetune``) take it as ``--device``. A device asked for by name that this machine lacks is one
line naming the setting, never a silent fall-back to the CPU.
"""

from __future__ import annotations

import torch

from wm.core.errors import UsageError, WMError

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str, local_rank: int = 0, *, setting: str = "train.device") -> torch.device:
    """``name`` (one of ``DEVICES``) -> a torch device; ``auto`` prefers CUDA, then MPS, then the CPU.

    ``local_rank`` picks the CUDA device of a torchrun rank; ``setting`` is how the user gave ``name``
    (``train.device``, ``--device``), for the error message.
    """
    if name not in DEVICES:
        raise UsageError(f"{setting}={name}: unknown device, expected one of {', '.join(DEVICES)}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            why = "this torch is built for the CPU only" if torch.version.cuda is None else "no CUDA device is visible"
            raise WMError(f"{setting}=cuda: CUDA is not available on this machine ({why}); use {setting}=auto or cpu")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if name == "mps" and not torch.backends.mps.is_available():
        raise WMError(f"{setting}=mps: MPS (Apple GPU) is not available on this machine; use {setting}=auto or cpu")
    return torch.device(name)

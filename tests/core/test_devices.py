"""One device helper for training and the imagination commands: auto's order, and a clear line for a missing device."""

from __future__ import annotations

import pytest
import torch

from wm.core.devices import resolve_device
from wm.core.errors import UsageError, WMError


def test_cpu_and_auto() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_one_line_naming_the_setting() -> None:
    with pytest.raises(WMError, match=r"^train\.device=cuda: CUDA is not available on this machine \(.+\); "
                                      r"use train\.device=auto or cpu$"):  # fmt: skip
        resolve_device("cuda")
    with pytest.raises(WMError, match=r"^--device=cuda: CUDA is not available"):
        resolve_device("cuda", setting="--device")


def test_unknown_device_is_a_usage_error_naming_the_choices() -> None:
    with pytest.raises(UsageError, match=r"^--device=tpu: unknown device, expected one of auto, cpu, cuda, mps$"):
        resolve_device("tpu", setting="--device")

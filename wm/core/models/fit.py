"""Whether a set of weights fits a model: the names and shapes compared, nothing loaded or allocated.

``expected`` may come from a model built on the meta device (shapes without memory), so a
config whose sizes disagree with its weights is found before the model is built for real.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch


def weight_misfit(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
    """Keys of ``expected`` that ``found`` lacks ("missing"), keys beyond them ("unexpected") and keys
    whose shape differs ("wrong shape"); only the non-empty lists, so ``{}`` means the weights fit."""
    groups = {
        "missing": [key for key in expected if key not in found],
        "unexpected": [key for key in found if key not in expected],
        "wrong shape": [key for key in expected if key in found and found[key].shape != expected[key].shape],
    }
    return {label: keys for label, keys in groups.items() if keys}


def summary(misfit: dict[str, list[str]]) -> str:
    """A short account of ``weight_misfit``'s result: ``missing 1: a.weight; wrong shape 2: b, c``."""
    return "; ".join(
        f"{label} {len(keys)}: {', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''}" for label, keys in misfit.items()
    )


def count(tensors: Mapping[str, torch.Tensor]) -> int:
    """The number of values in ``tensors`` (meta tensors count without memory)."""
    return sum(tensor.numel() for tensor in tensors.values())

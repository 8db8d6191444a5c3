"""Random number state: seed everything, capture it as plain values, restore it exactly.

The captured state holds only tensors, ints, floats, strings, lists and tuples so that a
checkpoint carrying it still loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng() -> dict[str, Any]:
    """The current python, numpy, torch and CUDA generator states as plain values."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put back a state from ``capture_rng`` (CUDA states only where devices match in number)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Run a block (samples, evaluation) without moving the training random streams."""
    state = capture_rng()
    try:
        yield
    finally:
        restore_rng(state)


def rank_seed(seed: int, rank: int, step: int) -> int:
    """A distinct, reproducible torch seed for rank ``rank`` > 0 from step ``step`` on."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])

"""Tiny RSSM world models and a structured synthetic batch (a square moved by the actions)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.models.world_model import WorldModel

TINY = dict(size="xs", deter=32, hidden=32, stoch=4, classes=4, depth=4)
MOVES = torch.tensor([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])  # noop, up, down, left, right


def moving_square(batch: int, steps: int, size: int = 16, seed: int = 0) -> dict[str, torch.Tensor]:
    """A 4x4 white square on black that moves one pixel per action (noop/up/down/left/right).

    ``actions[:, t]`` moves the square from ``frames[:, t]`` to ``frames[:, t + 1]``.
    """
    gen = torch.Generator().manual_seed(seed)
    actions = torch.randint(0, len(MOVES), (batch, steps), generator=gen)
    pos = torch.randint(0, size - 4, (batch, 2), generator=gen)
    frames = torch.zeros(batch, steps, 1, size, size, dtype=torch.uint8)
    for t in range(steps):
        for b in range(batch):
            y, x = pos[b].tolist()
            frames[b, t, 0, y : y + 4, x : x + 4] = 255
        pos = (pos + MOVES[actions[:, t]]).clamp(0, size - 4)
    return {"frames": frames, "actions": actions}


def make_model(spec: dict | None = None, **config) -> WorldModel:
    """A tiny model on 16x16 grey frames with the square's 5 actions; keyword args override."""
    fields = {"channels": 1, "height": 16, "width": 16, "num_actions": len(MOVES), **(spec or {})}
    return WorldModel(ModelConfig(**{**TINY, **config}), DataSpec(**fields))


@pytest.fixture
def tiny_model() -> Callable[..., WorldModel]:
    return make_model


@pytest.fixture
def square() -> Callable[..., dict[str, torch.Tensor]]:
    return moving_square


@pytest.fixture
def one_thread():
    """Run on one intra-op thread: tiny tensors gain nothing from two, and lose a lot on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

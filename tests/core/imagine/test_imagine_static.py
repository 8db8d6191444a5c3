"""The static step (a CUDA graph on CUDA, the same buffers run eagerly elsewhere) gives the plain path's frames."""

from __future__ import annotations

import torch

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.imagine import ImaginationEngine
from wm.core.models import build_model

SPEC = DataSpec(channels=3, height=16, width=16, num_actions=4, has_rewards=True, has_terminals=True)


def run(static: bool) -> tuple[list[torch.Tensor], ImaginationEngine]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(size="xs", deter=32, hidden=32, stoch=4, classes=4, depth=4), SPEC)
    engine = ImaginationEngine(model, static_steps=static)
    context = torch.randint(0, 256, (1, 3, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    engine.reset(context, torch.zeros(1, 2, dtype=torch.long))
    out = []
    for action in (0, 3, 1, 2):
        out += [engine.step(action), engine.rewards, engine.continues]
    return out, engine


def test_static_steps_give_the_plain_frames_and_heads_and_reuse_their_buffers() -> None:
    plain, _ = run(static=False)
    static, engine = run(static=True)
    assert engine.static is not None and engine.static_steps
    for a, b in zip(plain, static):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    held = engine.static
    engine.step(1)
    assert engine.static is held  # the same buffers (the same graph on CUDA)
    engine.reset(torch.zeros(1, 2, 3, 16, 16, dtype=torch.uint8), torch.zeros(1, 1, dtype=torch.long))
    assert engine.static is None


def test_outputs_are_copies_that_the_next_step_leaves_alone() -> None:
    _, engine = run(static=True)
    frame = engine.step(0)
    kept = frame.clone()
    engine.step(3)
    torch.testing.assert_close(frame, kept, rtol=0, atol=0)

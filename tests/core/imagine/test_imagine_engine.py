"""ImaginationEngine drives a model: context in, one frame per action out, in the model's conventions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from squares import SPEC, ShiftModel, move, square_episode

from wm.core.errors import WMError
from wm.core.imagine import ImaginationEngine


def context(batch: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    episodes = [square_episode(rng, 6) for _ in range(batch)]
    return np.stack([e[0] for e in episodes]), np.stack([e[1] for e in episodes])


def test_reset_returns_the_models_view_of_the_last_context_frame() -> None:
    frames, actions = context()
    engine = ImaginationEngine(ShiftModel())
    first = engine.reset(frames, actions[:, :-1])
    assert first.shape == (2, 3, 16, 16) and first.dtype == torch.float32
    assert torch.equal(first, torch.from_numpy(frames[:, -1]).float() / 255)


def test_frames_at_decodes_only_the_asked_horizons_and_matches_rollout() -> None:
    frames, actions = context()
    plan = np.array([[5, 5, 4, 3, 2], [0, 1, 2, 2, 3]])
    engine = ImaginationEngine(ShiftModel())
    engine.reset(frames, actions[:, :-1])
    rolled = engine.rollout(plan)
    engine.reset(frames, actions[:, :-1])
    picked = engine.frames_at(plan, [1, 4, 5])
    assert picked.shape == (2, 3, 3, 16, 16) and torch.equal(picked, rolled[:, [0, 3, 4]])
    assert [a.shape[1] for a in engine.model.seen[-3:]] == [1, 3, 1]  # imagined in segments, one per horizon
    assert torch.equal(engine.step(np.array([0, 0])), rolled[:, 4])  # the state moved on to horizon 5


def test_step_and_rollout_follow_the_actions() -> None:
    frames, actions = context()
    engine = ImaginationEngine(ShiftModel())
    engine.reset(frames, actions[:, :-1])
    stepped = engine.step(np.array([2, 3]))  # UP, RIGHT
    assert stepped.shape == (2, 3, 16, 16)
    expected = [move(frames[0, -1], 2), move(frames[1, -1], 3)]
    assert np.array_equal((stepped * 255).round().byte().numpy(), np.stack(expected))
    plan = np.array([[5, 5, 4], [0, 1, 2]])
    rolled = engine.rollout(plan)
    assert rolled.shape == (2, 3, 3, 16, 16)
    last = expected[0]
    for t in range(3):
        last = move(last, plan[0, t])
        assert np.array_equal((rolled[0, t] * 255).round().byte().numpy(), last)
    assert engine.rewards.tolist() == [0.0, 0.0] and engine.continues.tolist() == [1.0, 1.0]


def test_a_single_discrete_action_is_a_batch_of_one() -> None:
    frames, actions = context(1)
    model = ShiftModel()
    engine = ImaginationEngine(model)
    engine.reset(frames, actions[:, :-1])
    assert engine.step(1).shape == (1, 3, 16, 16)
    assert model.seen[-1].tolist() == [[1]] and model.seen[-1].dtype == torch.long
    assert engine.rewards.tolist() == [1.0]


def test_wrong_shapes_and_order_are_user_errors() -> None:
    frames, actions = context()
    engine = ImaginationEngine(ShiftModel())
    with pytest.raises(WMError, match="reset"):
        engine.step(np.array([0, 0]))
    with pytest.raises(WMError, match="context frames"):
        engine.reset(frames[:, :, :1], actions[:, :-1])
    with pytest.raises(WMError, match=r"actions: expected shape \(2, 5\)"):
        engine.reset(frames, actions)
    engine.reset(frames, actions[:, :-1])
    with pytest.raises(WMError, match=r"expected shape \(2, 1\)"):
        engine.step(np.array([0, 0, 0]))
    assert SPEC.discrete

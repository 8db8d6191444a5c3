"""Training state through safetensors + JSON: exact round trip of a real optimizer and RNG state."""

from __future__ import annotations

import json

import pytest
import torch

from wm.core.errors import WMError
from wm.core.hub.state import join_state, split_state
from wm.core.loading import model_from_checkpoint


def assert_same(a, b) -> None:
    assert type(a) is type(b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


def test_training_state_round_trips_exactly(checkpoint) -> None:
    tensors, skeleton = split_state(checkpoint.training)
    text = json.dumps(skeleton)  # the skeleton is plain JSON
    restored = join_state(tensors, json.loads(text))
    assert_same(restored, checkpoint.training)
    assert isinstance(next(iter(restored["optimizer"]["state"])), int)  # int parameter ids survive
    assert isinstance(restored["optimizer"]["param_groups"][0]["betas"], tuple)


def test_restored_optimizer_state_loads_into_adamw(checkpoint) -> None:
    tensors, skeleton = split_state(checkpoint.training)
    restored = join_state(tensors, json.loads(json.dumps(skeleton)))
    optimizer = torch.optim.AdamW(model_from_checkpoint(checkpoint).parameters(), lr=1e-3)
    optimizer.load_state_dict(restored["optimizer"])
    assert_same(optimizer.state_dict(), checkpoint.training["optimizer"])


def test_unstorable_value_is_named() -> None:
    with pytest.raises(WMError, match=r"training state at 'state.extra': a set cannot be stored"):
        split_state({"extra": {1, 2}})

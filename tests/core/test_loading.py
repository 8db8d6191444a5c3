"""MODEL resolution: a checkpoint rebuilds its model with no flags, and weights that do not fit are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from wm.core.checkpoint import Checkpoint, save_checkpoint
from wm.core.config import Config, config_to_dict
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.loading import load_model
from wm.core.models import build_model

TINY = {"size": "xs", "deter": 16, "hidden": 16, "stoch": 4, "classes": 4, "depth": 4}


def _checkpoint(path: Path, mutate=None) -> Path:
    config = Config()
    for key, value in TINY.items():
        setattr(config.model, key, value)
    spec = DataSpec(channels=3, height=16, width=16, num_actions=3)
    weights = build_model(config.model, spec).state_dict()
    if mutate:
        mutate(weights)
    return save_checkpoint(path, Checkpoint(config=config_to_dict(config), spec=spec, model=weights))


def test_checkpoint_rebuilds_its_model(tmp_path: Path) -> None:
    model, checkpoint = load_model(str(_checkpoint(tmp_path / "ok.pt")))
    assert checkpoint.spec.num_actions == 3
    assert all(torch.equal(v, checkpoint.model[k]) for k, v in model.state_dict().items())
    assert not model.training


def test_weights_that_do_not_fit_are_named(tmp_path: Path) -> None:
    def reshape_and_drop(weights: dict) -> None:
        key = next(k for k, v in weights.items() if v.ndim == 2)
        weights[key] = torch.zeros(weights[key].shape[0] + 1, weights[key].shape[1])
        weights.pop(next(iter(weights)))
        weights["extra.weight"] = torch.zeros(1)

    with pytest.raises(WMError) as err:
        load_model(str(_checkpoint(tmp_path / "bad.pt", reshape_and_drop)))
    message = str(err.value)
    assert "missing 1:" in message and "unexpected 1: extra.weight" in message and "wrong shape 1:" in message
    assert "\n" not in message


"""Fixtures for imagination tests, built on the square world of ``squares.py``."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
import torch
from squares import SPEC, write_square_data, train_tiny

from wm.core.checkpoint import Checkpoint
from wm.core.config import config_to_dict
from wm.core.config.schema import Config


@pytest.fixture(scope="session")
def square_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 episodes of 40 steps."""
    return write_square_data(tmp_path_factory.mktemp("data") / "squares.h5", episodes=8, length=40)


@pytest.fixture()
def shift_checkpoint(square_data: Path) -> Checkpoint:
    """An in-memory checkpoint whose context clips are 3 clips of 4 frames from the data."""
    with h5py.File(square_data) as f:
        frames, actions = f["frames"][:3, :4], f["actions"][:3, :4]
    config = config_to_dict(Config())
    config["data"]["context_len"] = 4
    return Checkpoint(config, SPEC, {}, {"frames": torch.from_numpy(frames), "actions": torch.from_numpy(actions)})


@pytest.fixture(scope="session")
def trained_checkpoint(square_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real WorldModel trained for 20 steps on the square world, saved as a checkpoint file."""
    return train_tiny(square_data, tmp_path_factory.mktemp("run") / "tiny.pt")

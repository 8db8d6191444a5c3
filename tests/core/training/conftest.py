"""Fixtures for training tests: small real ALE datasets and a tiny, fast training config."""

from __future__ import annotations

from pathlib import Path

import pytest

from wm.core.config import Config, load_config
from wm.core.data.collect import collect

TINY_MODEL = ["model.size=xs", "model.depth=4", "model.deter=32", "model.hidden=32", "model.stoch=4", "model.classes=4"]


def tiny_overrides(data: Path, run_dir: Path, name: str, *extra: str) -> list[str]:
    """Overrides for a few-second run at 32x32 on ``data``, written to ``run_dir/name``."""
    return [
        *TINY_MODEL,
        f"data.path={data}",
        "data.image_size=32",
        "data.context_clips=2",
        "data.context_len=3",
        f"run.dir={run_dir}",
        f"run.name={name}",
        "train.epochs=2",
        "train.steps_per_epoch=3",
        "train.batch_size=2",
        "train.seq_len=6",
        "train.log_every=1",
        "train.warmup_steps=2",
        "train.lr=1e-3",
        "train.sample_steps=2",
        "train.device=cpu",
        "train.precision=fp32",  # the figures these tests compare are fp32's, whatever the CPU
        *extra,
    ]


def tiny_config(data: Path, run_dir: Path, name: str, *extra: str) -> Config:
    return load_config(["default"], tiny_overrides(data, run_dir, name, *extra))


@pytest.fixture(scope="session")
def pong(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four 40-step Pong episodes at 32x32 (6 actions), recorded from the real ALE emulator."""
    path = tmp_path_factory.mktemp("data") / "pong.h5"
    return collect("ale:pong", path, steps=160, size=(32, 32), max_episode_steps=40, seed=0)


@pytest.fixture(scope="session")
def breakout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 30-step Breakout episodes at 32x32 (4 actions): new data for finetuning."""
    path = tmp_path_factory.mktemp("data") / "breakout.h5"
    return collect("ale:breakout", path, steps=90, size=(32, 32), max_episode_steps=30, seed=1)


@pytest.fixture(scope="session")
def pong_run(pong: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run on ``pong`` (1 epoch of 3 steps); tests only read it."""
    from wm.core.training import Trainer

    runs = tmp_path_factory.mktemp("runs")
    Trainer(tiny_config(pong, runs, "pong", "train.epochs=1", "train.eval_at_end=false")).fit()
    return runs / "pong"

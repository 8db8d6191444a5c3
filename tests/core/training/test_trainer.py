"""A short real training run on ALE frames: the loss falls and the run folder holds what it promises."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import yaml

from tests.core.training.conftest import tiny_config
from wm.core.checkpoint import load_checkpoint
from wm.core.errors import WMError
from wm.core.training import Trainer
from wm.core.training.metrics import read_metrics


def test_loss_falls_and_run_folder_is_complete(pong: Path, tmp_path: Path) -> None:
    config = tiny_config(
        pong, tmp_path, "run", "train.steps_per_epoch=8", "train.batch_size=4", "train.log_every=4", "train.lr=3e-3"
    )
    events: list[str] = []
    result = Trainer(config, callback=lambda e: events.append(e.kind)).fit()

    run = tmp_path / "run"
    records = read_metrics(run / "metrics.jsonl")
    train = [r for r in records if "loss" in r]
    assert [r["step"] for r in train] == [4, 8, 12, 16]
    assert train[-1]["loss"] < 0.6 * train[0]["loss"], [r["loss"] for r in train]
    assert {"recon", "kl", "kl_dyn", "kl_rep", "reward", "continue", "lr", "grad_norm", "frames_per_s"} <= set(train[0])

    evaluation = [r for r in records if "eval/model/psnr@1" in r]
    assert len(evaluation) == 1 and evaluation[0]["step"] == 16
    assert result.evaluation["model/psnr@2"] == evaluation[0]["eval/model/psnr@2"]
    assert result.evaluation["copy_last/mse@1"] >= 0

    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["train"]["steps_per_epoch"] == 8 and saved["data"]["path"] == str(pong)
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == ["epoch_1.pt", "epoch_2.pt", "final.pt", "last.pt"]
    assert os.readlink(run / "checkpoints" / "last.pt") == "final.pt"
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_1.gif", "epoch_2.gif"]
    assert not (run / "tensorboard").exists()  # train.loggers: jsonl alone unless asked (tests/core/training/test_loggers.py)
    assert events[0] == "start" and events[-1] == "end" and "eval" in events

    final = load_checkpoint(run / "checkpoints" / "final.pt")
    assert final.training["step"] == 16
    assert final.context["frames"].dtype == torch.uint8
    assert tuple(final.context["frames"].shape) == (2, 3, 3, 32, 32)
    assert tuple(final.context["actions"].shape) == (2, 3)
    assert final.spec.height == 32 and final.spec.num_actions == 6
    assert result.checkpoint == run / "checkpoints" / "final.pt" and not result.interrupted


def test_auto_steps_per_epoch_is_one_pass_over_training_frames(pong: Path, tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(pong, tmp_path, "auto", "train.steps_per_epoch=0"))
    # 4 episodes of 40 steps, 1 held out: 120 frames / (2 x 6 per step) = 10 steps
    assert trainer.data.train_episodes == [0, 1, 2] and trainer.data.holdout_episodes == [3]
    assert trainer.steps_per_epoch == 10


def test_fresh_run_refuses_a_folder_with_checkpoints(pong: Path, pong_run: Path) -> None:
    before = sorted(p.name for p in pong_run.rglob("*"))
    with pytest.raises(WMError, match=f"run folder {pong_run} already holds checkpoints.*--resume"):
        Trainer(tiny_config(pong, pong_run.parent, pong_run.name)).fit()
    assert sorted(p.name for p in pong_run.rglob("*")) == before


def test_bf16_autocast_tracks_fp32(pong: Path, tmp_path: Path) -> None:
    losses = {}
    for precision in ("fp32", "bf16"):
        extra = ("train.eval_at_end=false", "data.context_clips=0", "train.epochs=1", "train.steps_per_epoch=2",
                 f"train.precision={precision}")  # fmt: skip
        Trainer(tiny_config(pong, tmp_path, precision, *extra)).fit()
        losses[precision] = [r["loss"] for r in read_metrics(tmp_path / precision / "metrics.jsonl")]
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=2e-2)

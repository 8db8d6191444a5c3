"""Exact resume: an interrupted and resumed CPU run logs the same metrics as an uninterrupted one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from tests.core.training.conftest import tiny_config
from wm.core.errors import WMError
from wm.core.training import Trainer, resume_run
from wm.core.training.metrics import read_metrics

PARTS = ("loss", "recon", "kl", "kl_dyn", "kl_rep", "reward", "continue", "grad_norm", "lr")
FAST = ("train.eval_at_end=false", "data.context_clips=0")


def _interrupt_at(step: int):  # noqa: ANN202
    def callback(event) -> None:  # noqa: ANN001
        if event.kind == "step" and event.step == step:
            raise KeyboardInterrupt  # what Ctrl-C does between steps

    return callback


def _losses(run: Path) -> list[dict[str, float]]:
    return [{k: r.get(k) for k in ("step", *PARTS)} for r in read_metrics(run / "metrics.jsonl") if "loss" in r]


def test_resumed_run_equals_uninterrupted_step_for_step(pong: Path, tmp_path: Path) -> None:
    # log every 2 steps and stop at step 3: the half-filled log window must survive the resume too
    extra = (*FAST, "train.log_every=2", "train.epochs=2", "train.steps_per_epoch=3")
    Trainer(tiny_config(pong, tmp_path, "full", *extra)).fit()

    stopped = Trainer(tiny_config(pong, tmp_path, "cut", *extra), callback=_interrupt_at(3)).fit()
    assert stopped.interrupted and stopped.step == 3
    assert stopped.checkpoint == tmp_path / "cut" / "checkpoints" / "step_3.pt"
    assert (tmp_path / "cut" / "checkpoints" / "last.pt").resolve() == stopped.checkpoint

    config, checkpoint = resume_run(tmp_path / "cut")
    assert checkpoint.training["step"] == 3
    result = Trainer(config, resume=checkpoint).fit()
    assert result.step == 6 and not result.interrupted

    full, resumed = _losses(tmp_path / "full"), _losses(tmp_path / "cut")
    assert [r["step"] for r in full] == [2, 4, 6]
    assert resumed == full  # bitwise equal floats, every part, every logged step
    state_full = torch.load(tmp_path / "full" / "checkpoints" / "final.pt", weights_only=True)["model"]
    state_cut = torch.load(tmp_path / "cut" / "checkpoints" / "final.pt", weights_only=True)["model"]
    assert all(torch.equal(state_full[k], state_cut[k]) for k in state_full)


def test_resume_extends_a_finished_run_and_refuses_model_changes(pong: Path, tmp_path: Path) -> None:
    Trainer(tiny_config(pong, tmp_path, "run", *FAST, "train.epochs=1")).fit()
    run = tmp_path / "run"

    with pytest.raises(WMError, match="already finished its 3 steps"):
        _resume(run).fit()
    for override, key in (("model.deter=64", "model.deter"), ("data.image_size=64", "data.image_size")):
        with pytest.raises(WMError, match=f"'{override}': {key} would change the model"):
            resume_run(run, [override])
    with pytest.raises(WMError, match="unknown config key 'train.epoch'"):
        resume_run(run, ["train.epoch=3"])
    resume_run(run, ["model.deter=32"])  # the value it already has: nothing changes, accepted
    assert resume_run(run, ["data.path=1e3"])[0].data.path == "1e3"  # a text field keeps the text as written

    with (run / "metrics.jsonl").open("a") as handle:  # as if the process died after logging step 4
        handle.write('{"step": 4, "loss": -1.0}\n')
    result = _resume(run, "train.epochs=2").fit()
    assert result.step == 6
    assert [(r["step"], r["loss"] > 0) for r in _losses(run)] == [(s, True) for s in range(1, 7)]  # not repeated
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "epoch_1.pt", "epoch_2.pt", "final.pt", "last.pt"
    ]  # fmt: skip


def test_nan_loss_stops_naming_step_and_keeps_last_good_checkpoint(pong: Path, tmp_path: Path) -> None:
    config = tiny_config(pong, tmp_path, "run", *FAST, "train.log_every=2")
    good = tmp_path / "run" / "checkpoints" / "epoch_1.pt"
    digest: list[str] = []

    def poison(event) -> None:  # noqa: ANN001
        if event.kind == "checkpoint":
            digest.append(hashlib.sha256(good.read_bytes()).hexdigest())
            with torch.no_grad():
                next(trainer.model.decoder.parameters()).fill_(float("nan"))

    trainer = Trainer(config, callback=poison)
    with pytest.raises(WMError, match=rf"became NaN/inf at step 4; .*last good checkpoint {good} is intact"):
        trainer.fit()
    assert hashlib.sha256(good.read_bytes()).hexdigest() == digest[0]
    assert sorted(p.name for p in good.parent.iterdir()) == ["epoch_1.pt", "last.pt"]


def _resume(run: Path, *overrides: str) -> Trainer:
    config, checkpoint = resume_run(run, overrides)
    return Trainer(config, resume=checkpoint)


def test_resume_finishes_a_run_killed_between_its_last_epoch_checkpoint_and_final(pong: Path, tmp_path: Path) -> None:
    Trainer(tiny_config(pong, tmp_path, "run", *FAST, "train.epochs=1")).fit()
    checkpoints = tmp_path / "run" / "checkpoints"
    (checkpoints / "final.pt").unlink()  # as if killed right after epoch_1.pt was linked
    (checkpoints / "last.pt").unlink()
    (checkpoints / "last.pt").symlink_to("epoch_1.pt")

    result = _resume(tmp_path / "run").fit()
    assert result.step == 3 and not result.interrupted
    assert result.checkpoint == checkpoints / "final.pt" and (checkpoints / "last.pt").resolve() == result.checkpoint
    with pytest.raises(WMError, match="already finished its 3 steps"):  # now it is finished
        _resume(tmp_path / "run").fit()

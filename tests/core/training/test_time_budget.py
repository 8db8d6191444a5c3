"""train.max_minutes: a run that runs out of time still ends with a final checkpoint, a sample and the eval."""

from __future__ import annotations

from pathlib import Path

from tests.core.training.conftest import tiny_config
from wm.core.checkpoint import load_checkpoint
from wm.core.training import Trainer
from wm.core.training.resume import resume_run

TINY_BUDGET = "train.max_minutes=1e-6"  # 60 microseconds: spent by the first step, whatever the machine


def test_budget_ends_the_run_like_its_last_epoch(pong: Path, tmp_path: Path) -> None:
    events = []
    result = Trainer(tiny_config(pong, tmp_path, "timed", TINY_BUDGET), callback=events.append).fit()

    kinds = [e.kind for e in events]
    assert result.step == 1 and not result.interrupted
    assert "budget" in kinds and kinds.index("budget") < kinds.index("eval") < kinds.index("end")
    assert result.evaluation, "the held-out eval runs after a budget stop"
    run = tmp_path / "timed"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["final.pt", "last.pt"]  # no epoch_N named
    assert (run / "samples" / "epoch_1.gif").is_file()
    training = load_checkpoint(run / "checkpoints" / "final.pt").training
    assert training["step"] == 1 and training["train_seconds"] > 0


def test_resume_counts_earlier_time_and_a_larger_budget_continues(pong: Path, tmp_path: Path) -> None:
    Trainer(tiny_config(pong, tmp_path, "timed", TINY_BUDGET, "train.eval_at_end=false")).fit()
    first = load_checkpoint(tmp_path / "timed" / "checkpoints" / "final.pt").training["train_seconds"]

    config, checkpoint = resume_run(tmp_path / "timed")
    assert Trainer(config, resume=checkpoint).fit().step == 1  # the budget was already spent

    config, checkpoint = resume_run(tmp_path / "timed", ["train.max_minutes=60"])
    result = Trainer(config, resume=checkpoint).fit()
    assert result.step == 6  # on to the end of train.epochs
    assert load_checkpoint(result.checkpoint).training["train_seconds"] > first

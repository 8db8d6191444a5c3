"""A run folder killed at any instant blocks nothing: leftovers of unfinished writes are ignored and
removed, a run with no complete checkpoint resumes from step 0, a missing last.pt is not fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.training.conftest import tiny_config
from wm.core.errors import WMError
from wm.core.training import RunFolder, Trainer, resume_run
from wm.core.training.metrics import read_metrics

FAST = ("train.eval_at_end=false", "data.context_clips=0", "train.epochs=2")


def _killed_during_first_save(pong: Path, tmp_path: Path) -> Path:
    """The folder a run leaves when SIGKILL lands inside its first checkpoint write."""
    folder = RunFolder(tmp_path / "run")
    folder.create(tiny_config(pong, tmp_path, "run", *FAST))
    folder.metrics_file.write_text('{"step": 1, "loss": 9.0}\n{"step": 2, "loss": 8.0}\n{"step": 3, "lo')
    (folder.checkpoints / ".epoch_1.3fa9c2d1.pt").write_bytes(b"PK\x03\x04 half a checkpoint")
    (folder.samples / ".epoch_1.0b7e44aa.gif").write_bytes(b"GIF8")
    return folder.path


def test_resume_without_a_complete_checkpoint_starts_from_step_zero(pong: Path, tmp_path: Path) -> None:
    run = _killed_during_first_save(pong, tmp_path)
    config, checkpoint = resume_run(run)
    assert checkpoint is None and config.train.epochs == 2 and config.run.name == "run"
    result = Trainer(config).fit()
    assert result.step == 6 and result.checkpoint == run / "checkpoints" / "final.pt"
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3, 4, 5, 6]  # the dead run's are gone
    assert all(r["loss"] not in (9.0, 8.0) for r in read_metrics(run / "metrics.jsonl"))
    written = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert written == ["epoch_1.pt", "epoch_2.pt", "final.pt", "last.pt"]
    assert not [p for p in (run / "samples").iterdir() if p.name.startswith(".")]


def test_a_fresh_run_is_not_blocked_by_leftovers(pong: Path, tmp_path: Path) -> None:
    run = _killed_during_first_save(pong, tmp_path)
    result = Trainer(tiny_config(pong, tmp_path, "run", *FAST, "train.epochs=1")).fit()
    assert result.step == 3 and not list((run / "checkpoints").glob(".*"))
    with pytest.raises(WMError, match="already holds checkpoints"):  # complete ones still protect the run
        RunFolder(run).create(tiny_config(pong, tmp_path, "run", *FAST))


def test_killed_before_last_pt_was_linked_resumes_from_the_newest(pong: Path, tmp_path: Path) -> None:
    Trainer(tiny_config(pong, tmp_path, "run", *FAST)).fit()
    checkpoints = tmp_path / "run" / "checkpoints"
    for name in ("last.pt", "final.pt"):  # as if killed right after epoch_2.pt was renamed into place
        (checkpoints / name).unlink()
    config, checkpoint = resume_run(tmp_path / "run", ["train.epochs=3"])
    assert checkpoint is not None and checkpoint.training["step"] == 6
    assert Trainer(config, resume=checkpoint).fit().step == 9


def test_resume_names_a_folder_that_is_no_run(tmp_path: Path) -> None:
    (tmp_path / "empty" / "checkpoints").mkdir(parents=True)
    for path in (tmp_path / "missing", tmp_path / "empty"):
        with pytest.raises(WMError, match=f"--resume {path}: not a run folder"):
            resume_run(path)

"""train.push_to_hub against the stand-in Hub: the final model lands as `wm hub push` sends it; a failed push
is one clear line and the run stays complete on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.core.training.conftest import tiny_config, tiny_overrides
from tests.hub_server import hub, set_token  # noqa: F401 - the stand-in Hub fixture
from wm.cli.app import app
from wm.core.errors import WMError
from wm.core.hub import pull
from wm.core.training import Trainer

RUN = ("train.epochs=1",)  # 3 steps, the held-out evaluation at the end


def test_the_final_model_is_pushed_with_card_sample_and_evaluation(hub, pong: Path, tmp_path: Path) -> None:
    events: list[str] = []
    config = tiny_config(pong, tmp_path / "runs", "pushed", *RUN, "train.push_to_hub=alice/pong-tiny")
    result = Trainer(config, callback=lambda event: events.append(event.kind)).fit()
    assert result.pushed.startswith(f"{hub.url}/alice/pong-tiny/commit/") and not result.push_error
    assert events[-2:] == ["end", "push"]
    folder = pull("alice/pong-tiny", output=tmp_path / "pulled")
    assert {"config.json", "model.safetensors", "README.md", "sample.gif"} <= {p.name for p in folder.iterdir()}
    assert json.loads((folder / "config.json").read_text())["evaluation"] == result.evaluation
    card = (folder / "README.md").read_text()
    assert "## Evaluation" in card and f"| 1 | model | {result.evaluation['model/psnr@1']:.2f} [" in card


def test_a_failed_push_keeps_the_run_and_says_how_to_push_it(hub, pong: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("huggingface_hub.utils._http.time.sleep", lambda seconds: None)  # skip the retry backoff
    hub.fail("commit", times=10)
    runs = tmp_path / "runs"
    args = ["train", *tiny_overrides(pong, runs, "kept", *RUN, "train.push_to_hub=alice/kept")]
    result = CliRunner(env={"COLUMNS": "300"}).invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "push to alice/kept failed: the Hub answered 500 while writing alice/kept; nothing was committed" in result.output
    assert lines[-1] == f"the run is complete in {runs / 'kept'}; push it with: wm hub push {runs / 'kept'} alice/kept"
    assert (runs / "kept" / "checkpoints" / "final.pt").is_file() and (runs / "kept" / "samples" / "epoch_1.gif").is_file()
    state = json.loads((hub.root / "alice" / "kept" / "repo.json").read_text())  # created, nothing committed into it
    assert all("model.safetensors" not in commit["files"] for commit in state["commits"].values())


def test_a_push_that_cannot_work_stops_before_training(hub, pong: Path, tmp_path: Path, monkeypatch) -> None:
    for setting, message in (
        ("alice", r"train.push_to_hub=alice: expected a Hub id user/name"),
        ("alice/x", r"train.push_to_hub=alice/x: not logged in to the Hugging Face Hub; run `hf auth login`"),
    ):
        set_token(monkeypatch, None)
        with pytest.raises(WMError, match=message):
            Trainer(tiny_config(pong, tmp_path, "never", f"train.push_to_hub={setting}"))
    assert not (tmp_path / "never").exists()

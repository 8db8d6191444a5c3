"""`wm hub push|pull` and a Hub id as MODEL, against the stand-in Hub: output, files, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.core.hub.tiny import train_tiny_run, write_squares_dataset
from tests.hub_server import hub, set_offline, set_token  # noqa: F401 - the stand-in Hub fixture
from wm.cli.app import app
from wm.core.loading import load_model

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_squares_dataset(tmp_path_factory.mktemp("data") / "squares.h5")


@pytest.fixture(scope="module")
def run_folder(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runs/tiny as the real Trainer leaves it: checkpoints, samples, metrics.jsonl with the final evaluation."""
    return train_tiny_run(data, tmp_path_factory.mktemp("runs"), "tiny")


def wm(*args: str) -> subprocess.CompletedProcess:
    """`wm ARGS` in a subprocess: huggingface_hub reads HF_ENDPOINT, HF_HOME, HF_HUB_OFFLINE from the environment."""
    env = {**os.environ, "WM_DEBUG": "0"}
    return subprocess.run([sys.executable, "-m", "wm", *args], capture_output=True, text=True, env=env, timeout=300)


def error_lines(output: str) -> list[str]:
    """The output's lines but the one-line notice of a command that contacts the Hub (or reads its cache)."""
    notice = ("downloading ", "reading ")
    return [line for line in output.splitlines() if line.strip() and not line.startswith(notice)]


def test_push_then_pull(hub, run_folder, tmp_path) -> None:
    result = runner.invoke(app, ["hub", "push", str(run_folder), "alice/tiny", "--private", "-m", "first model"])
    assert result.exit_code == 0, result.output
    assert f"{hub.url}/alice/tiny/commit/" in result.output
    assert json.loads((hub.root / "alice/tiny/repo.json").read_text())["private"]
    result = runner.invoke(app, ["hub", "pull", "alice/tiny", "-o", str(tmp_path / "pulled")])
    assert result.exit_code == 0, result.output
    assert "3 x 16 x 16" in result.output and "discrete, 3: stay, left, right" in result.output
    card = (tmp_path / "pulled" / "README.md").read_text()
    logged = json.loads((run_folder / "metrics.jsonl").read_text().splitlines()[-1])
    pulled = json.loads((tmp_path / "pulled" / "config.json").read_text())
    assert pulled["evaluation"]["model/mse@1"] == logged["eval/model/mse@1"]
    psnr = [logged[f"eval/model/psnr{bound}@1"] for bound in ("", "_low", "_high")]
    assert "## Evaluation" in card and f"| 1 | model | {psnr[0]:.2f} [{psnr[1]:.2f}, {psnr[2]:.2f}] |" in card
    assert "model-index:" in card and f"value: {round(psnr[0], 3)}" in card and "name: PSNR h1 (dB)" in card
    result = runner.invoke(app, ["hub", "push", str(tmp_path / "pulled"), "alice/copy"])  # a pulled folder re-pushed
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["hub", "pull", "alice/copy", "-o", str(tmp_path / "copy")]).exit_code == 0
    assert "## Evaluation" in (tmp_path / "copy" / "README.md").read_text()


def test_push_with_a_wm_eval_file(hub, run_folder, data, tmp_path) -> None:
    report = tmp_path / "eval.json"
    evaluate = ["eval", str(run_folder), "--data", str(data), "--horizons", "1,2", "--episodes", "2", "--json", str(report)]
    assert runner.invoke(app, evaluate).exit_code == 0
    assert runner.invoke(app, ["hub", "push", str(run_folder), "alice/tiny", "--eval", str(report)]).exit_code == 0
    assert runner.invoke(app, ["hub", "pull", "alice/tiny", "-o", str(tmp_path / "pulled")]).exit_code == 0
    card = (tmp_path / "pulled" / "README.md").read_text()
    assert "Open-loop on squares.h5" in card and "| 2 | shuffled_actions |" in card and "| 2 | 0." in card  # the actions table
    assert json.loads(report.read_text())["verdict"] in card


def test_finetune_from_a_hub_id(hub, run_folder, data, tmp_path) -> None:
    assert runner.invoke(app, ["hub", "push", str(run_folder), "alice/tiny"]).exit_code == 0
    overrides = [
        "finetune.pretrained_path=alice/tiny", f"data.path={data}", "data.context_len=3", f"run.dir={tmp_path}",
        "run.name=ft", "train.epochs=1", "train.steps_per_epoch=1", "train.batch_size=2", "train.seq_len=6",
        "train.sample_steps=2", "train.eval_at_end=false", "train.device=cpu",
    ]  # fmt: skip
    result = runner.invoke(app, ["finetune", *overrides])
    assert result.exit_code == 0, result.output
    finetuned, pretrained = load_model(str(tmp_path / "ft"))[1], load_model(str(run_folder))[1]
    assert finetuned.config["model"] == pretrained.config["model"]
    frozen = [key for key in pretrained.model if key.startswith("encoder.")]  # the finetune preset freezes it
    assert frozen and all(torch.equal(finetuned.model[key], pretrained.model[key]) for key in frozen)


def test_resume_training_from_a_pulled_folder(hub, run_folder, data, tmp_path) -> None:
    push = ["hub", "push", str(run_folder), "alice/tiny", "--include-training-state"]
    assert runner.invoke(app, push).exit_code == 0
    pulled = tmp_path / "resumable"
    assert runner.invoke(app, ["hub", "pull", "alice/tiny", "-o", str(pulled), "--include-training-state"]).exit_code == 0
    result = runner.invoke(app, ["train", "--resume", str(pulled), "train.epochs=2", f"data.path={data}"])
    assert result.exit_code == 0, result.output
    assert load_model(str(pulled))[1].training["step"] == 4  # 2 steps from the Hub, 2 more here


def test_errors_are_one_line_exit_1(hub, run_folder, monkeypatch) -> None:
    result = runner.invoke(app, ["hub", "pull", "alice/missing"])
    assert result.exit_code == 1
    assert error_lines(result.output)[0].startswith("error: alice/missing: repository not found on the Hub")
    bad = run_folder / "bad.json"
    bad.write_text("{}")
    result = runner.invoke(app, ["hub", "push", str(run_folder), "alice/tiny", "--eval", str(bad)])
    assert result.exit_code == 1 and "not a `wm eval --json` file" in result.output
    set_token(monkeypatch, None)
    result = runner.invoke(app, ["hub", "push", str(run_folder), "alice/tiny"])
    assert result.exit_code == 1
    assert error_lines(result.output) == [
        "error: not logged in to the Hugging Face Hub: run `hf auth login` or set HF_TOKEN"
    ]


def test_rollout_from_a_hub_id_then_offline(hub, run_folder, tmp_path, monkeypatch) -> None:
    final = run_folder / "checkpoints" / "final.pt"
    assert runner.invoke(app, ["hub", "push", str(final), "alice/tiny"]).exit_code == 0
    proc = wm("rollout", "alice/tiny", "--steps", "4", "-o", str(tmp_path / "dream.gif"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == "downloading alice/tiny from the Hub"
    assert (tmp_path / "dream.gif").stat().st_size > 0
    seen = len(hub.requests)
    set_offline(monkeypatch, True)
    proc = wm("rollout", "alice/tiny", "--steps", "4", "-o", str(tmp_path / "again.gif"))
    assert proc.returncode == 0, proc.stderr
    assert len(hub.requests) == seen  # served from the cache
    result = runner.invoke(app, ["rollout", "alice/tiny@nope", "--steps", "4", "-o", str(tmp_path / "nope.gif")])
    assert result.exit_code == 1 and error_lines(result.output) == [
        "error: alice/tiny@nope: not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading; "
        "pull it once online (`wm hub pull alice/tiny@nope`)"
    ]


def test_rollout_revision_and_hub_flags(hub, run_folder, tmp_path, monkeypatch) -> None:
    final = run_folder / "checkpoints" / "final.pt"
    assert runner.invoke(app, ["hub", "push", str(final), "alice/flags"]).exit_code == 0
    assert runner.invoke(app, ["hub", "push", str(final), "alice/flags", "--revision", "exp"]).exit_code == 0
    gif = tmp_path / "exp.gif"
    result = runner.invoke(app, ["rollout", "alice/flags", "--revision", "exp", "--steps", "2", "-o", str(gif)])
    assert result.exit_code == 0, result.output
    assert gif.stat().st_size > 0
    result = runner.invoke(app, ["rollout", "alice/flags", "--revision", "nope", "--steps", "2", "-o", str(gif)])
    assert result.exit_code == 1 and "revision 'nope' not found" in result.output
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alice" / "flags").mkdir(parents=True)  # a local folder shadowing the Hub id
    assert runner.invoke(app, ["eval", "alice/flags", "--data", "x.h5"]).exit_code == 1
    result = runner.invoke(app, ["rollout", "alice/flags", "--hub", "--steps", "2", "-o", str(tmp_path / "hub.gif")])
    assert result.exit_code == 0, result.output


def test_push_and_pull_take_the_flags_of_hf_upload_and_download(hub, run_folder, tmp_path, monkeypatch) -> None:
    from tests.hub_server import TOKEN

    set_token(monkeypatch, None)  # logged out: --token alone authenticates
    push = ["hub", "push", str(run_folder), "alice/flagged", "--token", TOKEN]
    result = runner.invoke(app, [*push, "--private", "--commit-message", "first", "--repo-type", "model"])
    assert result.exit_code == 0, result.output
    state = json.loads((hub.root / "alice/flagged/repo.json").read_text())
    assert state["private"] and state["commits"][state["refs"]["main"]]["message"] == "first"
    result = runner.invoke(app, [*push, "--create-pr", "--commit-message", "proposal", "--include-training-state"])
    assert result.exit_code == 0, result.output
    assert f"{hub.url}/alice/flagged/discussions/1" in "".join(result.output.split())
    state = json.loads((hub.root / "alice/flagged/repo.json").read_text())
    assert state["commits"][state["refs"]["refs/pr/1"]]["message"] == "proposal"
    assert state["commits"][state["refs"]["main"]]["message"] == "first"  # main untouched
    assert runner.invoke(app, ["hub", "pull", "alice/flagged"]).exit_code == 1  # private: needs the token
    pulled = runner.invoke(app, ["hub", "pull", "alice/flagged", "--token", TOKEN, "--revision", "refs/pr/1"])
    assert pulled.exit_code == 0, pulled.output
    for args in ([*push, "--repo-type", "dataset"], ["hub", "pull", "alice/flagged", "--repo-type", "space"]):
        refused = runner.invoke(app, args)
        assert refused.exit_code == 2 and error_lines(refused.output)[0].startswith("error: --repo-type ")
    refused = runner.invoke(app, [*push, "--create-pr", "--revision", "exp"])
    assert refused.exit_code == 2 and "a pull request is opened against main" in refused.output

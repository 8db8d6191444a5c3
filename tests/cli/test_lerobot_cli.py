"""LeRobot datasets through the CLI: convert from the Hub (stand-in) and a folder, inspect, train directly."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.cli.test_train_cli import TINY
from tests.hub_server import hub  # noqa: F401 - the stand-in Hub fixture
from tests.lerobot_data import TOP, WRIST, write_lerobot
from wm.cli.app import app
from wm.core.data import open_dataset

runner = CliRunner()


def test_convert_from_the_hub_then_inspect(hub, tmp_path: Path) -> None:  # noqa: F811
    from huggingface_hub import HfApi

    root = write_lerobot(tmp_path / "push", "v2.1")
    HfApi().create_repo("alice/push", repo_type="dataset")
    HfApi().upload_folder(repo_id="alice/push", repo_type="dataset", folder_path=root)
    out = tmp_path / "push.h5"
    result = runner.invoke(app, ["data", "convert", "hf://datasets/alice/push", str(out), "--camera", f"{TOP},{WRIST}"])
    assert result.exit_code == 0, result.output
    assert (open_dataset(out).spec.width, open_dataset(out).spec.state_size) == (64, 3)
    result = runner.invoke(app, ["data", "inspect", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "states (3-d per step)" in result.output and "range -1 .. 15" in result.output
    result = runner.invoke(app, ["data", "inspect", str(root), "--camera", "front"], env={"COLUMNS": "300"})
    assert result.exit_code == 1 and "camera 'front' is not a video feature" in result.output
    assert "Traceback" not in result.output


def test_train_directly_on_a_lerobot_folder_then_eval_and_roll_out_on_it(tmp_path: Path) -> None:
    root = write_lerobot(tmp_path / "push", "v3.0")
    overrides = [*TINY, "train.seq_len=4", f"data.path={root}", f"data.camera={WRIST}", "data.image_size=16",
                 f"run.dir={tmp_path / 'runs'}", "run.name=push"]
    result = runner.invoke(app, ["train", *overrides])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "push" / "checkpoints" / "final.pt").exists()
    run = str(tmp_path / "runs" / "push")
    result = runner.invoke(app, ["eval", run, "--data", str(root), "--episodes", "2", "--horizons", "1",
                                 "--context", "2", "--spread-steps", "0"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"camera {WRIST}" in " ".join(result.output.split())  # the model's own camera, not the first
    video = tmp_path / "top.gif"
    result = runner.invoke(app, ["rollout", run, "--data", str(root), "--camera", TOP, "--context", "2",
                                 "--steps", "2", "-o", str(video)])
    assert result.exit_code == 0, result.output
    assert video.stat().st_size > 0
    result = runner.invoke(app, ["rollout", run, "--data", str(root), "--camera", "front", "-o", str(video)])
    assert result.exit_code == 1 and "camera 'front' is not a video feature" in result.output

"""wm train / wm finetune through the real CLI: config printing, errors, a tiny run, resume, finetune."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from wm.cli.app import app

runner = CliRunner()
TINY = [
    "model.size=xs", "model.depth=4", "model.deter=32", "model.hidden=32", "model.stoch=4", "model.classes=4",
    "data.context_clips=2", "data.context_len=3", "train.epochs=1", "train.steps_per_epoch=2",
    "train.batch_size=2", "train.seq_len=6", "train.log_every=1", "train.sample_steps=2", "train.device=cpu", "train.eval_at_end=false",
]  # fmt: skip


@pytest.fixture
def data(make_dataset: Callable[..., Path]) -> Path:
    return make_dataset("square.h5", lengths=(24, 24, 24), size=32)


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_print_config_resolves_presets_and_overrides(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--preset", "debug", "--print-config", "train.lr=0.01", f"run.dir={tmp_path}"])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(result.output)
    assert config["train"]["lr"] == 0.01 and config["train"]["steps_per_epoch"] == 250
    assert config["model"]["size"] == "xs" and config["data"]["path"] is None
    assert not any(tmp_path.iterdir())


def test_bad_override_is_one_line_exit_2() -> None:
    for args, needle, code in (
        (["train", "train.lrr=1"], "unknown config key 'train.lrr'; closest valid key: 'train.lr'", 2),
        (["train", "train.epochs=many"], "train.epochs", 2),
        (["train", "--preset", "nope"], "unknown preset 'nope'", 2),
        (["finetune", "data.path=x.h5"], "finetune.pretrained_path is not set", 1),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.output)
        assert len(_lines(result.output)) == 1 and needle in result.output, result.output


def test_train_resume_and_finetune(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "cli"
    result = runner.invoke(app, ["train", *TINY, f"data.path={data}", f"run.dir={tmp_path}", "run.name=cli"])
    assert result.exit_code == 0, result.output
    assert f"final checkpoint {run / 'checkpoints' / 'final.pt'}" in result.output
    assert (run / "samples" / "epoch_1.gif").is_file() and (run / "metrics.jsonl").is_file()

    refused = runner.invoke(app, ["train", "--resume", str(run), "model.deter=64"])
    assert refused.exit_code == 1 and "model.deter would change the model" in refused.output
    refused = runner.invoke(app, ["train", "--resume", str(run), "--preset", "debug"])
    assert refused.exit_code == 1 and "not --preset" in refused.output
    refused = runner.invoke(app, ["train", "--resume", str(tmp_path / "missing")])
    assert refused.exit_code == 1 and len(_lines(refused.output)) == 1

    extended = runner.invoke(app, ["train", "--resume", str(run), "train.epochs=2"])
    assert extended.exit_code == 0, extended.output
    assert (run / "checkpoints" / "epoch_2.pt").is_file()

    pretrained = f"finetune.pretrained_path={run}"
    shown = runner.invoke(app, ["finetune", "--print-config", pretrained, f"data.path={data}"])
    assert shown.exit_code == 0, shown.output
    config = yaml.safe_load(shown.output)
    assert config["finetune"]["freeze_modules"] == ["encoder"] and config["train"]["lr"] == 3e-5
    assert config["model"]["deter"] == 32  # the architecture comes from the pretrained checkpoint

    misfit = runner.invoke(app, ["finetune", pretrained, f"data.path={data}", "data.image_size=32"])
    assert misfit.exit_code == 1 and len(_lines(misfit.output)) == 1, misfit.output
    assert "frames 3x64x64 -> 3x32x32" in misfit.output and "finetune.reinit_modules=[" in misfit.output

    tuned = runner.invoke(
        app, ["finetune", pretrained, f"data.path={data}", f"run.dir={tmp_path}", "run.name=ft", *TINY[6:]]
    )
    assert tuned.exit_code == 0, tuned.output
    assert (tmp_path / "ft" / "checkpoints" / "final.pt").is_file()


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "long"
    overrides = [o for o in TINY if not o.startswith("train.steps_per_epoch")]
    command = [sys.executable, "-m", "wm", "train", *overrides, "train.steps_per_epoch=100000",
               f"data.path={data}", f"run.dir={tmp_path}", "run.name=long"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.is_file() and metrics.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err and "interrupted at step" in out
    saved = (run / "checkpoints" / "last.pt").resolve()
    assert saved.name.startswith("step_") and f"wm train --resume {run}" in out


def test_the_end_of_training_table_is_wm_evals(data: Path, tmp_path: Path) -> None:
    overrides = [*TINY[:-1], "train.eval_at_end=true", f"data.path={data}", f"run.dir={tmp_path}", "run.name=ev"]
    result = runner.invoke(app, ["train", *overrides], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    for part in ("held-out imagination (open loop)", "moving PSNR dB", "action gap dB (moving)", "actions: ",
                 "64 held-out windows from 1 episode(s);", "windows share episodes", "each action held 2 steps"):
        assert part in result.output
    assert "[" in next(line for line in result.output.splitlines() if "copy_last" in line)  # intervals in the rows


def test_device_flag_and_the_precision_line(data: Path, tmp_path: Path) -> None:
    import torch

    args = [*TINY, f"data.path={data}", f"run.dir={tmp_path}", "run.name=dev", "train.precision=fp32"]
    result = runner.invoke(app, ["train", *args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "trainable) on cpu;" in result.output and "precision fp32 (train.precision=fp32)" in _lines(result.output)
    noted = (tmp_path / "dev" / "config.yaml").read_text().splitlines()[0]
    assert noted == "# ran on cpu (train.device=cpu), precision fp32 (train.precision=fp32)"
    if torch.cuda.is_available():
        return
    for command in (["train", *args], ["finetune", f"finetune.pretrained_path={tmp_path / 'dev'}", *args]):
        refused = runner.invoke(app, [*command, "--device", "cuda"])
        assert refused.exit_code == 1 and len(_lines(refused.output)) == 1, refused.output
        assert "--device=cuda: CUDA is not available on this machine" in refused.output

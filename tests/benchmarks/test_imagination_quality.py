"""The quality benchmark's code path, tiny: collect, train for a budget, eval, print the table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.core.training.conftest import TINY_MODEL

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "imagination_quality.py"


def test_benchmark_runs_end_to_end_on_a_tiny_budget(tmp_path: Path) -> None:
    command = [
        sys.executable, str(SCRIPT), "--games", "breakout", "--recipes", "quick", "--train-steps", "80",
        "--heldout-steps", "40", "--minutes", "0.01", "--windows", "4", "--work", str(tmp_path),
        *TINY_MODEL, "data.image_size=32", "train.batch_size=2", "train.seq_len=8", "train.sample_steps=2",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "| breakout-quick (debug, 0.01 min on 2 core(s)) | h1 | h4 | h8 | h15 |" in out
    for row in ("full: model", "full: copy last", "moving: shuffled actions", "action gap (dB, moving)"):
        assert f"| {row} | " in out
    assert "breakout-quick: target" in out  # met or not: a 1-second model is not judged here
    assert (tmp_path / "breakout-heldout.h5").is_file() and (tmp_path / "runs" / "breakout-quick" / "checkpoints").is_dir()

"""kill -9 loses nothing: a run SIGKILLed again and again, each time continued with `wm train --resume`,
ends with the same weights, tensor for tensor, and the same metrics as a run never interrupted.

Kill points: inside the first checkpoint write (its temporary file exists: the run has no complete
checkpoint yet), between a checkpoint's rename and the ``last.pt`` link, and at random points drawn
from fixed seeds. A slow disk (tests/reliability/slow_disk.py) holds the first two open long enough
for the test to see them.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.conftest import square_world, write_canonical
from tests.core.training.conftest import tiny_overrides
from wm.core.checkpoint import load_checkpoint
from wm.core.config import load_config
from wm.core.training import Trainer
from wm.core.training.metrics import read_metrics

SLOW_DISK = Path(__file__).parent / "slow_disk.py"
EXTRA = ("train.epochs=3", "train.steps_per_epoch=4", "data.context_clips=1", "train.eval_at_end=false")
RANDOM_KILLS = (0, 3, 5)  # seeds of the random kill points
DEADLINE_S = 120  # per attempt; a hung run fails the test instead of hanging it


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_canonical(tmp_path_factory.mktemp("data") / "square.h5", square_world((24, 32, 40), size=32))


def _overrides(data: Path, runs: Path, name: str) -> list[str]:
    return tiny_overrides(data, runs, name, *EXTRA)


def _reference(data: Path, runs: Path) -> Path:
    """The uninterrupted run, in this process with the threads the subprocesses get."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Trainer(load_config(["default"], _overrides(data, runs, "reference"))).fit()
    finally:
        torch.set_num_threads(threads)
    return runs / "reference"


def _attempt(args: list[str], kill_when: Callable[[float], bool] | None, slow: bool = False) -> tuple[int, str]:
    """Run `wm train ARGS`; SIGKILL it as soon as ``kill_when(seconds since start)`` holds. (exit code, output)."""
    prefix = [str(SLOW_DISK), "0.2"] if slow else ["-m", "wm"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
    proc = subprocess.Popen([sys.executable, *prefix, "train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip
    start = time.monotonic()
    while kill_when is not None and proc.poll() is None and time.monotonic() - start < DEADLINE_S:
        if kill_when(time.monotonic() - start):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    out, _ = proc.communicate(timeout=DEADLINE_S)
    return proc.returncode, out


def _at_random(run: Path, seed: int) -> Callable[[float], bool]:
    """Kill at a point drawn with ``seed``: once the trainer has (re)opened the run folder and logged
    step 2..12, a further 0 to 0.3 s on (mid-step, mid-log or mid-checkpoint, wherever that lands)."""
    rng, began, reached = random.Random(seed), time.time(), []
    step, delay = rng.randint(2, 12), rng.uniform(0.0, 0.3)
    config, metrics = run / "config.yaml", run / "metrics.jsonl"

    def due(elapsed: float) -> bool:
        if not reached and config.is_file() and config.stat().st_mtime > began and metrics.is_file():
            if metrics.read_bytes().count(b"\n") >= step:
                reached.append(elapsed)
        return bool(reached) and elapsed - reached[0] >= delay

    return due


def test_sigkill_at_any_point_then_resume_ends_with_the_same_weights(data: Path, tmp_path: Path) -> None:
    reference = _reference(data, tmp_path)
    run, checkpoints = tmp_path / "killed", tmp_path / "killed" / "checkpoints"
    resume = ["--resume", str(run)]

    def in_first_write(_: float) -> bool:
        return any(checkpoints.glob(".epoch_1.*.pt"))

    def before_last_link(_: float) -> bool:
        return (checkpoints / "epoch_1.pt").is_file() and not (checkpoints / "last.pt").exists()

    code, out = _attempt(_overrides(data, tmp_path, "killed"), in_first_write, slow=True)
    assert code == -signal.SIGKILL, out
    assert not [p for p in checkpoints.iterdir() if not p.name.startswith(".")]  # no complete checkpoint
    code, out = _attempt(resume, before_last_link, slow=True)
    assert code == -signal.SIGKILL, out
    assert "holds no complete checkpoint" in out and "starting again from step 0" in out, out
    for seed in RANDOM_KILLS:
        code, out = _attempt(resume, _at_random(run, seed))
        assert code in (-signal.SIGKILL, 0), out
        if (checkpoints / "final.pt").is_file():  # finished before the kill came
            break
    else:
        code, out = _attempt(resume, None)
        assert code == 0, out

    expected, found = (load_checkpoint(r / "checkpoints" / "final.pt").model for r in (reference, run))
    assert expected.keys() == found.keys()
    for name, tensor in expected.items():
        assert torch.equal(tensor, found[name]), name
    logged = [r for r in read_metrics(run / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in logged] == list(range(1, 13))  # nothing lost, nothing repeated
    assert [r["loss"] for r in logged] == [r["loss"] for r in read_metrics(reference / "metrics.jsonl") if "loss" in r]
    if code == 0:  # the last attempt opened the folder, which drops what the killed writes left
        assert not [q for p in (run, checkpoints, run / "samples") for q in p.iterdir() if q.name.startswith(".")]

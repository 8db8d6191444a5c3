"""torchrun/DDP on CPU: two gloo processes on loopback, compared with one process on the union batch."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.core.training.conftest import tiny_overrides
from tests.core.training.ddp_worker import run_rank, zero_gumbel
from wm.core.config import load_config
from wm.core.errors import WMError
from wm.core.training import Trainer, resume_run
from wm.core.training.distributed import COLLECTIVE_TIMEOUT, is_peer_failure, setup
from wm.core.training.metrics import read_metrics

ONE_STEP = ("train.epochs=1", "train.steps_per_epoch=1", "train.grad_clip=0", "train.eval_at_end=false",
            "data.context_clips=0", "finetune.freeze_modules=[encoder]")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(pong: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-step run by 2 ranks of 2 windows each; rank 1 is pointed at its own run.dir to prove it writes nothing."""
    folder = tmp_path_factory.mktemp("ddp")
    overrides = tiny_overrides(pong, folder, "ddp", *ONE_STEP, "train.batch_size=2")
    spawn = multiprocessing.get_context("spawn")
    port = _free_port()
    ranks = [spawn.Process(target=run_rank, args=(r, 2, port, overrides, str(folder / f"rank{r}.pt"))) for r in (0, 1)]
    for process in ranks:
        process.start()
    for process in ranks:
        process.join(timeout=240)
    assert [p.exitcode for p in ranks] == [0, 0]
    return folder


def test_averaged_gradients_equal_one_process_on_the_union_batch(
    two_ranks: Path, pong: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wm.core.models.rssm.RSSM._gumbel", zero_gumbel)  # as in the ranks
    single = Trainer(load_config(["default"], tiny_overrides(pong, tmp_path, "one", *ONE_STEP, "train.batch_size=4")))
    single.fit()
    ranks = [torch.load(two_ranks / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    frozen = [name for name, _ in single.model.named_parameters() if name.startswith("encoder.")]
    assert frozen and not set(frozen) & set(ranks[0]["grads"])  # frozen parts take no part in the sync
    for name, param in single.model.named_parameters():
        if name in frozen:
            assert torch.equal(ranks[0]["weights"][name], param) and torch.equal(ranks[1]["weights"][name], param)
            continue
        error = torch.linalg.vector_norm(ranks[0]["grads"][name] - param.grad)
        assert error <= 1e-4 * torch.linalg.vector_norm(param.grad) + 1e-7, name  # float32 summation order only
        assert torch.equal(ranks[0]["weights"][name], ranks[1]["weights"][name]), name  # replicas stay identical
    logged = read_metrics(two_ranks / "ddp" / "metrics.jsonl")[0]
    alone = read_metrics(tmp_path / "one" / "metrics.jsonl")[0]
    assert logged["loss"] == pytest.approx(alone["loss"], rel=1e-5)  # rank-averaged loss of the union batch


def test_only_rank_zero_writes(two_ranks: Path) -> None:
    assert not (two_ranks / "rank1_runs").exists()
    run = two_ranks / "ddp"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_1.pt", "final.pt", "last.pt"]
    assert len(read_metrics(run / "metrics.jsonl")) == 1


def test_two_process_checkpoint_resumes_in_one_process(two_ranks: Path) -> None:
    config, checkpoint = resume_run(two_ranks / "ddp", ["train.epochs=3", "train.batch_size=4"])
    assert checkpoint.training["world_size"] == 2 and checkpoint.training["step"] == 1
    result = Trainer(config, resume=checkpoint).fit()
    assert result.step == 3
    assert [r["step"] for r in read_metrics(two_ranks / "ddp" / "metrics.jsonl")] == [1, 2, 3]


def test_torchrun_two_processes_end_to_end(pong: Path, tmp_path: Path) -> None:
    wm = Path(sys.executable).parent / "wm"
    overrides = [o for o in tiny_overrides(pong, tmp_path, "tr") if not o.startswith("train.epochs")]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(wm),
        "train", "--preset", "debug", *overrides, "train.epochs=1", "train.steps_per_epoch=3", "train.eval_at_end=false",
        "data.holdout_episodes=1",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.count("run folder") == 1  # rank 0 alone reports
    assert "x 2 processes" in proc.stdout
    run = tmp_path / "tr"
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3]
    assert (run / "checkpoints" / "final.pt").is_file() and (run / "samples" / "epoch_1.gif").is_file()


def test_an_error_on_one_rank_stops_the_job_once(pong: Path, tmp_path: Path) -> None:
    fault, rank = Path(__file__).parent / "ddp_fault.py", 1
    overrides = [o for o in tiny_overrides(pong, tmp_path, "f") if not o.startswith("train.")]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(fault),
        str(rank), "3", "train", *overrides, "data.context_clips=0", "train.epochs=1", "train.steps_per_epoch=50",
        "train.batch_size=2", "train.seq_len=6", "train.log_every=5", "train.device=cpu", "train.eval_at_end=false",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo", "PYTHONPATH": str(Path.cwd())}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180)  # bounded: no rank hangs
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert out.count(f"injected fault on rank {rank} at step 3") == 1, out[-3000:]  # the error, shown once
    assert "gloo/transport" not in out and "RuntimeError" not in out, out[-3000:]  # no second error from rank 0
    assert out.count("stopped: another process of the job failed") == 1, out[-3000:]  # but one line saying so


def test_collectives_give_up_after_a_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr("torch.distributed.is_initialized", lambda: False)
    monkeypatch.setattr("torch.distributed.init_process_group", lambda **kwargs: seen.update(kwargs))
    for key, value in (("RANK", "1"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "1")):
        monkeypatch.setenv(key, value)
    context = setup("cpu")
    assert context.rank == 1 and seen["backend"] == "gloo"
    assert seen["timeout"] == COLLECTIVE_TIMEOUT and COLLECTIVE_TIMEOUT.total_seconds() <= 30 * 60


def test_peer_failures_are_told_from_a_rank_s_own_errors() -> None:
    lost = "[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:553] Connection closed by peer [127.0.0.1]:5"
    assert is_peer_failure(RuntimeError(lost)) and is_peer_failure(torch.distributed.DistBackendError("NCCL timeout"))
    assert not is_peer_failure(RuntimeError("CUDA out of memory")) and not is_peer_failure(WMError(lost))


def test_one_process_is_one_rank() -> None:  # the device choice: tests/core/test_devices.py
    context = setup("cpu")  # not launched by torchrun: one process, no process group
    assert (context.rank, context.world_size, context.is_main, context.distributed) == (0, 1, True, False)

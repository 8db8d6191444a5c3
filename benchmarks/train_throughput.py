"""Training throughput of the RSSM world model: frames/s and the share of the machine's matmul FLOP/s.

Builds ``model.size`` (default ``s``) for 64x64 RGB frames with ALE's 18 actions and times the
training step exactly as ``wm train`` runs it (``TrainStep``: loss, backward, gradient clipping,
AdamW, schedule) on a fixed random batch, reporting the median over ``--steps`` steps after
``--warmup`` untimed ones. The step's FLOPs are counted with ``FlopCounterMode`` and compared with
the FLOP/s of a large fp32 ``torch.matmul`` measured on the same machine (best of runs before
and after the steps). The process
CPU time per step is printed too: on a shared machine it moves less than wall time does.

    python benchmarks/train_throughput.py                          # size s, batch 16 x 64 frames, fp32
    python benchmarks/train_throughput.py --precision bf16         # bf16 autocast (train.precision=bf16)
    python benchmarks/train_throughput.py --precision auto         # as wm train's default: bf16 where native
    python benchmarks/train_throughput.py --device cuda --batch 64
    python benchmarks/train_throughput.py --procs 2                # 2 processes under DDP (torchrun, gloo on CPU)
    torchrun --nproc-per-node 8 benchmarks/train_throughput.py --device cuda --precision bf16 --compile

In the multi-process mode (``--procs N``, or launched by torchrun) every process steps its own
batch of ``--batch`` windows through DistributedDataParallel as ``wm train`` does under torchrun;
frames/s and FLOP/s count all processes together, and rank 0 prints.

Target: the fp32 step of size s at >= 80% of the fp32 matmul FLOP/s measured in the same run
(a ratio, so that it holds on a machine whose speed moves from hour to hour).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from rich.console import Console
from rich.table import Table
from torch.utils.flop_counter import FlopCounterMode

from wm.core.config.schema import ModelConfig, TrainConfig
from wm.core.data.spec import DataSpec
from wm.core.models import build_model
from wm.core.training.distributed import DistContext, launched_by_torchrun, setup, wrap_ddp
from wm.core.training.optim import build_optimizer, build_scheduler, trainable_parameters
from wm.core.training.step import LossModule, TrainStep, configure_backends

TARGET_FRACTION = 0.8


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops(device: torch.device, dtype: torch.dtype, repeats: int = 10) -> float:
    """FLOP/s of a large square matmul, best of ``repeats``: what the machine's GEMM can do when let."""
    n = 2048 if device.type == "cpu" else 8192
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = []
    for i in range(repeats + 2):
        sync(device)
        began = time.perf_counter()
        a @ b
        sync(device)
        if i >= 2:
            times.append(time.perf_counter() - began)
    return 2 * n**3 / min(times)


def build_step(args: argparse.Namespace, context: DistContext) -> tuple[TrainStep, dict[str, torch.Tensor]]:
    device = context.device
    configure_backends(device)  # as wm train does
    spec = DataSpec(channels=args.channels, height=args.image, width=args.image, num_actions=args.actions)
    model = build_model(ModelConfig(size=args.size), spec).to(device)
    train = TrainConfig(batch_size=args.batch, seq_len=args.seq, precision=args.precision, compile=args.compile)
    optimizer = build_optimizer(model, train)
    step = TrainStep(wrap_ddp(LossModule(model), context), trainable_parameters(model), optimizer, build_scheduler(optimizer, train), train, device)
    frames = torch.randint(0, 256, (args.batch, args.seq, args.channels, args.image, args.image), dtype=torch.uint8)
    batch = {"frames": frames, "actions": torch.randint(0, args.actions, (args.batch, args.seq))}
    return step, {k: v.to(device) for k, v in batch.items()}


def step_flops(step: TrainStep, batch: dict[str, torch.Tensor]) -> int:
    """FLOPs of one training step (forward and backward; the optimizer's elementwise work is not counted)."""
    with FlopCounterMode(display=False) as counter:
        step(batch)
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="s", choices=["xs", "s", "m", "l"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--image", type=int, default=64)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--actions", type=int, default=18)
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "auto"], help="train.precision")
    parser.add_argument("--compile", action="store_true", help="torch.compile the loss (train.compile)")
    parser.add_argument("--procs", type=int, default=1, help="processes under DDP (relaunches itself through torchrun)")
    args = parser.parse_args()
    if args.procs > 1 and not launched_by_torchrun():
        relaunch(args.procs)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    context = setup(args.device)
    device = context.device
    console = Console()
    torch.manual_seed(0)

    peak = matmul_flops(device, torch.float32)
    step, batch = build_step(args, context)
    peak_bf16 = matmul_flops(device, torch.bfloat16) if step.precision.autocast else 0.0
    flops = step_flops(step, batch)
    for _ in range(args.warmup):
        step(batch)
    times, cpu_times = [], []
    for _ in range(args.steps):
        sync(device)
        began, cpu_began = time.perf_counter(), time.process_time()
        step(batch)
        sync(device)
        times.append(time.perf_counter() - began)
        cpu_times.append(time.process_time() - cpu_began)
    median = statistics.median(times)
    peak = max(peak, matmul_flops(device, torch.float32))  # again after the steps: the better of two moments
    if peak_bf16:
        peak_bf16 = max(peak_bf16, matmul_flops(device, torch.bfloat16))
    world = context.world_size  # all processes together
    frames, flops, peak, peak_bf16 = args.batch * args.seq * world, flops * world, peak * world, peak_bf16 * world

    table = Table(title=f"train step: size {args.size}, batch {args.batch} x {args.seq} frames, {args.image}x{args.image}x{args.channels}, "
                  f"{step.precision.name}, {args.device}, {context.world_size} process(es) x {torch.get_num_threads()} threads")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("precision", str(step.precision))
    table.add_row("step time, median (s)", f"{median:.3f}  (min {min(times):.3f}, max {max(times):.3f}, {len(times)} steps)")
    table.add_row("process CPU time per step, median (s)", f"{statistics.median(cpu_times):.3f}  (all threads; less sensitive to other load)")
    table.add_row("frames/s, median", f"{frames / median:,.0f}")
    table.add_row("step GFLOP (fwd + bwd)", f"{flops / 1e9:,.1f}")
    table.add_row("achieved GFLOP/s", f"{flops / median / 1e9:,.1f}")
    table.add_row("fp32 matmul GFLOP/s", f"{peak / 1e9:,.1f}")
    table.add_row("fraction of fp32 matmul FLOP/s", f"{flops / median / peak:.1%}  (target >= {TARGET_FRACTION:.0%} in fp32)")
    if peak_bf16:
        table.add_row("bf16 matmul GFLOP/s", f"{peak_bf16 / 1e9:,.1f}")
        table.add_row("fraction of bf16 matmul FLOP/s", f"{flops / median / peak_bf16:.1%}")
    if context.is_main:
        console.print(table)
    context.close()


def relaunch(procs: int) -> None:
    """The multi-process mode: run this script again as ``procs`` torchrun processes on this machine."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}", *sys.argv]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    main()

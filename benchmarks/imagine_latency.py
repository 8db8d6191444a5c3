"""Interactive imagination latency: one step at batch 1 (state update + decode to pixels), as `wm play` runs it.

For ``model.size=s`` and the ``atari`` preset's model on 64x64 RGB frames with ALE's 18 actions,
reports the median and 90th percentile over many ``ImaginationEngine.step`` calls after a warm-up,
the bare ``model.imagine`` call (the difference is the engine's own overhead) and the two halves
of a step (``imagine(decode=False)`` and ``decode``) so the hot spot is visible. Weights are freshly initialised: latency does not depend on what the model learned.
The engine runs batch-1 steps on one thread whatever ``--threads`` says; the other rows use ``--threads``.

    python benchmarks/imagine_latency.py                 # 2 threads, 300 steps per model
    python benchmarks/imagine_latency.py --threads 1 --steps 1000
    python benchmarks/imagine_latency.py --bf16          # bfloat16 decoding (opt-in, inexact)

Targets on the 2-core dev machine: <= 2.5 ms per frame (size s) and <= 5 ms (atari).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from rich.console import Console
from rich.table import Table

from wm.core.config import load_config
from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.imagine import ImaginationEngine
from wm.core.models import build_model

SPEC = DataSpec(channels=3, height=64, width=64, num_actions=18)
TARGETS_MS = {"s": 2.5, "atari": 5.0}


def timings(call: Callable[[], object], steps: int, warmup: int) -> list[float]:
    """Milliseconds per call, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    out = []
    for _ in range(steps):
        began = time.perf_counter()
        call()
        out.append((time.perf_counter() - began) * 1000)
    return out


def measure(config: ModelConfig, steps: int, warmup: int, decode_dtype: torch.dtype) -> dict[str, list[float]]:
    """Per-step latencies of the whole step and of its two halves, batch 1."""
    torch.manual_seed(0)
    model = build_model(config, SPEC)
    engine = ImaginationEngine(model, decode_dtype=decode_dtype)
    context = torch.randint(0, 256, (1, 8, 3, 64, 64), dtype=torch.uint8)
    engine.reset(context, torch.zeros(1, 7, dtype=torch.long))
    action = torch.tensor([3])
    state = engine.state
    with torch.inference_mode():
        bare = timings(lambda: model.imagine(state, action[:, None]), steps, warmup)
        update = timings(lambda: model.imagine(state, action[:, None], decode=False), steps, warmup)
        decode = timings(lambda: model.decode(state), steps, warmup)
    step = timings(lambda: engine.step(action), steps, warmup)
    return {"step": step, "model.imagine alone": bare, "state update": update, "decode": decode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (the dev machine has 2 cores)")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 decoding (ImaginationEngine(decode_dtype=torch.bfloat16))")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    console = Console()
    models = {"s": ModelConfig(size="s"), "atari": load_config(["atari"], []).model}
    precision = "bf16" if args.bf16 else "fp32"
    title = f"imagination latency, batch 1, 64x64x3, {precision} decoding, {args.threads} threads, {args.steps} steps"
    table = Table(title=title)
    for column in ("model", "part", "median ms", "p90 ms", "target ms", "frames/s"):
        table.add_column(column, justify="left" if column in ("model", "part") else "right")
    for name, config in models.items():
        results = measure(config, args.steps, args.warmup, torch.bfloat16 if args.bf16 else torch.float32)
        for part, values in results.items():
            median = statistics.median(values)
            p90 = statistics.quantiles(values, n=10)[-1]
            target = f"{TARGETS_MS[name]:.1f}" if part == "step" else ""
            table.add_row(name, part, f"{median:.2f}", f"{p90:.2f}", target, f"{1000 / median:,.0f}" if part == "step" else "")
        table.add_section()
    console.print(table)


if __name__ == "__main__":
    main()

"""Interactive imagination latency: one step at batch 1 (state update + decode to pixels), as `wm play` runs it.

For ``model.size=s`` on 64x64 RGB frames with 18 actions, and for the ``atari`` preset's model on
what ``wm data collect ale:...`` records (the same, plus rewards and terminals, so the model has
reward and continue heads, whose predictions every step also computes), reports the median and
90th percentile over many ``ImaginationEngine.step`` calls after a warm-up,
with exact decoding and with fast decoding (``fast_decode=True``, what ``wm play`` runs unless
``--exact``), timed in alternating blocks so that a change in the machine's load hits both alike.
Then, with exact decoding, the bare ``model.imagine`` call (the difference is the engine's own
overhead) and the two halves of a step (``imagine(decode=False)`` and ``decode``), so the hot spot
is visible. Weights are freshly initialised: latency does not depend on what the model learned.
The engine runs batch-1 steps on one thread whatever ``--threads`` says; the other rows use ``--threads``.

    python benchmarks/imagine_latency.py                 # 2 threads, 3 blocks of 300 steps per row
    python benchmarks/imagine_latency.py --threads 1 --steps 1000

Targets on the 2-core dev machine: <= 2.5 ms per frame (size s) and <= 5 ms (atari).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import torch
from rich.console import Console
from rich.table import Table

from wm.core.config import load_config
from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.imagine import ImaginationEngine
from wm.core.models import build_model

SPEC = DataSpec(channels=3, height=64, width=64, num_actions=18)
ALE_SPEC = replace(SPEC, has_rewards=True, has_terminals=True)
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


def measure(config: ModelConfig, spec: DataSpec, steps: int, warmup: int, blocks: int) -> dict[str, list[float]]:
    """Per-step latencies at batch 1: whole steps with exact and fast decoding, then the parts."""
    context = torch.randint(0, 256, (1, 8, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    action = torch.tensor([3])
    engines = {}
    for kind in ("exact", "fast"):
        torch.manual_seed(0)  # the same weights for both
        engines[f"step, {kind} decoding"] = ImaginationEngine(build_model(config, spec), fast_decode=kind == "fast")
    results: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(blocks):
        for name, engine in engines.items():
            engine.reset(context, torch.zeros(1, 7, dtype=torch.long))
            results[name] += timings(lambda engine=engine: engine.step(action), steps, warmup)
    model, state = engines["step, exact decoding"].model, engines["step, exact decoding"].state
    with torch.inference_mode():
        results["model.imagine alone"] = timings(lambda: model.imagine(state, action[:, None]), steps, warmup)
        results["state update"] = timings(lambda: model.imagine(state, action[:, None], decode=False), steps, warmup)
        results["decode"] = timings(lambda: model.decode(state), steps, warmup)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (the dev machine has 2 cores)")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per block and per row")
    parser.add_argument("--blocks", type=int, default=3, help="alternating blocks of exact and fast steps")
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    console = Console()
    models = {"s": (ModelConfig(size="s"), SPEC), "atari": (load_config(["atari"], []).model, ALE_SPEC)}
    title = f"imagination latency, batch 1, 64x64x3, {args.threads} threads, {args.blocks} x {args.steps} steps"
    table = Table(title=title)
    for column in ("model", "part", "median ms", "p90 ms", "target ms", "frames/s"):
        table.add_column(column, justify="left" if column in ("model", "part") else "right")
    for name, (config, spec) in models.items():
        for part, values in measure(config, spec, args.steps, args.warmup, args.blocks).items():
            median = statistics.median(values)
            p90 = statistics.quantiles(values, n=10)[-1]
            step = part.startswith("step")
            target = f"{TARGETS_MS[name]:.1f}" if step else ""
            table.add_row(name, part, f"{median:.2f}", f"{p90:.2f}", target, f"{1000 / median:,.0f}" if step else "")
        table.add_section()
    console.print(table)


if __name__ == "__main__":
    main()

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
Then the weight-streaming limit, measured in the same run: the bytes of weights an exact step reads
(``step_weight_bytes``), the time to read them once at the memory bandwidth one thread gets now
(the sum of a 256 MB tensor, best of 7), and the exact step's ratio to that time (target <= 2).

Then the ``flexible`` preset's model (DINOv2-small and SmolLM2-135M shapes built from their configs,
random weights, so it runs offline; 64 patch tokens + 1 action token per timestep, window 16): one
imagined frame at batch 1 with ``--threads``, from a state whose window holds 1, 8 and 16 timesteps,
with the key/value cache on and off (``FlexibleWorldModel.kv_cache``), the two timed in alternation,
``--repeats`` times each, every repeat printed; then ``wm play``'s step on it (the engine, cache on).

    python benchmarks/imagine_latency.py                 # 2 threads, 3 blocks of 300 steps per row
    python benchmarks/imagine_latency.py --threads 1 --steps 1000
    python benchmarks/imagine_latency.py --models flexible --repeats 5
    python benchmarks/imagine_latency.py --models s atari --device cuda --static   # + the CUDA-graph step

Targets on the 2-core dev machine: <= 2.5 ms per frame (size s) and <= 5 ms (atari); flexible: with
the cache, the same cost at every fill and >= 10x below the uncached frame at a full window.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import torch
from torch import nn
from rich.console import Console
from rich.table import Table

from wm.core.config import load_config
from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.imagine import ImaginationEngine
from wm.core.models import build_model
from wm.core.models.flexible import FlexibleWorldModel
from wm.core.models.layers import FeatureLinear

SPEC = DataSpec(channels=3, height=64, width=64, num_actions=18)
ALE_SPEC = replace(SPEC, has_rewards=True, has_terminals=True)
TARGETS_MS = {"s": 2.5, "atari": 5.0}
# the architectures of facebook/dinov2-small and HuggingFaceTB/SmolLM2-135M, from their config.json
DINOV2_SMALL = dict(
    model_type="dinov2", hidden_size=384, num_hidden_layers=12, num_attention_heads=6, patch_size=14, image_size=518
)
SMOLLM2_135M = dict(
    model_type="llama",
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    vocab_size=49152,
    max_position_embeddings=8192,
    rope_theta=100000.0,
    rms_norm_eps=1e-5,
    tie_word_embeddings=True,
)
FILLS = (1, 8, 16)  # timesteps in the window when the frame is imagined (16 = full)


def timings(call: Callable[[], object], steps: int, warmup: int) -> list[float]:
    """Milliseconds per call (until the GPU, if any, has finished it), after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    out = []
    for _ in range(steps):
        began = time.perf_counter()
        call()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        out.append((time.perf_counter() - began) * 1000)
    return out


def bandwidth(repeats: int = 7) -> float:
    """Bytes/s at which one thread reads memory: the sum of a 256 MB tensor (far beyond any cache),
    best of ``repeats``."""
    data = torch.ones(2**26)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the engine's batch-1 step runs
    try:
        best = min(timings(data.sum, 1, 0)[0] for _ in range(repeats))
    finally:
        torch.set_num_threads(threads)
    return data.numel() * data.element_size() / (best / 1000)


def step_weight_bytes(model: nn.Module) -> int:
    """Bytes of the weights one exact batch-1 step reads: every parameter of the parts that imagine
    and decode run (not the encoder nor the posterior, which only observing runs), and of a
    ``FeatureLinear``'s one-hot part only the rows that one sample picks (one per latent)."""
    total = 0
    for name, module in model.named_modules():
        if name.startswith("encoder") or name.startswith("dynamics.post_"):
            continue
        for param in module.parameters(recurse=False):
            rows = param.shape[0]
            if isinstance(module, FeatureLinear) and param is module.weight:
                rows = module.dense + model.dims.stoch
            total += param[:rows].numel() * param.element_size()
    return total


def measure(
    config: ModelConfig, spec: DataSpec, steps: int, warmup: int, blocks: int, device: torch.device, static: bool
) -> dict[str, list[float]]:
    """Per-step latencies at batch 1: whole steps with exact and fast decoding (and, with ``static``,
    exact decoding from static buffers, a CUDA graph on CUDA), then the parts."""
    context = torch.randint(0, 256, (1, 8, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    action = torch.tensor([3], device=device)
    engines = {}
    kinds = [("exact", False), ("fast", False)] + [("exact", True)] * static
    for kind, static_steps in kinds:
        torch.manual_seed(0)  # the same weights for all
        name = f"step, {kind} decoding" + (", static (CUDA graph on CUDA)" if static_steps else "")
        model = build_model(config, spec)
        engines[name] = ImaginationEngine(model, device, fast_decode=kind == "fast", static_steps=static_steps)
    results: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(blocks):
        for name, engine in engines.items():
            engine.reset(context.to(device), torch.zeros(1, 7, dtype=torch.long, device=device))
            results[name] += timings(lambda engine=engine: engine.step(action), steps, warmup)
    model, state = engines["step, exact decoding"].model, engines["step, exact decoding"].state
    with torch.inference_mode():
        results["model.imagine alone"] = timings(lambda: model.imagine(state, action[:, None]), steps, warmup)
        results["state update"] = timings(lambda: model.imagine(state, action[:, None], decode=False), steps, warmup)
        results["decode"] = timings(lambda: model.decode(state), steps, warmup)
    return results


def flexible_config() -> ModelConfig:
    """The ``flexible`` preset's model with its pretrained parts replaced by their architectures (random weights)."""
    config = load_config(["flexible"], []).model
    config.vision.name_or_path, config.vision.config = "", dict(DINOV2_SMALL)
    config.backbone.name_or_path, config.backbone.config = "", dict(SMOLLM2_135M)
    return config


def measure_flexible(config: ModelConfig, repeats: int, play_steps: int) -> dict[tuple[int, str], list[float]]:
    """Milliseconds per imagined frame at batch 1, {(timesteps in the window, "on"/"off"): repeats},
    and {(window size, "play"): play_steps} for the engine's step once the window is full."""
    torch.manual_seed(0)
    model = build_model(config, SPEC).eval()
    assert isinstance(model, FlexibleWorldModel)
    gen = torch.Generator().manual_seed(0)
    action = torch.tensor([[3]])
    results: dict[tuple[int, str], list[float]] = {}
    with torch.inference_mode():
        for fill in FILLS:
            frames = torch.randint(0, 256, (1, fill, 3, 64, 64), dtype=torch.uint8, generator=gen)
            states = {}
            for cache in ("on", "off"):
                model.kv_cache = cache == "on"
                states[cache] = model.observe(frames, torch.zeros(1, fill - 1, dtype=torch.long))
                model.imagine(states[cache], action)  # warm-up
                results[fill, cache] = []
            for _ in range(repeats):  # on and off in alternation, so that a change in load hits both
                for cache, state in states.items():
                    results[fill, cache] += timings(lambda state=state: model.imagine(state, action), 1, 0)
    model.kv_cache = True
    window = config.backbone.window
    engine = ImaginationEngine(model)
    context = torch.randint(0, 256, (1, window, 3, 64, 64), dtype=torch.uint8, generator=gen)
    engine.reset(context, torch.zeros(1, window - 1, dtype=torch.long))
    results[window, "play"] = timings(lambda: engine.step(3), play_steps, 1)
    return results


def flexible_table(results: dict[tuple[int, str], list[float]], threads: int) -> Table:
    title = f"flexible preset's model, one imagined frame (state update + decode), batch 1, {threads} threads"
    table = Table(title=title)
    for column in ("timesteps in window", "cache", "median ms", "repeats ms", "frames/s"):
        table.add_column(column, justify="left" if column == "cache" else "right")
    for (fill, cache), values in results.items():
        median = statistics.median(values)
        label = "on, wm play's step (engine, 1 thread)" if cache == "play" else cache
        repeats = ", ".join(f"{value:.0f}" for value in values)
        table.add_row(str(fill), label, f"{median:.0f}", repeats, f"{1000 / median:.2f}")
    return table


def flexible_summary(results: dict[tuple[int, str], list[float]]) -> str:
    """The ratios the targets ask for, from this run's medians."""
    med = {key: statistics.median(values) for key, values in results.items()}
    full, first = FILLS[-1], FILLS[0]
    return (
        f"cache off / cache on at a full window ({full} timesteps): {med[full, 'off'] / med[full, 'on']:.1f}x; "
        f"cache on, full / {first} timestep: {med[full, 'on'] / med[first, 'on']:.2f}x; "
        f"cache off, full / {first} timestep: {med[full, 'off'] / med[first, 'off']:.2f}x"
    )


def limit_table(limits: list[tuple[str, int, float]], bytes_per_s: float) -> Table:
    """The exact batch-1 step against the time to read its weights once at the measured bandwidth."""
    table = Table(title=f"weight-streaming limit: memory read at {bytes_per_s / 1e9:.1f} GB/s (1 thread, measured now)")
    for column in ("model", "weights read per step (MB)", "time to read them (ms)", "exact step (ms)", "step / read (target <= 2)"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, size, step_ms in limits:
        read_ms = size / bytes_per_s * 1000
        table.add_row(name, f"{size / 1e6:.1f}", f"{read_ms:.2f}", f"{step_ms:.2f}", f"{step_ms / read_ms:.2f}x")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (the dev machine has 2 cores)")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per block and per row")
    parser.add_argument("--blocks", type=int, default=3, help="alternating blocks of exact and fast steps")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--models", nargs="+", choices=("s", "atari", "flexible"), default=["s", "atari", "flexible"])
    parser.add_argument("--repeats", type=int, default=3, help="flexible: frames per row, cache on and off in turn")
    parser.add_argument("--device", default="cpu", help="s and atari rows: cpu or cuda")
    parser.add_argument("--static", action="store_true", help="s and atari: also the static step (a CUDA graph on CUDA)")
    parser.add_argument("--play-steps", type=int, default=5, help="flexible: timed wm play steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    console = Console()
    models = {"s": (ModelConfig(size="s"), SPEC), "atari": (load_config(["atari"], []).model, ALE_SPEC)}
    models = {name: model for name, model in models.items() if name in args.models}
    title = f"imagination latency, batch 1, 64x64x3, {args.threads} threads, {args.blocks} x {args.steps} steps"
    table = Table(title=title)
    for column in ("model", "part", "median ms", "p90 ms", "target ms", "frames/s"):
        table.add_column(column, justify="left" if column in ("model", "part") else "right")
    limits = []
    for name, (config, spec) in models.items():
        for part, values in measure(config, spec, args.steps, args.warmup, args.blocks, device, args.static).items():
            median = statistics.median(values)
            p90 = statistics.quantiles(values, n=10)[-1]
            step = part.startswith("step")
            target = f"{TARGETS_MS[name]:.1f}" if step else ""
            table.add_row(name, part, f"{median:.2f}", f"{p90:.2f}", target, f"{1000 / median:,.0f}" if step else "")
            if part == "step, exact decoding":
                torch.manual_seed(0)
                limits.append((name, step_weight_bytes(build_model(config, spec)), median))
        table.add_section()
    if models:
        console.print(table)
        if device.type == "cpu":  # the weights stream from the CPU's memory only there
            console.print(limit_table(limits, bandwidth()))
    if "flexible" in args.models:
        results = measure_flexible(flexible_config(), args.repeats, args.play_steps)
        console.print(flexible_table(results, args.threads))
        console.print(flexible_summary(results))


if __name__ == "__main__":
    main()

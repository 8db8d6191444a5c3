"""`wm rollout`, `wm play`, `wm eval`: watch, play and measure what a model imagines.

A thin shell over wm.core.imagine; torch, pygame and friends are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from wm.cli.common import DEVICE_OPTION, TRUST_OPTION, console, notice

MODEL_ARGUMENT = typer.Argument(
    ..., help="Checkpoint file, run folder (its newest checkpoint), pulled Hub folder or Hub id user/name (@revision "
    "optional). A MODEL that looks like a path (./, /, a .pt/.safetensors/.json name, or a first folder that exists here) "
    "is never looked up on the Hub; write hf://user/name to force the Hub."
)
HUB_OPTION = typer.Option(False, "--hub", help="Read MODEL as a Hub id even when it looks like a local path.")
REVISION_OPTION = typer.Option(None, "--revision", help="Hub branch, tag or commit (same as MODEL@REV).")
CAMERA_OPTION = typer.Option(
    None, "--camera", help="LeRobot --data: video feature(s), a,b tiled side by side (default: the model's data.camera)."
)


def rollout(
    model: str = MODEL_ARGUMENT,
    hub: bool = HUB_OPTION,
    revision: str | None = REVISION_OPTION,
    trust_remote_code: bool = TRUST_OPTION,
    device: str | None = DEVICE_OPTION,
    steps: int = typer.Option(50, "--steps", "-n", help="Imagined frames to write."),
    output: Path = typer.Option(..., "--output", "-o", help="Output video: .gif or .mp4."),
    fps: float = typer.Option(15.0, "--fps", help="Frames per second of the video."),
    scale: int = typer.Option(4, "--scale", help="Nearest-neighbour upscaling factor."),
    data: str | None = typer.Option(
        None, "--data", help="Take the context from this dataset (a file, folder or hf://datasets/USER/NAME) instead of the checkpoint."
    ),
    camera: str | None = CAMERA_OPTION,
    episode: int = typer.Option(0, "--episode", help="Episode of --data, -1 the last (without --data: the checkpoint's context clip)."),
    start: int = typer.Option(0, "--start", help="First context frame within the episode of --data."),
    context: int | None = typer.Option(None, "--context", help="Context frames to observe (default: the model's data.context_len)."),
    actions: str | None = typer.Option(
        None, "--actions", help="random | repeat:K | 0,2,3,... (indices or names) | FILE.npy | data (default: random; data with --compare)."
    ),
    compare: bool = typer.Option(False, "--compare", help="Show the recorded truth beside the imagination (needs --data)."),
    batch: int = typer.Option(1, "--batch", help="Imagine this many futures from the same context, tiled."),
    seed: int = typer.Option(0, "--seed", help="Seed for random actions and the model's sampling."),
    each_action: bool = typer.Option(
        False, "--each-action", help="One tile per action, held for every step, all from the same context "
        "(with --data also the truth and the recorded actions' future)."
    ),
) -> None:
    """Imagine STEPS frames from a context and write them as a GIF or MP4."""
    from rich.table import Table

    from wm.core.devices import resolve_device
    from wm.core.imagine.rollout import RolloutOptions, run_rollout
    from wm.core.loading import load_model

    options = RolloutOptions(
        output, steps, fps, scale, data, episode, start, context, actions, compare, batch, seed, each_action, camera
    )
    where = resolve_device(device or "auto", setting="--device")
    world_model, checkpoint = load_model(model, revision, hub=hub, trust_remote_code=trust_remote_code, log=notice)
    result = run_rollout(world_model, checkpoint, options, device=where)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column(overflow="fold")  # long paths wrap instead of being cut
    table.add_row("model", f"{model} ({type(world_model).__name__}) on {where}")
    table.add_row("context", result.source)
    table.add_row("steps", f"{result.steps} x {result.batch} future(s)")
    table.add_row("imagination", f"{result.frames_per_second:,.0f} frames/s ({result.seconds * 1000:.0f} ms)")
    table.add_row("wrote", f"[bold]{result.output}[/]")
    if result.states is not None:
        table.add_row("states", f"[bold]{result.states}[/] (predicted state vectors, futures x steps x values)")
    console().print(table)


def play(
    model: str = MODEL_ARGUMENT,
    hub: bool = HUB_OPTION,
    revision: str | None = REVISION_OPTION,
    trust_remote_code: bool = TRUST_OPTION,
    device: str | None = DEVICE_OPTION,
    scale: int = typer.Option(4, "--scale", help="Window upscaling factor (nearest neighbour)."),
    fps: float = typer.Option(15.0, "--fps", help="Target frame rate (0 = as fast as possible)."),
    record: Path | None = typer.Option(None, "--record", help="Save what was shown to this .mp4 or .gif."),
    steps: int | None = typer.Option(None, "--steps", help="Quit after this many imagined frames (default: at Esc)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the context clips drawn and the model's sampling."),
    exact: bool = typer.Option(
        False, "--exact", help="Decode frames exactly (default: fast decoding, within 0.03 of exact, where offered)."
    ),
    data: str | None = typer.Option(
        None, "--data", help="Start from this dataset's episode (a file, folder or hf://datasets/USER/NAME) instead of the checkpoint's clips; the HUD scores "
        "each imagined frame against the recorded one (moving-pixel PSNR) and says if your action is the recorded one."
    ),
    episode: int | None = typer.Option(None, "--episode", help="Episode of --data, -1 the last (default 0)."),
    start: int | None = typer.Option(None, "--start", help="First context frame within the episode of --data (default 0)."),
    camera: str | None = CAMERA_OPTION,
) -> None:
    """Play the model with the keyboard in a pygame window (arrows/WASD, Space, 0-9; R reset, P pause, Esc quit)."""
    from wm.core.devices import resolve_device
    from wm.core.errors import WMError
    from wm.core.imagine.context import checkpoint_clips, data_camera, dataset_context, default_context_length
    from wm.core.imagine.engine import ImaginationEngine
    from wm.core.imagine.truth import MAX_RECORDED
    from wm.core.loading import load_model

    if scale < 1 or fps < 0:
        raise WMError(f"play: --scale must be >= 1 and --fps >= 0, found {scale} and {fps}")
    if data is None and (episode is not None or start is not None):
        raise WMError("play: --episode and --start choose the context within --data; pass --data FILE")
    try:
        from wm.core.imagine.play import play as run_play
    except ImportError as err:
        raise WMError(f"wm play needs pygame ({err}); install it with: pip install 'wm-world-models[play]'") from None
    where = resolve_device(device or "auto", setting="--device")
    world_model, checkpoint = load_model(model, revision, hub=hub, trust_remote_code=trust_remote_code, log=notice)
    engine = ImaginationEngine(world_model, where, fast_decode=not exact)
    if data is None:
        clips = checkpoint_clips(checkpoint)
    else:
        clips = dataset_context(
            data, world_model.spec, episode=episode or 0, start=start or 0,
            length=default_context_length(checkpoint), steps=MAX_RECORDED, camera=data_camera(checkpoint, data, camera),
        )  # fmt: skip
    stats = run_play(engine, clips, scale=scale, fps=fps, record=record, seed=seed, steps=steps)
    recorded = f", recorded to [bold]{stats.record}[/]" if stats.record else ""
    decoding = "fast" if engine.fast_decode else "exact"
    console().print(f"played {stats.steps} imagined frames on {where} ({stats.resets} resets, {decoding} decoding){recorded}")


def evaluate(
    model: str = MODEL_ARGUMENT,
    hub: bool = HUB_OPTION,
    revision: str | None = REVISION_OPTION,
    trust_remote_code: bool = TRUST_OPTION,
    device: str | None = DEVICE_OPTION,
    data: str = typer.Option(
        ..., "--data", help="Dataset to predict (ideally episodes held out from training): a file, folder or hf://datasets/USER/NAME."
    ),
    camera: str | None = CAMERA_OPTION,
    context: int | None = typer.Option(None, "--context", help="Context frames observed (default: the model's data.context_len)."),
    horizons: str = typer.Option("1,5,15,50", "--horizons", help="Comma-separated imagined steps to score."),
    episodes: int = typer.Option(64, "--episodes", help="Windows scored (one per episode while they last)."),
    spread_steps: int | None = typer.Option(
        None, "--spread-steps", help="Steps each action is held for the counterfactual spread (default: the largest horizon; 0: none)."
    ),
    spread_actions: int = typer.Option(8, "--spread-actions", help="At most this many actions held for the spread."),
    seed: int = typer.Option(0, "--seed", help="Seed for the windows drawn, the shuffles, the bootstrap and the model's sampling."),
    json_path: Path | None = typer.Option(None, "--json", help="Write every figure to this JSON file."),
    plot: Path | None = typer.Option(None, "--plot", help="Plot PSNR, moving-pixel PSNR and SSIM vs horizon to this PNG."),
) -> None:
    """Open-loop prediction quality against two baselines, on the full frame and the moving pixels, with 95% intervals;
    and whether the model reacts to its actions."""
    from wm.core.devices import resolve_device
    from wm.core.errors import WMError
    from wm.core.imagine.context import data_camera, default_context_length
    from wm.core.imagine.evaluate import evaluate as run_evaluate
    from wm.core.imagine.report import plot_report, save_json
    from wm.core.loading import load_model

    try:
        steps = [int(h) for h in horizons.split(",") if h.strip()]
    except ValueError:
        raise WMError(f"--horizons '{horizons}': expected comma-separated positive integers like 1,5,15,50") from None
    for path, suffix in ((json_path, ".json"), (plot, ".png")):
        if path is not None and (path.suffix.lower() != suffix or not path.parent.is_dir()):
            raise WMError(f"{path}: expected a {suffix} file in an existing folder")  # before any work
    where = resolve_device(device or "auto", setting="--device")
    world_model, checkpoint = load_model(model, revision, hub=hub, trust_remote_code=trust_remote_code, log=notice)
    context = context or default_context_length(checkpoint)
    camera = data_camera(checkpoint, data, camera)
    report = run_evaluate(
        world_model, data, context=context, horizons=steps, episodes=episodes, seed=seed,
        spread_steps=spread_steps, spread_actions=spread_actions, device=where,
        camera=camera,
    )  # fmt: skip
    report.model = model
    cameras = f" camera {camera if isinstance(camera, str) else ','.join(camera)}" if camera else ""
    console().print(
        f"[bold]{model}[/] on {data}{cameras}: context {report.context}, {len(report.windows)} windows, open loop, on {where}"
    )
    held = f"spread actions: {report.spread_note} ({', '.join(report.spread_actions)})" if report.spread_actions else ""
    show_evaluation(report.flat(), held)
    if json_path is not None:
        console().print(f"wrote [bold]{save_json(report, json_path)}[/]")
    if plot is not None:
        console().print(f"wrote [bold]{plot_report(report, plot)}[/]")


def show_evaluation(flat: dict[str, float], note: str = "") -> None:
    """Print an evaluation's tables (``wm.core.imagine.eval_table``), its verdict and how to read it."""
    from rich.markup import escape
    from rich.table import Table

    from wm.core.imagine.eval_table import eval_tables, notes, verdict

    for text in eval_tables(flat):
        table = Table(title=text.title)
        for column in text.header:
            table.add_column(column, justify="left" if column == "method" else "right")
        for i, (row, strong) in enumerate(zip(text.rows, text.strong)):
            last_of_horizon = i + 1 == len(text.rows) or text.rows[i + 1][0] != row[0]
            section = last_of_horizon and "method" in text.header
            table.add_row(*row, style="bold" if strong else None, end_section=section)
        console().print(table)
    console().print(f"[bold]{verdict(flat)}[/]")
    console().print(f"[dim]{escape(notes(flat))}{' ' + escape(note) if note else ''}[/]", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `rollout`, `play` and `eval` to the root app."""
    app.command("rollout")(rollout)
    app.command("play")(play)
    app.command("eval")(evaluate)

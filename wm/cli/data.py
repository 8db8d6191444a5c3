"""`wm data convert | inspect | collect`: thin shells over wm.core.data (imported inside commands)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

import typer

from wm.cli.common import console

group = typer.Typer(
    name="data", help="Collect, convert and inspect datasets of frames and actions.", no_args_is_help=True,
    rich_markup_mode="rich",
)


class PolicyName(str, Enum):
    random = "random"
    sticky = "sticky"
    balanced = "balanced"


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int | None], None]]:
    """Yields ``advance(done, total)``; the rich bar appears on the first call, so errors before it show alone."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console())
    task = None

    def advance(done: int, total: int | None) -> None:
        nonlocal task
        if task is None:
            progress.start()
            task = progress.add_task(description, total=total)
        progress.update(task, completed=done, total=total)

    try:
        yield advance
    finally:
        if task is not None:
            progress.stop()


def summary_table(path: Path, spec, summary):  # noqa: ANN001, ANN201 - rich and core types are imported lazily
    """A two-column rich table of a dataset Summary."""
    from rich.table import Table

    table = Table(title=str(path), show_header=False, title_justify="left")
    table.add_column(style="bold cyan")
    table.add_column()
    lo, median, hi = summary.lengths
    rows = [
        ("episodes", f"{summary.episodes}"),
        ("total steps", f"{summary.total_steps:,}"),
        ("length min / median / max", f"{lo} / {median:g} / {hi}"),
        ("frame shape (C,H,W)", f"{spec.channels} x {spec.height} x {spec.width}, uint8 when read"),
        *((f"storage: {k}", v) for k, v in summary.storage.items()),
        ("pixel range (sampled)", f"{summary.pixel_range[0]} .. {summary.pixel_range[1]}"),
        ("fps", f"{spec.fps:g}" if spec.fps else "not recorded"),
    ]
    if spec.discrete:
        total = max(summary.total_steps, 1)
        counts = ", ".join(f"{name} {n:,} ({100 * n / total:.0f}%)" for name, n in summary.action_counts)
        rows.append((f"actions ({spec.num_actions} discrete)", counts))
    else:
        rows.append((f"actions ({spec.num_actions}-d continuous)", "range {:g} .. {:g}".format(*summary.action_range)))
    if summary.state_range is not None:
        rows.append((f"states ({spec.state_size}-d per step)", "range {:g} .. {:g}".format(*summary.state_range)))
    else:
        rows.append(("states", "absent"))
    if summary.rewards is not None:
        rows.append(("rewards", "sum {:g}, min {:g}, max {:g}".format(*summary.rewards)))
    else:
        rows.append(("rewards", "absent"))
    rows.append(("terminals", "absent" if summary.terminals is None else f"{summary.terminals} terminal steps"))
    rows.append(("size on disk", f"{summary.disk_bytes / 1e6:.2f} MB"))
    rows.append(("compression", f"{summary.compression:.1f}x (raw uint8 frames / size on disk)"))
    for key, value in rows:
        table.add_row(key, value)
    return table


@group.command("convert")
def convert_command(
    src: str = typer.Argument(
        ..., help="HDF5 file, folder of .npz episodes, folder of image folders, video(s), or a LeRobot dataset "
                  "(folder or hf://datasets/USER/NAME)."
    ),
    out: Path = typer.Argument(..., help="Output HDF5 file (canonical layout)."),
    resize: str | None = typer.Option(None, "--resize", help="Frame size: 64 or HxW like 96x128."),
    action_offset: int = typer.Option(
        0, "--action-offset", help="1 if each frame is stored with the action that LED to it (shifts actions earlier)."
    ),
    action_names: str | None = typer.Option(None, "--action-names", help="Comma-separated, e.g. NOOP,LEFT,RIGHT."),
    fps: float | None = typer.Option(None, "--fps", help="Frames per second to record in the file."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    camera: str | None = typer.Option(
        None, "--camera", help="LeRobot: video feature(s), e.g. observation.images.top; a,b tiles them side by side."
    ),
) -> None:
    """Convert any accepted source into the canonical HDF5 format (uint8, chunked, compressed)."""
    from wm.core.data.convert import convert
    from wm.core.data.frames import parse_size

    names = [n.strip() for n in action_names.split(",")] if action_names else None
    with progress_bar(f"converting {Path(src).name}") as advance:
        path = convert(src, out, resize=parse_size(resize), action_offset=action_offset, action_names=names, fps=fps,
                       overwrite=overwrite, progress=advance, camera=camera)
    console().print(f"[green]wrote[/] {path}")


@group.command("inspect")
def inspect_command(
    file: str = typer.Argument(
        ..., help="HDF5 file, folder of .npz episodes, or a LeRobot dataset (folder or hf://datasets/USER/NAME)."
    ),
    grid: Path | None = typer.Option(None, "--grid", help="Write a PNG contact sheet of frames from several episodes."),
    camera: str | None = typer.Option(None, "--camera", help="LeRobot: video feature(s) to show; a,b side by side."),
) -> None:
    """Summarise a dataset: episodes, lengths, frames, storage, actions, rewards."""
    from wm.core.data import open_dataset
    from wm.core.data.summary import contact_sheet, summarize

    dataset = open_dataset(file, camera)
    console().print(summary_table(dataset.path, dataset.spec, summarize(dataset)))
    if grid is not None:
        console().print(f"[green]wrote[/] contact sheet {contact_sheet(dataset, grid)}")


@group.command("collect")
def collect_command(
    env: str = typer.Argument(..., help="Gymnasium env id (ALE/Pong-v5) or short Atari name (ale:pong)."),
    out: Path = typer.Argument(..., help="Output HDF5 file."),
    steps: int | None = typer.Option(None, "--steps", help="Total steps to record."),
    episodes: int | None = typer.Option(None, "--episodes", help="Whole episodes to record."),
    size: str = typer.Option("64", "--size", help="Frame size: 64 or HxW."),
    frameskip: int | None = typer.Option(None, "--frameskip", help="Env frames per step (default: env's own; ALE 4)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the env and the policy."),
    policy: PolicyName = typer.Option(
        PolicyName.sticky, "--policy",
        help="random, sticky (repeats actions), or balanced (sticky, undoing its own movement so the player keeps moving).",
    ),
    stickiness: float = typer.Option(0.75, "--stickiness", help="Sticky policy: probability of repeating an action."),
    max_episode_steps: int | None = typer.Option(None, "--max-episode-steps", help="Cut episodes at this length."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
) -> None:
    """Record frames, actions, rewards and terminals from a gymnasium environment."""
    from wm.core.data.collect import collect, resolve_env_id
    from wm.core.data.frames import parse_size
    from wm.core.errors import WMError

    if (steps is None) == (episodes is None):
        raise WMError("collect: give exactly one of --steps N or --episodes N")
    with progress_bar(f"collecting {resolve_env_id(env)}") as advance:
        path = collect(
            env, out, steps=steps, episodes=episodes, size=parse_size(size), frameskip=frameskip, seed=seed,
            policy=policy.value, stickiness=stickiness, max_episode_steps=max_episode_steps, overwrite=overwrite,
            progress=lambda done, episodes_done: advance(done if steps else episodes_done, steps or episodes),
        )
    console().print(f"[green]wrote[/] {path}")


def register(app: typer.Typer) -> None:
    """Add the `data` group to the root app."""
    app.add_typer(group, name="data")

"""Imagination quality on held-out ALE episodes: each recipe, trained for a fixed CPU budget, per game.

For each game it collects its own training and held-out data with ``wm data collect`` (different
seeds), trains each recipe with ``wm train`` for a fixed wall-time budget (``train.max_minutes``)
on the cores the recipe names, pinned to them (runs of a recipe go side by side where the machine
has a core for each: the two 1-core runs of cpu30 on a 2-core machine), scores the result with ``wm eval`` (observe 8 frames, imagine 15 with
the recorded actions, 128 windows) and prints, per horizon, the model, copy-last-frame and
shuffled-actions PSNR on the full frame and on the moving pixels, the action gap, each with its
95% bootstrap interval, and whether the recipe meets its target. It is a benchmark (about an
hour with the defaults), never part of the test suite; tests/benchmarks runs its code path tiny.

    python benchmarks/imagination_quality.py                              # both games, both recipes
    python benchmarks/imagination_quality.py --games breakout --recipes quick
    python benchmarks/imagination_quality.py --work /tmp/iq --keep        # reuse data and runs there

Recipes (the README's recommendations): ``quick`` is the quick start (``make demo``: the debug
preset, 5 minutes on 2 cores); ``cpu30`` is the preset for 30 minutes on one CPU core.
Targets (issue 13): quick: the action gap's interval above 0 at every horizon and full-frame
PSNR above copy-last from horizon 8 on; cpu30: full-frame PSNR above copy-last at every horizon
and an action gap of at least 1 dB with its interval above 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HORIZONS = (1, 4, 8, 15)
CONTEXT = 8
WINDOWS = 128
GAMES = {"breakout": "ale:breakout", "pong": "ale:pong"}


@dataclass(frozen=True)
class Recipe:
    """A preset trained for ``minutes`` on ``cores`` cores, and the horizons where it must beat copy-last."""

    preset: str
    minutes: float
    cores: int
    beat_copy_from: int  # first horizon whose full-frame PSNR must exceed copy-last's
    min_gap_db: float  # smallest moving-pixel action gap allowed at every horizon (its interval above 0 too)


RECIPES = {
    "quick": Recipe("debug", 5.0, 2, beat_copy_from=8, min_gap_db=0.0),
    "cpu30": Recipe("cpu30", 30.0, 1, beat_copy_from=1, min_gap_db=1.0),
}


def start(*args: str, cores: range | None = None, log: Path | None = None) -> subprocess.Popen:
    """Start the ``wm`` CLI of this interpreter, on as many threads as ``cores`` and pinned to them."""
    command = [sys.executable, "-m", "wm", *args]
    env = dict(os.environ)
    if cores:
        env["OMP_NUM_THREADS"] = str(len(cores))
        if shutil.which("taskset") and (os.cpu_count() or 1) >= cores.stop:
            command = ["taskset", "-c", ",".join(map(str, cores)), *command]
    out = log.open("w") if log else subprocess.DEVNULL
    return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def wait(process: subprocess.Popen, log: Path | None = None) -> None:
    if process.wait() != 0:
        where = f" (see {log})" if log else ""
        raise SystemExit(f"failed: {' '.join(map(str, process.args))}{where}")


def wm(*args: str, cores: range | None = None, log: Path | None = None) -> None:
    """Run the ``wm`` CLI to the end (see ``start``)."""
    wait(start(*args, cores=cores, log=log), log)


def collect(game: str, work: Path, train_steps: int, heldout_steps: int) -> tuple[Path, Path]:
    """Training data (seed 1) and held-out data (seed 2) of ``game``, collected once into ``work``."""
    paths = []
    for split, steps, seed in (("train", train_steps, 1), ("heldout", heldout_steps, 2)):
        path = work / f"{game}-{split}.h5"
        if not path.is_file():
            wm("data", "collect", GAMES[game], str(path), "--steps", str(steps), "--seed", str(seed),
               "--policy", "balanced", "--max-episode-steps", "500")  # fmt: skip
        paths.append(path)
    return paths[0], paths[1]


def train(jobs: list[tuple[str, Recipe, Path]], work: Path, extra: list[str]) -> None:
    """Train each (name, recipe, data) into work/runs/NAME (once), as many at a time as the cores hold,
    each pinned to cores of its own so that concurrent runs never share one."""
    cpus = os.cpu_count() or 1
    todo = [job for job in jobs if not (work / "runs" / job[0] / "checkpoints" / "final.pt").exists()]
    while todo:
        batch, used = [], 0
        while todo and (not batch or used + todo[0][1].cores <= cpus):
            name, recipe, data = todo.pop(0)
            cores = range(used, used + recipe.cores) if used + recipe.cores <= cpus else None
            log = work / f"{name}-train.log"
            batch.append((start(
                "train", "--preset", recipe.preset, f"data.path={data}", f"run.dir={work / 'runs'}", f"run.name={name}",
                f"train.max_minutes={recipe.minutes}", "train.eval_at_end=false", "data.holdout_episodes=0", *extra,
                cores=cores, log=log), log))  # fmt: skip
            used += recipe.cores
        for process, log in batch:
            wait(process, log)


def evaluate(name: str, heldout: Path, work: Path, windows: int) -> dict:
    """The ``wm eval`` JSON of work/runs/NAME on ``heldout``."""
    run = work / "runs" / name
    report = work / f"{name}-eval.json"
    wm("eval", str(run), "--data", str(heldout), "--context", str(CONTEXT), "--episodes", str(windows),
       "--horizons", ",".join(map(str, HORIZONS)), "--json", str(report), log=work / f"{name}-eval.log")  # fmt: skip
    return json.loads(report.read_text())


def figure(report: dict, method: str, metric: str, horizon: int) -> tuple[float, float, float]:
    """(value, low, high) of one figure of a ``wm eval`` JSON report (NaN where it has none)."""
    for row in report["results"]:
        if (row["method"], row["metric"], row["horizon"]) == (method, metric, horizon):
            return tuple(float("nan") if row[k] is None else float(row[k]) for k in ("value", "low", "high"))
    return (float("nan"),) * 3


def table(name: str, report: dict, recipe: Recipe) -> tuple[list[str], bool]:
    """Markdown rows for one run and whether it meets the recipe's target."""
    cell = lambda v: f"{v[0]:.3g} [{v[1]:.3g}, {v[2]:.3g}]"  # noqa: E731
    lines = [f"| {name} | " + " | ".join(f"h{h}" for h in HORIZONS) + " |", "|---" * (len(HORIZONS) + 1) + "|"]
    for label, method, metric in (
        ("full: model", "model", "psnr"), ("full: copy last", "copy_last", "psnr"),
        ("full: shuffled actions", "shuffled_actions", "psnr"), ("moving: model", "model", "moving_psnr"),
        ("moving: copy last", "copy_last", "moving_psnr"), ("moving: shuffled actions", "shuffled_actions", "moving_psnr"),
        ("action gap (dB, moving)", "action_gap", "moving_psnr"),
        ("spread: each action held", "action_spread", "mean_abs"), ("spread: sampling noise", "sampling_spread", "mean_abs"),
    ):  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cell(figure(report, method, metric, h)) for h in HORIZONS) + " |")
    met = True
    for h in HORIZONS:
        model, copy = figure(report, "model", "psnr", h)[0], figure(report, "copy_last", "psnr", h)[0]
        gap, low, _ = figure(report, "action_gap", "moving_psnr", h)
        met &= low > 0 and gap >= recipe.min_gap_db and (h < recipe.beat_copy_from or model > copy)
    return lines, met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", default="breakout,pong")
    parser.add_argument("--recipes", default="quick,cpu30")
    parser.add_argument("--train-steps", type=int, default=12000, help="Collected training steps per game.")
    parser.add_argument("--heldout-steps", type=int, default=3000, help="Collected held-out steps per game.")
    parser.add_argument("--minutes", type=float, default=None, help="Override every recipe's budget (smoke runs).")
    parser.add_argument("--windows", type=int, default=WINDOWS, help="Held-out windows scored per run.")
    parser.add_argument("--work", type=Path, default=None, help="Folder for data, runs and reports (default: a temp one).")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    parser.add_argument("overrides", nargs="*", help="key=value overrides for every training run (smoke runs).")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="wm-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    verdicts = []
    try:
        games = args.games.split(",")
        data = {game: collect(game, work, args.train_steps, args.heldout_steps) for game in games}
        for key in args.recipes.split(","):
            recipe = RECIPES[key]
            if args.minutes is not None:
                recipe = Recipe(recipe.preset, args.minutes, recipe.cores, recipe.beat_copy_from, recipe.min_gap_db)
            train([(f"{game}-{key}", recipe, data[game][0]) for game in games], work, args.overrides)
            for game in games:
                name = f"{game}-{key}"
                report = evaluate(name, data[game][1], work, args.windows)
                lines, met = table(f"{name} ({recipe.preset}, {recipe.minutes:g} min on {recipe.cores} core(s))", report, recipe)
                print("\n".join(lines) + "\n", flush=True)
                verdicts.append(f"{name}: target {'met' if met else 'NOT met'}")
        print("\n".join(verdicts))
    finally:
        if not (args.keep or args.work):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

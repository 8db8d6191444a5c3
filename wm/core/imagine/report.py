"""EvalReport: every figure of ``wm eval`` with its interval, as JSON, as flat keys and as a plot.

JSON schema "wm-eval" version 2: the window list and settings, then ``results``, one row per
figure: {"method", "metric", "horizon", "value", "low", "high"} (low/high: the 95% bootstrap
interval; null where undefined, e.g. moving pixels when nothing moves). The flat form
``{"model/psnr@1": v, "model/psnr_low@1": lo, "model/psnr_high@1": hi, ..., "windows": N, ...}``
is what the trainer logs to metrics.jsonl as ``eval/...`` (undefined figures left out).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wm.core.errors import WMError
from wm.core.files import atomic_path
from wm.core.imagine.stats import LEVEL, RESAMPLES

METHODS = ("model", "copy_last", "shuffled_actions")
METRICS = ("mse", "psnr", "moving_mse", "moving_psnr", "ssim")
VERSION = 2
MOVING_RULE = "pixels whose true frame differs from the last context frame in any channel"
STATE_METRIC = "state_mse"  # with a state vector: squared error per value in training-data standard deviations
LINES = {"model": "-", "copy_last": ":", "shuffled_actions": "--"}  # overlapping lines stay visible
PLOTTED = ("psnr", "moving_psnr", "ssim")
BOUNDS = ("value", "low", "high")


@dataclass
class EvalReport:
    """Every figure of one evaluation; ``results`` rows as described in the module docstring."""

    model: str
    dataset: str
    context: int
    horizons: list[int]
    seed: int
    windows: list[tuple[int, int]]  # (episode, start frame) of each window
    results: list[dict[str, Any]] = field(default_factory=list)
    spread_steps: int = 0  # actions held this many steps for the spread (0: no spread)
    spread_actions: list[str] = field(default_factory=list)  # labels of the actions held
    spread_note: str = ""  # how they were chosen

    def series(self, method: str, metric: str, bound: str = "value") -> list[float]:
        """``bound`` ("value", "low" or "high") of a figure at each of ``horizons`` (NaN where absent)."""
        found = {r["horizon"]: r[bound] for r in self.results if r["method"] == method and r["metric"] == metric}
        return [_number(found.get(h)) for h in self.horizons]

    @property
    def scores(self) -> dict[str, dict[str, list[float]]]:
        """``scores[method][metric][i]`` for ``horizons[i]``, for the three methods."""
        return {method: {metric: self.series(method, metric) for metric in METRICS} for method in METHODS}

    @property
    def verdict(self) -> str:
        """One line on whether the model reacts to its actions (see ``eval_table.verdict``)."""
        from wm.core.imagine.eval_table import verdict

        return verdict(self.flat())

    def flat(self) -> dict[str, float]:
        """The flat keys of the module docstring."""
        return flatten(self._document())

    def to_dict(self) -> dict[str, Any]:
        """The JSON document `wm eval --json` writes."""
        document = self._document()
        results = document.pop("results")
        return {**document, "verdict": self.verdict, "results": results}

    def _document(self) -> dict[str, Any]:
        return {
            "format": "wm-eval",
            "version": VERSION,
            "model": self.model,
            "dataset": self.dataset,
            "context": self.context,
            "horizons": list(self.horizons),
            "seed": self.seed,
            "num_windows": len(self.windows),
            "num_episodes": len({e for e, _ in self.windows}),
            "windows": [{"episode": e, "start": s} for e, s in self.windows],
            "methods": list(METHODS),
            "metrics": [*METRICS, *([STATE_METRIC] if any(r["metric"] == STATE_METRIC for r in self.results) else [])],
            "moving_pixels": MOVING_RULE,
            "interval": {"level": LEVEL, "resamples": RESAMPLES, "method": "percentile bootstrap over windows"},
            "spread": {"steps": self.spread_steps, "actions": list(self.spread_actions), "chosen": self.spread_note},
            "results": [{k: _json_number(v) for k, v in row.items()} for row in self.results],
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any], source: str = "evaluation") -> EvalReport:
        """The report of a version-2 document; WMError naming ``source`` otherwise."""
        check_document(document, source)
        spread = document.get("spread", {})
        return cls(
            str(document["model"]), str(document["dataset"]), int(document["context"]), list(document["horizons"]),
            int(document["seed"]), [(w["episode"], w["start"]) for w in document["windows"]],
            [{k: _number(v) if k in BOUNDS else v for k, v in r.items()} for r in document["results"]],
            int(spread.get("steps", 0)), list(spread.get("actions", [])), str(spread.get("chosen", "")),
        )  # fmt: skip


def check_document(document: Any, source: str) -> None:
    """Raise WMError unless ``document`` is a `wm eval --json` document of this version."""
    if not isinstance(document, dict) or document.get("format") != "wm-eval":
        raise WMError(f"{source}: not a `wm eval --json` file (expected \"format\": \"wm-eval\")")
    if document.get("version") != VERSION or not isinstance(document.get("results"), list):
        raise WMError(
            f"{source}: wm-eval version {document.get('version')}, expected {VERSION} with a \"results\" list; "
            f"run `wm eval --json` again"
        )


def flatten(document: dict[str, Any]) -> dict[str, float]:
    """Flat keys of a version-2 document: ``method/metric@h`` and its ``_low``/``_high``, plus
    ``windows``, ``episodes``, ``context`` and ``spread_steps``; figures that are undefined are left out."""
    flat: dict[str, float] = {
        "windows": document["num_windows"], "episodes": document.get("num_episodes", 0), "context": document["context"],
        "spread_steps": document.get("spread", {}).get("steps", 0),
    }  # fmt: skip
    for row in document["results"]:
        name, at = f"{row['method']}/{row['metric']}", f"@{row['horizon']}"
        for suffix, key in (("", "value"), ("_low", "low"), ("_high", "high")):
            if _json_number(row[key]) is not None:
                flat[f"{name}{suffix}{at}"] = row[key]
    return flat


def save_json(report: EvalReport, path: str | Path) -> Path:
    """Write ``report.to_dict()`` as indented JSON (atomic write)."""
    with atomic_path(path, ".json") as tmp:
        tmp.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    return Path(path)


def load_json(path: str | Path) -> EvalReport:
    """The report in a `wm eval --json` file; WMError naming the file when it is not one."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise WMError(f"{path}: cannot read it as JSON ({err})") from err
    return EvalReport.from_dict(document, str(path))


def plot_report(report: EvalReport, path: str | Path) -> Path:
    """A PNG with one panel per plotted metric: score vs horizon with its interval, per method (atomic)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4 * len(PLOTTED), 3.2), constrained_layout=True)
    axes = figure.subplots(1, len(PLOTTED))
    for axis, metric in zip(axes, PLOTTED):
        for method in METHODS:
            line = axis.plot(report.horizons, report.series(method, metric), LINES[method], marker="o", label=method)
            low, high = report.series(method, metric, "low"), report.series(method, metric, "high")
            axis.fill_between(report.horizons, low, high, color=line[0].get_color(), alpha=0.15)
        axis.set_title(metric.replace("_", " ").upper().replace("MOVING ", "moving-pixel "))
        axis.set_xlabel("horizon (imagined steps)")
        axis.grid(alpha=0.3)
    axes[0].legend()
    where = f"{report.model} on {Path(report.dataset).name}"
    figure.suptitle(f"{where}: context {report.context}, {len(report.windows)} windows, 95% intervals")
    with atomic_path(path, ".png") as tmp:
        figure.savefig(tmp, dpi=100)
    return Path(path)


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _json_number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value

"""An evaluation as tables of text, the same wherever it is shown: `wm eval`, the end of `wm train`, the model card.

Input: the flat keys of ``report.flatten`` (what the trainer logs as ``eval/...``). Cells read
"value [low, high]" (the 95% interval); "-" marks a figure that is absent or undefined.
Keys from an older run (no intervals, no moving pixels) show what they have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wm.core.imagine.report import METHODS, MOVING_RULE, STATE_METRIC

QUALITY = (("PSNR dB", "psnr", 2), ("moving PSNR dB", "moving_psnr", 2), ("MSE", "mse", 5), ("SSIM", "ssim", 4))
STATE = ("state MSE", STATE_METRIC, 4)  # a column of its own where the model predicts a state vector
ACTIONS = (
    ("moving pixels", "truth/moving_fraction", 4),
    ("action gap dB (moving)", "action_gap/moving_psnr", 2),
    ("action spread", "action_spread/mean_abs", 4),
    ("sampling spread", "sampling_spread/mean_abs", 4),
    ("true change", "truth/change", 4),
)


@dataclass(frozen=True)
class TextTable:
    """A titled table of strings; ``strong[i]`` says whether row i is the model's (to emphasise)."""

    title: str
    header: list[str]
    rows: list[list[str]]
    strong: list[bool]


def eval_tables(flat: dict[str, float]) -> list[TextTable]:
    """The quality table (per horizon and method; the state vector's error too where it was measured),
    then the actions table where it was measured."""
    steps = _horizons(flat, METHODS)
    present = [m for m in METHODS if any(f"{m}/mse@{h}" in flat for h in steps)]
    columns = QUALITY + ((STATE,) if _has_states(flat) else ())
    quality = TextTable(
        "held-out imagination (open loop)",
        ["horizon", "method", *(name for name, _, _ in columns)],
        [[str(h), m, *(cell(flat, f"{m}/{metric}", h, d) for _, metric, d in columns)] for h in steps for m in present],
        [m == "model" for _ in steps for m in present],
    )
    at = sorted({h for key in flat for h in _at(key, ("action_gap", "action_spread", "truth"))})
    if not at:
        return [quality]
    actions = TextTable(
        "actions: true minus shuffled on moving pixels; spread between the futures of held actions",
        ["horizon", *(name for name, _, _ in ACTIONS)],
        [[str(h), *(cell(flat, name, h, digits) for _, name, digits in ACTIONS)] for h in at],
        [False] * len(at),
    )
    return [quality, actions]


def cell(flat: dict[str, float], name: str, horizon: int, digits: int) -> str:
    """"value [low, high]" of figure ``name`` ("method/metric") at ``horizon``, "value" without an interval."""
    value = flat.get(f"{name}@{horizon}")
    if value is None:
        return "-"
    method, metric = name.split("/")
    low, high = flat.get(f"{method}/{metric}_low@{horizon}"), flat.get(f"{method}/{metric}_high@{horizon}")
    interval = f" [{low:.{digits}f}, {high:.{digits}f}]" if low is not None and high is not None else ""
    return f"{value:.{digits}f}{interval}"


def verdict(flat: dict[str, float]) -> str:
    """Whether the true actions beat shuffled ones on moving pixels beyond the interval, in one line.

    It says what is measured, no more: a gap above 0 means the recorded actions predict the moving
    pixels better than the same actions shuffled, the sign that the model uses them.
    """
    steps = sorted(_at_metric(flat, "action_gap/moving_psnr_low"))
    if not steps:
        return "actions: not measured"
    low = {h: flat[f"action_gap/moving_psnr_low@{h}"] for h in steps}
    high = {h: flat.get(f"action_gap/moving_psnr_high@{h}", 0.0) for h in steps}
    above = [h for h in steps if low[h] > 0]
    below = [h for h in steps if high[h] < 0]
    if above:
        return (
            f"actions: true actions predict the moving pixels better than shuffled ones "
            f"(gap interval above 0 at horizon {_list(above)})"
        )
    if below:
        return f"actions: shuffled actions predict better (gap interval below 0 at horizon {_list(below)})"
    return "actions: no measurable effect (gap interval includes 0 at every horizon)"


def notes(flat: dict[str, float]) -> str:
    """How to read the tables, in one paragraph (figures from before ``windows`` was logged are older ones)."""
    if "windows" not in flat:
        return "Figures from an older wm: PSNR is a mean of per-frame PSNRs capped at 100 dB, without intervals."
    spread = int(flat.get("spread_steps", 0))
    held = "; spread: mean absolute difference (pixels in [0, 1]) between"
    held += f" the futures of each action held {spread} steps"
    episodes = int(flat.get("episodes", 0))
    windows = f"{int(flat['windows'])} held-out windows" + (f" from {episodes} episode(s)" if episodes else "")
    shared = 0 < episodes < flat["windows"]
    caveat = " (windows share episodes, so the intervals understate the uncertainty)" if shared else ""
    state = "; state MSE: squared error per state value, in standard deviations of the training data's states"
    return (
        f"{windows}; PSNR from the MSE pooled over windows; moving pixels: "
        f"{MOVING_RULE}; [low, high]: 95% bootstrap interval over windows{caveat}{held if spread else ''}"
        f"{state if _has_states(flat) else ''}."
    )


def _has_states(flat: dict[str, float]) -> bool:
    return any(f"/{STATE_METRIC}@" in key for key in flat)


def _horizons(flat: dict[str, float], methods: tuple[str, ...]) -> list[int]:
    return sorted({h for key in flat for h in _at(key, methods)})


def _at(key: str, methods: tuple[str, ...]) -> list[int]:
    match = re.fullmatch(r"(\w+)/\w+@(\d+)", key)
    return [int(match.group(2))] if match and match.group(1) in methods else []


def _at_metric(flat: dict[str, float], name: str) -> list[int]:
    prefix = f"{name}@"
    return [int(key[len(prefix) :]) for key in flat if key.startswith(prefix)]


def _list(values: list[int]) -> str:
    return ", ".join(map(str, values))

"""Imagination: the engine that rollout, play, eval, training samples and the gymnasium env share.

``ImaginedEnv`` (gymnasium) and ``play`` (pygame) are optional extras, imported on first use.
"""

from __future__ import annotations

from typing import Any

from wm.core.imagine.actions import parse_actions
from wm.core.imagine.engine import ImaginationEngine
from wm.core.imagine.evaluate import evaluate
from wm.core.imagine.report import EvalReport, plot_report
from wm.core.imagine.samples import save_sample
from wm.core.imagine.video import write_video

__all__ = [
    "EvalReport",
    "ImaginationEngine",
    "ImaginedEnv",
    "evaluate",
    "parse_actions",
    "plot_report",
    "save_sample",
    "write_video",
]


def __getattr__(name: str) -> Any:
    if name == "ImaginedEnv":
        from wm.core.imagine.env import ImaginedEnv

        return ImaginedEnv
    raise AttributeError(f"module 'wm.core.imagine' has no attribute {name!r}")

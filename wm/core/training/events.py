"""Progress reports from the trainer to whoever drives it (the CLI's rich display, a test, a notebook).

The trainer never prints: it calls ``callback(event)`` on rank 0 and carries on. A callback that
raises KeyboardInterrupt asks the trainer to stop, like Ctrl-C: it saves a checkpoint and returns.
"push" comes after "end", as the final checkpoint (``path``) starts its way to ``train.push_to_hub``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EventKind = Literal["start", "step", "log", "checkpoint", "sample", "budget", "eval", "interrupted", "end", "push"]


@dataclass
class TrainEvent:
    """One moment of a run. ``step`` counts optimizer steps done so far (1-based once training)."""

    kind: EventKind
    step: int
    total_steps: int
    epoch: int  # the epoch the step belongs to, 1-based
    epochs: int
    frames_per_s: float = 0.0  # over the last log window, all ranks together
    eta_s: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # the last logged means (eval: results; budget: minutes)
    path: Path | None = None  # the checkpoint or sample just written


Callback = Callable[[TrainEvent], None]


@dataclass
class TrainResult:
    """What a finished (or interrupted) run leaves behind."""

    run_dir: Path
    step: int
    checkpoint: Path | None  # the newest checkpoint written (final.pt when the run completed)
    interrupted: bool = False
    metrics: dict[str, float] = field(default_factory=dict)  # the last logged training means
    evaluation: dict[str, float] = field(default_factory=dict)
    pushed: str = ""  # with train.push_to_hub: the Hub commit URL of the push at the end
    push_error: str = ""  # or why that push failed (one line; the run itself is complete)

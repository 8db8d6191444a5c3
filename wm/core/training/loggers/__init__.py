"""Where a run's figures go (``train.loggers``): ``jsonl`` (metrics.jsonl), ``tensorboard``, ``wandb``.

Every logger gets the training means at each log step, each sample GIF as it is written and the
held-out evaluation at the end, through the one ``RunLogger`` interface; rank 0 alone logs.
TensorBoard and W&B are extras, imported only when a run names them, and a run that names one
that is not installed stops before training with the pip command that installs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from wm.core.config import Config
    from wm.core.training.run_folder import RunFolder


class RunLogger(Protocol):
    """One destination of a run's figures. ``step`` is the optimizer step they belong to."""

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Training means of one log window: loss parts, ``epoch``, ``lr``, ``frames_per_s``."""

    def sample(self, step: int, path: Path) -> None:
        """A sample GIF just written (held-out context, then imagination)."""

    def evaluation(self, step: int, results: dict[str, float]) -> None:
        """The held-out evaluation, flat ``{"model/psnr@1": ...}`` (``wm.core.imagine.report.flatten``)."""

    def close(self) -> None: ...


def open_loggers(names: Sequence[str], folder: RunFolder, config: Config, step: int) -> RunLoggers:
    """The loggers ``names`` for the run in ``folder``, continuing at ``step`` (0 for a new run):
    what an earlier process logged after ``step`` is dropped or superseded. Each name is the module
    of this package that implements it (``open_logger(folder, config, step)``)."""
    loggers: list[RunLogger] = []
    try:
        for name in dict.fromkeys(names):
            module = importlib.import_module(f"{__name__}.{name}")
            loggers.append(module.open_logger(folder, config, step))
    except BaseException:
        RunLoggers(loggers).close()
        raise
    return RunLoggers(loggers)


class RunLoggers:
    """All of a run's loggers as one ``RunLogger``."""

    def __init__(self, loggers: list[RunLogger]) -> None:
        self.loggers = loggers

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for logger in self.loggers:
            logger.scalars(step, values)

    def sample(self, step: int, path: Path) -> None:
        for logger in self.loggers:
            logger.sample(step, path)

    def evaluation(self, step: int, results: dict[str, float]) -> None:
        for logger in self.loggers:
            logger.evaluation(step, results)

    def close(self) -> None:
        for logger in self.loggers:
            logger.close()

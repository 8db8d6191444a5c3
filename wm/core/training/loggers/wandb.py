"""Weights & Biases (the ``wandb`` extra): ``train/...`` and ``eval/...`` scalars, the sample GIFs as
videos under ``sample``, the evaluation tables as W&B tables, the run's config.

The W&B run is named after the run folder and kept in ``runs/NAME/wandb/``; its id comes from the
folder, so a resumed run continues the same W&B run. wandb's own settings apply: ``WANDB_MODE=offline``
logs to files only (``wandb sync`` uploads them later), ``WANDB_PROJECT`` (default ``wm``),
``WANDB_ENTITY``, ``WANDB_API_KEY``.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path
from typing import Any

from wm.core.config import Config, config_to_dict
from wm.core.errors import WMError
from wm.core.training.run_folder import RunFolder

PROJECT = "wm"


def run_id(folder: RunFolder) -> str:
    """A W&B run id (letters, digits, ``-``, ``_``) that is the same for every process of the run in ``folder``."""
    digest = hashlib.sha256(str(folder.path.resolve()).encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_-]+', '-', folder.path.name)[:48]}-{digest}"


def open_logger(folder: RunFolder, config: Config, step: int) -> WandbLogger:
    try:
        import wandb
    except ImportError:
        raise WMError(
            "train.loggers: 'wandb' needs the wandb package; install it with "
            "pip install 'wm-world-models[wandb]' (or drop it from train.loggers)"
        ) from None
    try:
        run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or PROJECT, name=folder.path.name, id=run_id(folder),
            resume="allow", dir=str(folder.path), config=config_to_dict(config),
            settings=wandb.Settings(console="off"),  # the progress display redraws the terminal: keep it out
        )  # fmt: skip
    except Exception as err:  # wandb raises its own errors (login, network) and plain ones
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WMError(
            f"train.loggers: W&B could not start a run ({first}); run `wandb login`, or set WANDB_MODE=offline "
            "to log to files only"
        ) from err
    return WandbLogger(run)


class WandbLogger:
    """A ``RunLogger`` over a ``wandb`` run. wandb keeps only increasing steps: after a resume, steps
    that an earlier process already logged are skipped by wandb (with a warning)."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self.run.log(_finite("train", values), step=step)

    def sample(self, step: int, path: Path) -> None:
        import wandb

        self.run.log({"sample": wandb.Video(str(path), format="gif")}, step=step)

    def evaluation(self, step: int, results: dict[str, float]) -> None:
        import wandb

        from wm.core.imagine.eval_table import eval_tables

        scalars = _finite("eval", results)
        tables = {
            f"eval/{table.title.split(':')[0].split(' (')[0]}": wandb.Table(columns=table.header, data=table.rows)
            for table in eval_tables(results)
        }  # "eval/held-out imagination", "eval/actions"
        self.run.log({**scalars, **tables}, step=step)
        self.run.summary.update(scalars)

    def close(self) -> None:
        self.run.finish()


def _finite(prefix: str, values: dict[str, float]) -> dict[str, float]:
    return {
        f"{prefix}/{k}": v for k, v in values.items() if isinstance(v, (int, float)) and math.isfinite(v)
    }

"""``metrics.jsonl``: one JSON record per log step, ``{"step", "epoch", loss parts, "lr", "frames_per_s"}``,
and at the end ``{"step", "eval/model/psnr@1": ..., ...}``; appended, so a killed run keeps what it logged.

Read it back with ``wm.core.training.metrics.read_metrics``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wm.core.config import Config
from wm.core.files import write_text_atomic
from wm.core.training.metrics import read_metrics
from wm.core.training.run_folder import RunFolder


def open_logger(folder: RunFolder, config: Config, step: int) -> JsonlLogger:
    logger = JsonlLogger(folder.metrics_file)
    logger.truncate_after(step)  # lines of a killed run past its checkpoint (all, from step 0)
    return logger


class JsonlLogger:
    """Append-only ``metrics.jsonl`` (a ``RunLogger``; samples are files of their own, not logged here)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def truncate_after(self, step: int) -> None:
        """Drop lines logged after ``step`` (a crash after the last checkpoint), so resume does not repeat
        them, and a last line that a kill tore in half."""
        if not self.path.is_file():
            return
        kept = [record for record in read_metrics(self.path) if record["step"] <= step]
        write_text_atomic(self.path, "".join(json.dumps(record) + "\n" for record in kept))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self.write({"step": step, **values})

    def sample(self, step: int, path: Path) -> None:
        pass

    def evaluation(self, step: int, results: dict[str, float]) -> None:
        self.write({"step": step, **{f"eval/{k}": v for k, v in results.items()}})

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (must hold ``step``)."""
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def close(self) -> None:
        pass

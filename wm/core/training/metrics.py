"""Training metrics: a window of per-step loss parts, averaged into metrics.jsonl and TensorBoard.

Loss parts stay on the device between log points, so a step does not wait on the GPU; the
window is checked for NaN/inf (naming the first bad step) before anything is logged or saved.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import torch

from wm.core.errors import WMError
from wm.core.files import write_text_atomic

log = logging.getLogger(__name__)


class LossWindow:
    """Per-step loss parts since the last log point, keyed by the global step they belong to."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.parts: list[dict[str, torch.Tensor]] = []

    def add(self, step: int, parts: dict[str, torch.Tensor]) -> None:
        self.steps.append(step)
        self.parts.append({k: v.detach().float() for k, v in parts.items()})

    def __len__(self) -> int:
        return len(self.steps)

    def first_nonfinite(self) -> tuple[int, str] | None:
        """(step, part name) of the first NaN/inf in the window, or None when all are finite."""
        if not self.parts:
            return None
        names, table = self._table()
        bad = ~torch.isfinite(table)
        if not bool(bad.any()):
            return None
        row, col = (int(i) for i in bad.nonzero()[0])
        return self.steps[row], names[col]

    def mean(self) -> dict[str, float]:
        """Mean of each part over the window, as python floats."""
        names, table = self._table()
        return dict(zip(names, table.mean(0).tolist()))

    def clear(self) -> None:
        self.steps.clear()
        self.parts.clear()

    def _table(self) -> tuple[list[str], torch.Tensor]:
        """Part names and the window as one (steps, parts) tensor."""
        names = list(self.parts[0])
        return names, torch.stack([torch.stack([p[n] for n in names]) for p in self.parts])

    def state_dict(self) -> dict[str, Any]:
        """Plain values, so an interrupted window continues exactly after resume."""
        return {"steps": list(self.steps), "parts": [{k: v.item() for k, v in p.items()} for p in self.parts]}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.steps = list(state["steps"])
        self.parts = [
            {k: torch.tensor(v, dtype=torch.float32, device=device) for k, v in p.items()} for p in state["parts"]
        ]


class MetricsLog:
    """Append-only ``metrics.jsonl`` plus TensorBoard events when tensorboard is importable."""

    def __init__(self, path: Path, tensorboard_dir: Path | None = None) -> None:
        self.path = path
        self.writer = _summary_writer(tensorboard_dir) if tensorboard_dir is not None else None

    def truncate_after(self, step: int) -> None:
        """Drop lines logged after ``step`` (a crash after the last checkpoint), so resume does not repeat
        them, and a last line that a kill tore in half."""
        if not self.path.is_file():
            return
        kept = [record for record in read_metrics(self.path) if record["step"] <= step]
        write_text_atomic(self.path, "".join(json.dumps(record) + "\n" for record in kept))

    def write(self, record: dict[str, Any], prefix: str = "train") -> None:
        """Append one record (must hold ``step``); numeric fields also go to TensorBoard as ``prefix/key``."""
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(f"{prefix}/{key}" if prefix else key, value, record["step"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _summary_writer(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.info("tensorboard is not installed; metrics go to metrics.jsonl only")
        return None
    return SummaryWriter(log_dir=str(folder))


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All records of a metrics.jsonl file; a torn last line (the run was killed while appending it)
    is left out, a bad line anywhere else raises WMError naming it."""
    lines = Path(path).read_text().split("\n")  # a complete file ends in "\n": its last piece is ""
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line) if line else None
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise WMError(f"{path}: line {number} is not a JSON record (expected one per line)") from None
        if record is not None:
            records.append(record)
    return records

"""Training metrics: a window of per-step loss parts, averaged for the run's loggers, and metrics.jsonl read back.

Loss parts stay on the device between log points, so a step does not wait on the GPU; the
window is checked for NaN/inf (naming the first bad step) before anything is logged or saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from wm.core.errors import WMError


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

"""metrics.jsonl after a kill: a torn last line is left out and truncated away, never an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from wm.core.errors import WMError
from wm.core.training.loggers.jsonl import JsonlLogger
from wm.core.training.metrics import read_metrics


def test_a_torn_last_line_is_ignored_and_truncated_away(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 2.5}\n{"step": 2, "loss": 2.0}\n{"step": 3, "loss": 1.')
    assert read_metrics(path) == [{"step": 1, "loss": 2.5}, {"step": 2, "loss": 2.0}]
    log = JsonlLogger(path)
    log.truncate_after(1)
    log.write({"step": 2, "loss": 1.5})
    assert path.read_text() == '{"step": 1, "loss": 2.5}\n{"step": 2, "loss": 1.5}\n'


def test_a_bad_line_before_the_last_is_named(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2, "lo\n{"step": 3}\n')
    with pytest.raises(WMError, match=r"metrics.jsonl: line 2 is not a JSON record"):
        read_metrics(path)

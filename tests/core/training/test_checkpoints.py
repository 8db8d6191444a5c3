"""Training checkpoints: bitwise round trip, plain values only, and refusal of malicious or broken files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from wm.core.checkpoint import load_checkpoint, save_checkpoint
from wm.core.errors import WMError
from wm.core.loading import load_model


def _flat(tree: object, prefix: str = "") -> dict[str, object]:
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    if isinstance(tree, (list, tuple)):
        return {k: v for i, value in enumerate(tree) for k, v in _flat(value, f"{prefix}{i}.").items()}
    return {prefix: tree}


def _same(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    return type(a) is type(b) and (a == b or (a != a and b != b))  # NaN-safe for floats


def test_round_trip_is_bitwise_and_plain(pong_run: Path, tmp_path: Path) -> None:
    path = pong_run / "checkpoints" / "final.pt"
    raw = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain values only
    assert set(raw["training"]) >= {"step", "optimizer", "scheduler", "rng", "window", "steps_per_epoch"}

    first = load_checkpoint(path)
    copy = save_checkpoint(tmp_path / "copy.pt", first)
    second = load_checkpoint(copy)
    for field in ("model", "context", "training", "config"):
        a, b = _flat(getattr(first, field)), _flat(getattr(second, field))
        assert a.keys() == b.keys()
        assert all(_same(a[k], b[k]) for k in a), field
    assert first.spec == second.spec

    model, _ = load_model(str(pong_run))  # a run folder resolves to checkpoints/last.pt
    assert all(torch.equal(v, first.model[k]) for k, v in model.state_dict().items())


class _WritesAFile:
    """Unpickling this would run ``os.system`` and leave a marker file behind."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_malicious_checkpoint_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    zipped, legacy = tmp_path / "evil.pt", tmp_path / "evil_legacy.pt"
    torch.save({"format": "wm-checkpoint", "model": _WritesAFile(marker)}, zipped)
    legacy.write_bytes(pickle.dumps({"format": "wm-checkpoint", "model": _WritesAFile(marker)}))
    for path in (zipped, legacy):
        with pytest.raises(WMError) as err:
            load_checkpoint(path)
        assert "refused" in str(err.value) or "not a torch file" in str(err.value)
        assert "\n" not in str(err.value)
    assert not marker.exists()


def test_truncated_and_foreign_files_give_one_line(pong_run: Path, tmp_path: Path) -> None:
    data = (pong_run / "checkpoints" / "final.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    text = tmp_path / "notes.pt"
    text.write_text("these are not weights\n")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    expected = {truncated: "truncated or not a torch file", text: "truncated or not a torch file",
                foreign: "not a wm checkpoint"}  # fmt: skip
    for path, message in expected.items():
        with pytest.raises(WMError, match=message) as err:
            load_checkpoint(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)

"""--actions descriptions become checked action arrays; every mistake is a one-line WMError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from squares import SPEC

from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.imagine import parse_actions

CONTINUOUS = DataSpec(channels=3, height=16, width=16, action_kind="continuous", num_actions=2)


def parse(text: str, spec: DataSpec = SPEC, **kwargs) -> np.ndarray:  # noqa: ANN003
    return parse_actions(text, spec, steps=kwargs.pop("steps", 5), rng=np.random.default_rng(0), **kwargs)


def test_random_is_seeded_and_in_range() -> None:
    actions = parse("random", batch=3, steps=50)
    assert actions.shape == (3, 50) and actions.dtype == np.int64
    assert 0 <= actions.min() and actions.max() < SPEC.num_actions
    assert np.array_equal(actions, parse("random", batch=3, steps=50))
    vectors = parse("random", CONTINUOUS, batch=2)
    assert vectors.shape == (2, 5, 2) and vectors.dtype == np.float32 and np.abs(vectors).max() <= 1


def test_repeat_lists_names_and_data() -> None:
    assert parse("repeat:3").tolist() == [[3] * 5]
    assert parse("repeat:fire", batch=2).tolist() == [[1] * 5] * 2
    assert parse("0,2,UP").tolist() == [[0, 2, 2, 0, 2]]
    assert parse("data", recorded=np.arange(6) % 6).tolist() == [[0, 1, 2, 3, 4]]
    assert parse("repeat:0.5,-1", CONTINUOUS).tolist() == [[[0.5, -1.0]] * 5]


def test_npy_files(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.array([5, 4, 3, 2, 1, 0]))
    assert parse(str(tmp_path / "a.npy"), batch=2).tolist() == [[5, 4, 3, 2, 1]] * 2
    np.save(tmp_path / "b.npy", np.zeros((2, 5), dtype=np.int64))
    assert parse(str(tmp_path / "b.npy"), batch=2).shape == (2, 5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("repeat:9", "out of range, expected 0..5"),
        ("JUMP", "'JUMP' is not an action index or name"),
        ("repeat:1,2", "repeat takes one action"),
        ("data", "need a dataset"),
        ("missing.npy", "file does not exist"),
        ("", "no actions given"),
    ],
)
def test_mistakes_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(WMError, match=message) as caught:
        parse(text)
    assert "\n" not in str(caught.value)


def test_array_mistakes(tmp_path: Path) -> None:
    np.save(tmp_path / "short.npy", np.array([1, 2]))
    np.save(tmp_path / "float.npy", np.array([0.5] * 5))
    np.save(tmp_path / "big.npy", np.array([7] * 5))
    (tmp_path / "junk.npy").write_text("not an array")
    for name, message in [
        ("short", "holds 2 steps of actions, expected at least 5"),
        ("float", "expected integer actions"),
        ("big", "actions range 7..7, expected 0..5"),
        ("junk", "not a readable .npy array"),
    ]:
        with pytest.raises(WMError, match=message):
            parse(str(tmp_path / f"{name}.npy"))
    with pytest.raises(WMError, match="expected 2 numbers"):
        parse("repeat:1", CONTINUOUS)
    with pytest.raises(WMError, match="continuous action space takes"):
        parse("0,1", CONTINUOUS)
    with pytest.raises(WMError, match="expected 1 or --batch 3"):
        np.save(tmp_path / "two.npy", np.zeros((2, 5), dtype=np.int64))
        parse(str(tmp_path / "two.npy"), batch=3)

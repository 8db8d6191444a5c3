"""The canonical writer: padding costs nothing, output appears only when complete."""

from __future__ import annotations

import numpy as np
import pytest

from wm.core.data import DataSpec, EpisodeWriter, open_dataset
from wm.core.errors import WMError

SPEC = DataSpec(channels=3, height=32, width=32, num_actions=4)


def noise_episode(steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Incompressible frames, so that file sizes count stored pixels."""
    return rng.integers(0, 256, (steps, 3, 32, 32), dtype=np.uint8), rng.integers(0, 4, steps)


def write(path, lengths) -> int:
    rng = np.random.default_rng(0)
    with EpisodeWriter(path, SPEC) as writer:
        for steps in lengths:
            writer.add_episode(*noise_episode(steps, rng))
    return path.stat().st_size


def test_short_episodes_cost_no_padding(tmp_path) -> None:
    long_only = write(tmp_path / "a.h5", [256])
    mixed = write(tmp_path / "b.h5", [256] + [8] * 10)  # padded to (11, 256, ...) logically
    frame = 3 * 32 * 32
    assert mixed - long_only < 80 * frame * 1.2  # ~ the 80 extra frames, not 10 x 248 padding frames
    assert open_dataset(tmp_path / "b.h5").lengths.tolist() == [256] + [8] * 10


def test_error_inside_writer_leaves_nothing(tmp_path) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(RuntimeError):
        with EpisodeWriter(tmp_path / "out.h5", SPEC) as writer:
            writer.add_episode(*noise_episode(4, rng))
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_refuses_existing_file_unless_overwrite(tmp_path) -> None:
    write(tmp_path / "out.h5", [4])
    with pytest.raises(WMError, match="already exists"):
        EpisodeWriter(tmp_path / "out.h5", SPEC)
    write_again = EpisodeWriter(tmp_path / "out.h5", SPEC, overwrite=True)
    write_again.add_episode(*noise_episode(6, np.random.default_rng(1)))
    assert open_dataset(tmp_path / "out.h5").lengths.tolist() == [4]  # untouched until close
    write_again.close()
    assert open_dataset(tmp_path / "out.h5").lengths.tolist() == [6]


def test_no_episodes_is_an_error_and_leaves_nothing(tmp_path) -> None:
    with pytest.raises(WMError, match="no episodes"):
        with EpisodeWriter(tmp_path / "out.h5", SPEC):
            pass
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_fails_to_start_leaves_no_file(tmp_path) -> None:
    with pytest.raises(ValueError):
        EpisodeWriter(tmp_path / "out.h5", DataSpec(channels=3, height=8, width=8), compression_level=99)
    assert list(tmp_path.iterdir()) == []

"""run_rollout: context and truth line up with the imagination, batches tile, errors come early."""

from __future__ import annotations

from pathlib import Path

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
from squares import ShiftModel

from wm.core.checkpoint import Checkpoint
from wm.core.errors import WMError
from wm.core.imagine.rollout import RolloutOptions, run_rollout
from wm.core.imagine.video import GAP, LABEL_HEIGHT


def test_compare_lines_up_truth_and_imagination(tmp_path: Path, square_data: Path, shift_checkpoint: Checkpoint) -> None:
    options = RolloutOptions(tmp_path / "c.gif", steps=6, scale=4, data=square_data, episode=2, start=5, context=3, compare=True)
    result = run_rollout(ShiftModel(), shift_checkpoint, options)
    video = iio.imread(result.output, index=None)[..., :3]
    assert video.shape == (6, LABEL_HEIGHT + 64, 2 * 64 + GAP, 3)  # every frame kept: the labels number them
    with h5py.File(square_data) as f:
        truth = f["frames"][2, 8:14].transpose(0, 2, 3, 1)  # frames after context 5..7
    real, imagined = video[:, LABEL_HEIGHT:, :64], video[:, LABEL_HEIGHT:, 64 + GAP :]
    assert np.array_equal(real[:, ::4, ::4], truth)
    assert np.array_equal(imagined, real)  # the exact model with the recorded actions reproduces the truth
    assert "episode 2, frames 5..7" in result.source


def test_batch_tiles_futures_and_counts_frames(tmp_path: Path, shift_checkpoint: Checkpoint) -> None:
    options = RolloutOptions(tmp_path / "b.mp4", steps=7, scale=1, batch=4, actions="random", seed=3)
    result = run_rollout(ShiftModel(), shift_checkpoint, options)
    video = iio.imread(result.output, index=None)
    assert video.shape[:3] == (7, 2 * 16 + GAP, 2 * 16 + GAP)
    assert result.frames_per_second > 0 and result.source == "checkpoint clip 0 (4 frames)"


def test_actions_reach_the_model(tmp_path: Path, shift_checkpoint: Checkpoint) -> None:
    model = ShiftModel()
    run_rollout(model, shift_checkpoint, RolloutOptions(tmp_path / "a.gif", steps=4, actions="UP,3", episode=1, context=2))
    assert model.seen[-1].tolist() == [[2, 3, 2, 3]]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"output": Path("x.avi")}, "unknown video format '.avi'"),
        ({"compare": True}, "pass --data FILE"),
        ({"actions": "data"}, "recorded actions need a dataset"),
        ({"episode": 7}, "clip 7 does not exist, expected 0..2"),
        ({"context": 9}, "hold 4 frames, expected 1..4"),
        ({"steps": 0}, "must be positive"),
    ],
)
def test_mistakes(tmp_path: Path, shift_checkpoint: Checkpoint, options: dict, message: str) -> None:
    output = tmp_path / options.pop("output", Path("out.gif"))
    with pytest.raises(WMError, match=message):
        run_rollout(ShiftModel(), shift_checkpoint, RolloutOptions(output, **options))
    assert list(tmp_path.iterdir()) == []


def test_data_mistakes(tmp_path: Path, square_data: Path, shift_checkpoint: Checkpoint) -> None:
    cases = [
        ({"episode": 8}, "holds episodes 0..7"),
        ({"start": 38, "context": 4}, "has 40 frames, expected start \\+ context <= 40"),
        ({"start": 30, "context": 4, "steps": 10, "compare": True}, "followed by 6 recorded frames, expected --steps 10"),
        ({"compare": True, "actions": "random"}, "drop --actions random"),
    ]
    for options, message in cases:
        with pytest.raises(WMError, match=message):
            run_rollout(ShiftModel(), shift_checkpoint, RolloutOptions(tmp_path / "o.gif", data=square_data, **options))
    assert list(tmp_path.iterdir()) == []


def test_dataset_frames_are_resized_to_the_model(tmp_path: Path, square_data: Path, shift_checkpoint: Checkpoint) -> None:
    with h5py.File(square_data) as f:
        frames, actions = f["frames"][:2], f["actions"][:2]
    with h5py.File(tmp_path / "big.h5", "w") as f:  # the same episodes at 32x32, channels last
        f["frames"] = frames.repeat(2, axis=-2).repeat(2, axis=-1).transpose(0, 1, 3, 4, 2)
        f["actions"] = actions
    options = RolloutOptions(tmp_path / "r.gif", steps=3, scale=4, data=tmp_path / "big.h5", context=2, compare=True)
    video = iio.imread(run_rollout(ShiftModel(), shift_checkpoint, options).output, index=None)[..., :3]
    assert np.array_equal(video[:, LABEL_HEIGHT::4, :64:4], frames[0, 2:5].transpose(0, 2, 3, 1))

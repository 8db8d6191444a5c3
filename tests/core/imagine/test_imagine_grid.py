"""rollout --each-action: one labelled tile per action, the truth beside them, tiles differ by their actions alone."""

from __future__ import annotations

from pathlib import Path

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
from squares import SPEC, ShiftModel, move

import wm.core.imagine.rollout as rollout_module
from wm.core.checkpoint import Checkpoint
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.imagine.grid import MAX_ACTIONS
from wm.core.imagine.rollout import RolloutOptions, run_rollout
from wm.core.imagine.video import GAP, LABEL_HEIGHT
from wm.core.loading import load_model

TILE = LABEL_HEIGHT + 64  # a 16x16 frame at scale 4 under its label row


def cell(video: np.ndarray, index: int, side: int = 64, columns: int = 3) -> np.ndarray:
    """Tile ``index`` (row-major) of a grid of side x side pictures: label row and picture, (T, LABEL + side, side, 3)."""
    height = LABEL_HEIGHT + side
    top, left = (index // columns) * (height + GAP), (index % columns) * (side + GAP)
    return video[:, top : top + height, left : left + side]


def test_grid_holds_truth_recorded_and_every_action(tmp_path: Path, square_data: Path, shift_checkpoint: Checkpoint) -> None:
    options = RolloutOptions(tmp_path / "g.gif", steps=5, scale=4, data=square_data, episode=-1, start=6, context=3,
                             each_action=True)
    result = run_rollout(ShiftModel(), shift_checkpoint, options)
    video = iio.imread(result.output, index=None)[..., :3]
    assert video.shape == (5, 3 * TILE + 2 * GAP, 3 * 64 + 2 * GAP, 3)  # 2 + 6 tiles in 3 columns, one cell empty
    assert result.batch == 7 and "episode 7, frames 6..8" in result.source
    with h5py.File(square_data) as f:
        last, truth = f["frames"][7, 8], f["frames"][7, 9:14]
    pictures = [cell(video, i)[:, LABEL_HEIGHT:] for i in range(8)]
    assert np.array_equal(pictures[0][:, ::4, ::4], truth.transpose(0, 2, 3, 1))  # the recorded future
    assert np.array_equal(pictures[1], pictures[0])  # the exact model with the recorded actions
    for action in range(len(SPEC.action_names)):  # each action held from the last context frame
        expected, frames = last, []
        for _ in range(5):
            expected = move(expected, action)
            frames.append(expected.transpose(1, 2, 0))
        assert np.array_equal(pictures[2 + action][:, ::4, ::4], np.stack(frames))
    labels = [cell(video, i)[:, :LABEL_HEIGHT] for i in range(8)]
    assert all(label.std() > 10 for label in labels)  # text drawn on every tile
    assert len({label[0].tobytes() for label in labels}) == 8  # each names its tile
    assert not np.array_equal(labels[2][0], labels[2][1])  # and the step


def test_without_data_the_grid_starts_from_a_checkpoint_clip(tmp_path: Path, shift_checkpoint: Checkpoint) -> None:
    options = RolloutOptions(tmp_path / "g.gif", steps=3, scale=1, episode=2, each_action=True)
    result = run_rollout(ShiftModel(), shift_checkpoint, options)
    video = iio.imread(result.output, index=None)[..., :3]
    assert video.shape == (3, 2 * (LABEL_HEIGHT + 16) + GAP, 3 * 16 + 2 * GAP, 3)  # 6 actions in 3 columns
    assert result.batch == 6 and result.source == "checkpoint clip 2 (4 frames)"


def test_tiles_are_the_single_rollouts_of_a_sampling_model(
    tmp_path: Path, square_data: Path, trained_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    videos: list[np.ndarray] = []
    monkeypatch.setattr(rollout_module, "write_video", lambda path, video, fps: videos.append(video))
    model, checkpoint = load_model(str(trained_checkpoint))
    window = {"data": square_data, "episode": 1, "start": 2, "seed": 5, "steps": 4, "scale": 1}
    run_rollout(model, checkpoint, RolloutOptions(tmp_path / "g.gif", each_action=True, **window))
    run_rollout(model, checkpoint, RolloutOptions(tmp_path / "c.gif", compare=True, **window))
    run_rollout(model, checkpoint, RolloutOptions(tmp_path / "u.gif", actions="repeat:UP", **window))
    grid, compare, up = videos
    recorded, held_up = cell(grid, 1, side=16)[:, LABEL_HEIGHT:], cell(grid, 2 + 2, side=16)[:, LABEL_HEIGHT:]
    assert np.array_equal(recorded, compare[:, LABEL_HEIGHT:, 16 + GAP :])  # the same draws as --compare
    assert np.array_equal(held_up, up)  # and as --actions repeat:UP: tiles differ by their actions alone


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        (DataSpec(3, 16, 16, "continuous", 2), {}, "actions are continuous \\(2 dimensions\\), expected discrete"),
        (DataSpec(3, 16, 16, num_actions=MAX_ACTIONS + 1), {}, f"has {MAX_ACTIONS + 1} actions, expected at most"),
        (SPEC, {"batch": 2}, "drop --compare, --actions and --batch"),
        (SPEC, {"actions": "UP"}, "drop --compare, --actions and --batch"),
        (SPEC, {"data": True, "start": 30, "steps": 10}, "--each-action --data: .* followed by 6 recorded frames"),
    ],
)
def test_mistakes(
    tmp_path: Path, square_data: Path, shift_checkpoint: Checkpoint, spec: DataSpec, options: dict, message: str
) -> None:
    options["data"] = square_data if options.get("data") else None
    with pytest.raises(WMError, match=message):
        run_rollout(ShiftModel(spec), shift_checkpoint, RolloutOptions(tmp_path / "g.gif", each_action=True, **options))
    assert list(tmp_path.iterdir()) == []

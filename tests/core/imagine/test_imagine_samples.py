"""save_sample: real context frames, then imagined ones driven by the recorded actions."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from squares import ShiftModel, move, square_episode

from wm.core.imagine import save_sample
from wm.core.imagine.video import GAP, LABEL_HEIGHT


def test_sample_shows_context_then_imagination(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    episodes = [square_episode(rng, 10) for _ in range(2)]
    frames = torch.from_numpy(np.stack([e[0][:4] for e in episodes]))
    actions = torch.from_numpy(np.stack([e[1][:6] for e in episodes]))  # 3 in the context, 3 recorded after it
    model = ShiftModel()
    path = save_sample(model, {"frames": frames, "actions": actions}, steps=5, path=tmp_path / "s.gif", scale=1)
    video = iio.imread(path, index=None)[..., :3]
    assert video.shape == (4 + 5, LABEL_HEIGHT + 16, 2 * 16 + GAP, 3)
    imagined = model.seen[-1]
    assert imagined[:, :3].tolist() == actions[:, 3:].tolist()  # recorded actions first, then random ones
    expected = episodes[1][0][3]
    for t in range(5):
        expected = move(expected, int(imagined[1, t]))
        assert np.array_equal(video[4 + t, LABEL_HEIGHT:, 16 + GAP :], expected.transpose(1, 2, 0))
    assert np.array_equal(video[2, LABEL_HEIGHT:, :16], frames[0, 2].permute(1, 2, 0).numpy())


def test_sample_without_actions_and_model_mode_kept(tmp_path: Path) -> None:
    model = ShiftModel().train()
    frames = torch.from_numpy(square_episode(np.random.default_rng(0), 3)[0][None])
    path = save_sample(model, {"frames": frames}, steps=2, path=tmp_path / "s.mp4")
    assert iio.imread(path, index=None).shape[0] == 5 and model.training

"""summarize and contact_sheet on a known dataset."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np

from tests.conftest import square_world
from wm.core.data import open_dataset
from wm.core.data.summary import contact_sheet, summarize


def test_summary_counts(tiny_dataset) -> None:
    dataset = open_dataset(tiny_dataset)
    summary = summarize(dataset)
    episodes = square_world(lengths=(32, 40, 48, 36), size=64)
    actions = np.concatenate([e["actions"] for e in episodes])
    assert summary.episodes == 4 and summary.total_steps == 156 and summary.lengths == (32, 38.0, 48)
    assert summary.action_counts == [(name, int((actions == a).sum())) for a, name in
                                     enumerate(("NOOP", "LEFT", "RIGHT", "UP", "DOWN"))]
    assert summary.terminals == 4 and summary.rewards[0] == sum(e["rewards"].sum() for e in episodes)
    assert summary.pixel_range == (20, 230)
    assert summary.storage["compression"] == "gzip (level 1)" and summary.compression > 5


def test_contact_sheet(tiny_dataset, tmp_path) -> None:
    path = contact_sheet(open_dataset(tiny_dataset), tmp_path / "sheet.png", frames=5)
    sheet = iio.imread(path)
    assert sheet.shape == (4 * 66 + 2, 5 * 66 + 2, 3)
    first = square_world(lengths=(32,), size=64)[0]["frames"][0]
    np.testing.assert_array_equal(sheet[2:66, 2:66], first.transpose(1, 2, 0))

"""moving_psnr: wm eval's moving-pixel rule on one frame (any channel moves a pixel; all its channels count)."""

from __future__ import annotations

import numpy as np

from wm.core.imagine.stats import PSNR_CAP
from wm.core.imagine.truth import moving_psnr


def test_only_the_pixels_that_moved_count() -> None:
    last = np.zeros((3, 4, 4), dtype=np.uint8)
    truth = last.copy()
    truth[1, 0, 0] = 255  # one pixel moves, in one channel
    imagined = np.full((3, 4, 4), 0.5, dtype=np.float32)  # wrong everywhere
    imagined[:, 0, 0] = [0.0, 1.0, 0.0]  # right on the moving pixel
    assert moving_psnr(imagined, truth, last) == PSNR_CAP
    imagined[:, 0, 0] = [0.5, 1.0, 1.5]  # errors 0.5, 0 and 1 (clipped to [0, 1]: 1 - 0 = 1)
    assert np.isclose(moving_psnr(imagined, truth, last), -10 * np.log10((0.25 + 0 + 1) / 3))


def test_nothing_moves_is_no_figure() -> None:
    frame = np.full((3, 4, 4), 7, dtype=np.uint8)
    assert moving_psnr(np.zeros((3, 4, 4), np.float32), frame, frame) is None

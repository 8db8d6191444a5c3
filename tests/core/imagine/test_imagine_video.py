"""Videos: frame counts in both formats, atomic writes, nearest upscaling, tiling, label rows."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from wm.core.errors import WMError
from wm.core.imagine import write_video
from wm.core.imagine.video import LABEL_HEIGHT, labelled, tile, to_pictures, upscale


def moving_dot(steps: int, size: int = 16) -> np.ndarray:
    frames = np.zeros((steps, size, size, 3), dtype=np.uint8)
    for t in range(steps):
        frames[t, t % size, (2 * t) % size] = 255
    return frames


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_every_frame_is_written(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"out{suffix}", moving_dot(12, 15), fps=10)  # odd size: mp4 pads to even
    frames = iio.imread(path, index=None)
    assert frames.shape[0] == 12
    assert frames.shape[1:3] == ((15, 15) if suffix == ".gif" else (16, 16))
    assert [p.name for p in tmp_path.iterdir()] == [f"out{suffix}"]


def test_gif_is_pixel_exact_for_few_colours(tmp_path: Path) -> None:
    frames = moving_dot(5)
    assert np.array_equal(iio.imread(write_video(tmp_path / "a.gif", frames, fps=5), index=None)[..., :3], frames)


def test_bad_outputs_are_refused_and_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(WMError, match=r"unknown video format '\.avi', expected \.gif or \.mp4"):
        write_video(tmp_path / "out.avi", moving_dot(3), fps=5)
    with pytest.raises(WMError, match="does not exist"):
        write_video(tmp_path / "missing" / "out.gif", moving_dot(3), fps=5)
    with pytest.raises(WMError, match=r"expected frames \(T, H, W, 1 or 3\)"):
        write_video(tmp_path / "out.gif", np.zeros((3, 8, 8)), fps=5)
    assert list(tmp_path.iterdir()) == []


def test_pictures_upscale_tile_and_label() -> None:
    frames = torch.rand(2, 3, 4, 5)
    pictures = to_pictures(frames)
    assert pictures.shape == (2, 4, 5, 3) and pictures.dtype == np.uint8
    assert to_pictures(torch.zeros(1, 1, 4, 5, dtype=torch.uint8)).shape == (1, 4, 5, 3)
    big = upscale(pictures, 3)
    assert big.shape == (2, 12, 15, 3)
    assert np.array_equal(big[:, ::3, ::3], pictures) and np.array_equal(big[:, 2::3, 2::3], pictures)
    grid = tile([big] * 3)  # 2 x 2 grid, one empty cell
    assert grid.shape == (2, 2 * 12 + 2, 2 * 15 + 2, 3)
    assert np.array_equal(grid[:, 14:26, :15], big) and np.array_equal(grid[:, :12, 17:], big)
    assert (grid[:, 14:, 17:] == 48).all()  # the empty cell
    rows = labelled(big, ["real 1", "imagined 1"])
    assert rows.shape == (2, LABEL_HEIGHT + 12, 15, 3)
    assert np.array_equal(rows[:, LABEL_HEIGHT:], big) and rows[:, :LABEL_HEIGHT].max() > 200  # text was drawn


def test_gif_pictures_share_one_palette_and_keep_few_colours_exact() -> None:
    from wm.core.imagine.video import gif_frames

    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(40, 3), dtype=np.uint8)
    pictures = colours[rng.integers(0, 40, size=(30, 8, 8))]  # 30 pictures drawing on 40 colours
    images = gif_frames(list(pictures))
    assert len({bytes(image.getpalette()) for image in images}) == 1  # one palette: frame-to-frame deltas stay small
    assert all(np.array_equal(np.asarray(image.convert("RGB")), p) for image, p in zip(images, pictures))

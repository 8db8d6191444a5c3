"""convert: pixel-exact for uint8 input, resize, action offset, and refusal of bad input with nothing left behind."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from tests.conftest import square_world, write_npz_dir, write_padded_h5
from wm.core.data import open_dataset
from wm.core.data.convert import convert
from wm.core.errors import WMError


def test_npz_round_trip_is_pixel_exact(tmp_path) -> None:
    episodes = square_world(lengths=(12, 30, 7))
    src = write_npz_dir(tmp_path / "eps", episodes, channels_last=True)
    out = convert(src, tmp_path / "out.h5", action_names=["NOOP", "L", "R", "U", "D"], fps=12)
    dataset = open_dataset(out)
    for i, e in enumerate(episodes):
        got = dataset.read(i)
        for key in ("frames", "actions", "rewards", "terminals"):
            np.testing.assert_array_equal(got[key], e[key])
    assert dataset.spec.action_names == ("NOOP", "L", "R", "U", "D") and dataset.spec.fps == 12.0
    with h5py.File(out) as f:
        assert f.attrs["source"] == f"converted from {src}"


def test_hdf5_layout_resized_and_shifted(tmp_path) -> None:
    episodes = square_world(lengths=(10, 20), size=32)
    src = write_padded_h5(tmp_path / "other.h5", episodes, channels_last=True, float_frames=True)
    out = convert(src, tmp_path / "out.h5", resize=(16, 8), action_offset=1)
    dataset = open_dataset(out)
    assert dataset.lengths.tolist() == [9, 19]
    got = dataset.read(1)
    assert got["frames"].shape == (19, 3, 16, 8)
    np.testing.assert_array_equal(got["actions"], episodes[1]["actions"][1:])
    np.testing.assert_array_equal(got["rewards"], episodes[1]["rewards"][1:])
    # area averaging: each output pixel is the mean of a 2x4 block
    block = episodes[1]["frames"][0, :, :2, :4].astype(float).mean(axis=(1, 2))
    np.testing.assert_allclose(got["frames"][0, :, 0, 0], np.rint(block), atol=1)


def h5(tmp_path, **arrays):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f[key] = value
    return path


def frames(n=2, t=5, dtype=np.uint8, value=10):
    return np.full((n, t, 3, 8, 8), value, dtype=dtype)


ACTIONS = np.zeros((2, 5), dtype=np.int64)


def bad_npz_actions(tmp_path):
    folder = tmp_path / "eps"
    folder.mkdir()
    np.savez(folder / "ep0.npz", frames=np.zeros((6, 3, 8, 8), np.uint8), actions=np.zeros(5, np.int64))
    return folder


def npz_without_actions(tmp_path):
    folder = tmp_path / "eps"
    folder.mkdir()
    np.savez(folder / "ep0.npz", frames=np.zeros((6, 3, 8, 8), np.uint8))
    return folder


def npz_mixed_shapes(tmp_path):
    folder = tmp_path / "eps"
    folder.mkdir()
    np.savez(folder / "ep0.npz", frames=np.zeros((6, 3, 8, 8), np.uint8), actions=np.zeros(6, np.int64))
    np.savez(folder / "ep1.npz", frames=np.zeros((6, 3, 9, 8), np.uint8), actions=np.zeros(6, np.int64))
    return folder


def image_folder_without_actions(tmp_path):
    import imageio.v3 as iio

    folder = tmp_path / "imgs" / "ep0"
    folder.mkdir(parents=True)
    iio.imwrite(folder / "0.png", np.zeros((8, 8, 3), np.uint8))
    return tmp_path / "imgs"


def not_hdf5(tmp_path):
    path = tmp_path / "broken.h5"
    path.write_text("not hdf5")
    return path


def with_nan(tmp_path):
    f = frames(dtype=np.float32)
    f[1, 0, 0, 0, 0] = np.nan
    return h5(tmp_path, frames=f, actions=ACTIONS)


BAD = {
    "missing source": (lambda p: p / "nope.h5", {}, "no such file or directory"),
    "no frames key": (lambda p: h5(p, actions=ACTIONS), {}, "no 'frames' dataset; found keys ['actions']"),
    "no actions key": (lambda p: h5(p, frames=frames()), {}, "no 'actions' dataset"),
    "frames 4-D": (lambda p: h5(p, frames=np.zeros((2, 5, 8, 8), np.uint8), actions=ACTIONS), {},
                   "expected (N,T,C,H,W) or (N,T,H,W,C)"),
    "7 channels": (lambda p: h5(p, frames=np.zeros((2, 5, 7, 8, 7), np.uint8), actions=ACTIONS), {},
                   "expected 1, 3 or 4 channels"),
    "int32 frames": (lambda p: h5(p, frames=frames(dtype=np.int32), actions=ACTIONS), {}, "has dtype int32"),
    "N mismatch": (lambda p: h5(p, frames=frames(), actions=np.zeros((3, 5), np.int64)), {},
                   "'actions' has shape (3, 5); expected leading shape (2, 5)"),
    "T mismatch": (lambda p: h5(p, frames=frames(), actions=np.zeros((2, 4), np.int64)), {},
                   "'actions' has shape (2, 4); expected leading shape (2, 5)"),
    "negative action": (lambda p: h5(p, frames=frames(), actions=ACTIONS - 1), {}, "negative value -1"),
    "fractional action": (lambda p: h5(p, frames=frames(), actions=ACTIONS + 0.5), {},
                          "non-integer values such as 0.5"),
    "NaN frames": (with_nan, {}, "'frames' contains NaN or inf"),
    "frames above 255": (lambda p: h5(p, frames=frames(dtype=np.float32, value=300), actions=ACTIONS), {},
                         "values in [300, 300]; expected values in [0, 255]"),
    "frames in [0,1]": (lambda p: h5(p, frames=frames(dtype=np.float32, value=0.5), actions=ACTIONS), {},
                        "multiply frames in [0, 1] by 255"),
    "lengths beyond T": (lambda p: h5(p, frames=frames(), actions=ACTIONS, lengths=np.array([5, 9])), {},
                         "'lengths' has values in [5, 9]; expected values in [1, 5]"),
    "rewards shape": (lambda p: h5(p, frames=frames(), actions=ACTIONS, rewards=np.zeros((2, 4))), {},
                      "'rewards' has shape (2, 4); expected (2, 5)"),
    "NaN rewards": (lambda p: h5(p, frames=frames(), actions=ACTIONS, rewards=np.full((2, 5), np.nan)), {},
                    "'rewards' contains NaN or inf"),
    "not HDF5": (not_hdf5, {}, "not a readable HDF5 file"),
    "npz steps mismatch": (bad_npz_actions, {}, "'actions' has 5 steps; expected 6"),
    "npz without actions": (npz_without_actions, {}, "no 'actions' array"),
    "npz mixed frame shapes": (npz_mixed_shapes, {}, "ep1.npz: 'frames' has shape (6, 3, 9, 8)"),
    "image folder without actions": (image_folder_without_actions, {}, "no actions.npy or actions.txt"),
    "too few action names": (lambda p: h5(p, frames=frames(), actions=ACTIONS + 3), {"action_names": ["A", "B"]},
                             "2 action names for 4 actions"),
    "offset too large": (lambda p: h5(p, frames=frames(), actions=ACTIONS), {"action_offset": 5},
                         "every episode has at most 5 steps"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_is_refused_and_leaves_nothing(tmp_path, case) -> None:
    make, kwargs, message = BAD[case]
    src = make(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(WMError) as err:
        convert(src, out_dir / "out.h5", **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert list(out_dir.iterdir()) == []


def test_existing_output_is_kept(tmp_path) -> None:
    src = write_npz_dir(tmp_path / "eps", square_world(lengths=(5,)))
    out = tmp_path / "out.h5"
    out.write_bytes(b"precious")
    with pytest.raises(WMError, match="already exists"):
        convert(src, out)
    assert out.read_bytes() == b"precious"
    convert(src, out, overwrite=True)
    assert open_dataset(out).lengths.tolist() == [5]

"""Every accepted layout reads back as uint8 (t, C, H, W) frames with the right actions and spec."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest

from tests.conftest import square_world, write_canonical, write_npz_dir, write_padded_h5
from wm.core.data import open_dataset
from wm.core.data.convert import open_source
from wm.core.errors import WMError


def assert_same(dataset, episodes) -> None:
    assert dataset.num_episodes == len(episodes)
    assert dataset.lengths.tolist() == [len(e["actions"]) for e in episodes]
    for i, e in enumerate(episodes):
        got = dataset.read(i)
        assert got["frames"].dtype == np.uint8 and got["frames"].flags.c_contiguous
        np.testing.assert_array_equal(got["frames"], e["frames"])
        np.testing.assert_array_equal(got["actions"], e["actions"])
        for key in ("rewards", "terminals"):
            if key in got:
                np.testing.assert_array_equal(got[key], e[key])


def test_canonical_file_round_trip_with_attributes(tmp_path) -> None:
    episodes = square_world()
    path = write_canonical(tmp_path / "c.h5", episodes, action_names=("NOOP", "L", "R", "U", "D"), fps=15.0)
    dataset = open_dataset(path)
    assert_same(dataset, episodes)
    spec = dataset.spec
    assert (spec.channels, spec.height, spec.width, spec.num_actions) == (3, 16, 16, 5)
    assert spec.action_names == ("NOOP", "L", "R", "U", "D") and spec.fps == 15.0
    assert spec.has_rewards and spec.has_terminals and spec.discrete
    window = dataset.read(2, 5, 9)
    assert window["frames"].shape == (4, 3, 16, 16) and window["actions"].dtype == np.int64
    assert window["rewards"].dtype == np.float32 and window["terminals"].dtype == np.bool_
    with h5py.File(path) as f:
        assert f.attrs["format"] == "wm-episodes" and f.attrs["format_version"] == 1
        assert f["frames"].compression == "gzip" and f["frames"].chunks == (1, 64, 3, 16, 16)
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("float_frames", [False, True])
def test_padded_hdf5_layouts(tmp_path, channels_last, float_frames) -> None:
    episodes = square_world()
    path = write_padded_h5(tmp_path / "x.h5", episodes, channels_last=channels_last, float_frames=float_frames)
    assert_same(open_dataset(path), episodes)


def test_hdf5_without_lengths_or_optional_keys(tmp_path) -> None:
    episodes = square_world(lengths=(20, 20))
    dataset = open_dataset(write_padded_h5(tmp_path / "x.h5", episodes, lengths=False, keys=()))
    assert_same(dataset, episodes)
    assert not dataset.spec.has_rewards and set(dataset.read(0, 0, 2)) == {"frames", "actions"}


def test_continuous_actions(tmp_path) -> None:
    episodes = square_world(continuous=True)
    for path in (write_padded_h5(tmp_path / "x.h5", episodes), write_canonical(tmp_path / "c.h5", episodes)):
        dataset = open_dataset(path)
        assert dataset.spec.action_kind == "continuous" and dataset.spec.num_actions == 2
        assert dataset.read(0)["actions"].dtype == np.float32
        assert_same(dataset, episodes)


@pytest.mark.parametrize("channels_last", [False, True])
def test_npz_directory_in_natural_order(tmp_path, channels_last) -> None:
    episodes = square_world(lengths=[10 + i for i in range(11)])  # ep10 must come after ep9
    dataset = open_dataset(write_npz_dir(tmp_path / "eps", episodes, channels_last=channels_last))
    assert_same(dataset, episodes)
    assert dataset.spec.num_actions == 5 and dataset.spec.has_rewards


def test_image_folders_with_actions_txt(tmp_path) -> None:
    import imageio.v3 as iio

    episodes = square_world(lengths=(6, 12))
    for i, e in enumerate(episodes):
        folder = tmp_path / "imgs" / f"episode_{i}"
        folder.mkdir(parents=True)
        for t, frame in enumerate(e["frames"]):
            iio.imwrite(folder / f"{t}.png", frame.transpose(1, 2, 0))
        np.savetxt(folder / "actions.txt", e["actions"], fmt="%d")
    dataset = open_source(tmp_path / "imgs")
    assert_same(dataset, [{"frames": e["frames"], "actions": e["actions"]} for e in episodes])


def test_video_with_actions_beside(tmp_path) -> None:
    import imageio.v3 as iio

    episodes = square_world(lengths=(8, 10), size=32)
    for i, e in enumerate(episodes):
        iio.imwrite(tmp_path / f"ep{i}.mp4", e["frames"].transpose(0, 2, 3, 1), fps=10)
        np.save(tmp_path / f"ep{i}.npy", e["actions"])
    dataset = open_source(tmp_path)
    assert dataset.lengths.tolist() == [8, 10] and dataset.spec.fps == 10.0
    frames = dataset.read(1)["frames"]
    assert frames.shape == (10, 3, 32, 32)
    # lossy codec: close to the source, not equal
    assert np.abs(frames.astype(int) - episodes[1]["frames"]).mean() < 12
    np.testing.assert_array_equal(dataset.read(1)["actions"], episodes[1]["actions"])


def test_pickled_dataset_reopens_its_file(tmp_path) -> None:
    episodes = square_world()
    dataset = open_dataset(write_canonical(tmp_path / "c.h5", episodes))
    dataset.read(0, 0, 2)
    clone = pickle.loads(pickle.dumps(dataset))
    np.testing.assert_array_equal(clone.read(1, 3, 7)["frames"], episodes[1]["frames"][3:7])


def test_padding_beyond_lengths_is_ignored(tmp_path) -> None:
    episodes = square_world(lengths=(6, 10))
    path = write_padded_h5(tmp_path / "x.h5", episodes)
    with h5py.File(path, "a") as f:
        actions, rewards = f["actions"][()], f["rewards"][()]
        actions[0, 6:], rewards[0, 6:] = -1, np.nan  # a common padding convention
        f["actions"][...], f["rewards"][...] = actions, rewards
    assert_same(open_dataset(path), episodes)


def test_npz_windows_from_stored_and_fortran_ordered_files(tmp_path) -> None:
    episodes = square_world(lengths=(30, 12))
    folder = tmp_path / "eps"
    folder.mkdir()
    np.savez(folder / "ep0.npz", frames=episodes[0]["frames"], actions=episodes[0]["actions"])  # stored, not deflated
    np.savez_compressed(folder / "ep1.npz", frames=np.asfortranarray(episodes[1]["frames"]),
                        actions=episodes[1]["actions"])
    dataset = open_dataset(folder)
    for episode, start, stop in [(0, 20, 30), (0, 2, 5), (1, 3, 9), (0, 5, 8), (1, 0, 12)]:  # back and forth
        np.testing.assert_array_equal(dataset.read(episode, start, stop)["frames"],
                                      episodes[episode]["frames"][start:stop])
    clone = pickle.loads(pickle.dumps(dataset))
    np.testing.assert_array_equal(clone.read(0, 7, 9)["frames"], episodes[0]["frames"][7:9])


@pytest.mark.parametrize(("actions", "message"), [(12, "10 frames for 12 actions"),
                                                  (8, "more than 8 frames for 8 actions")])
def test_video_frame_count_checked_while_streaming(tmp_path, actions: int, message: str) -> None:
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "ep0.mp4", square_world(lengths=(10,), size=32)[0]["frames"].transpose(0, 2, 3, 1), fps=10)
    np.save(tmp_path / "ep0.npy", np.zeros(actions, np.int64))
    dataset = open_source(tmp_path)
    assert dataset.read(0, 0, 4)["frames"].shape == (4, 3, 32, 32)
    with pytest.raises(WMError, match=message):
        dataset.read(0, 4, actions)

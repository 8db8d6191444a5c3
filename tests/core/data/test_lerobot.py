"""LeRobot datasets (v2.1 and v3.0, real parquet and mp4): frames by timestamp, steps, cameras, convert, refusals, Hub."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.hub_server import hub  # noqa: F401 - the stand-in Hub fixture
from tests.lerobot_data import FPS, LENGTHS, TOP, WRIST, brightness, expected, write_lerobot
from wm.core.data import open_dataset
from wm.core.data.convert import convert
from wm.core.errors import WMError

VERSIONS = ("v2.1", "v3.0")
LOSS = 4  # grey levels lost to video compression; neighbouring frames differ by 10


@pytest.fixture(scope="module", params=VERSIONS)
def dataset_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lerobot(tmp_path_factory.mktemp("lerobot") / request.param, request.param)


def levels(frames: np.ndarray) -> np.ndarray:
    """Mean grey level of each (C, H, W) frame."""
    return frames.reshape(len(frames), -1).mean(axis=1)


def test_frames_and_steps_of_every_episode(dataset_dir: Path) -> None:
    dataset = open_dataset(dataset_dir)
    spec = dataset.spec
    assert dataset.lengths.tolist() == list(LENGTHS)
    assert (spec.channels, spec.height, spec.width, spec.fps) == (3, 32, 32, FPS)
    assert (spec.action_kind, spec.num_actions, spec.state_size, spec.has_rewards, spec.has_terminals) == (
        "continuous", 2, 3, True, True)
    for episode, length in enumerate(LENGTHS):
        got = dataset.read(episode)
        want = [brightness(episode, i) for i in range(length)]
        np.testing.assert_allclose(levels(got["frames"]), want, atol=LOSS)
        for key, values in expected(episode).items():
            np.testing.assert_array_equal(got[key], values)
    np.testing.assert_array_equal(dataset.all_steps("states"), np.concatenate([expected(e)["states"] for e in (0, 1, 2)]))


def test_windows_in_any_order_are_frame_accurate(dataset_dir: Path) -> None:
    dataset = open_dataset(dataset_dir)
    for episode, start, stop in [(1, 3, 7), (1, 7, 9), (0, 2, 3), (2, 0, 5), (1, 0, 2), (1, 8, 9)]:
        got = dataset.read(episode, start, stop)["frames"]
        np.testing.assert_allclose(levels(got), [brightness(episode, i) for i in range(start, stop)], atol=LOSS)


def test_two_cameras_tile_side_by_side_at_the_first_cameras_size(dataset_dir: Path) -> None:
    for camera in (f"{TOP},{WRIST}", [TOP, WRIST]):
        dataset = open_dataset(dataset_dir, camera=camera)
        assert (dataset.spec.height, dataset.spec.width) == (32, 64)  # wrist frames are 64x64, shrunk to 32x32
        frames = dataset.read(2)["frames"]
        np.testing.assert_allclose(levels(frames[..., :32]), [brightness(2, i) for i in range(5)], atol=LOSS)
        np.testing.assert_allclose(levels(frames[..., 32:]), [brightness(2, i, WRIST) for i in range(5)], atol=LOSS)
    wrist = open_dataset(dataset_dir, camera=WRIST)
    assert wrist.spec.height == 64 and "other cameras" in wrist.storage()


def test_unknown_camera_names_the_cameras_there(dataset_dir: Path) -> None:
    with pytest.raises(WMError, match=f"camera 'front' is not a video feature; expected one of {TOP}, {WRIST}"):
        open_dataset(dataset_dir, camera="front")
    with pytest.raises(WMError, match="not a LeRobot dataset"):
        open_dataset(dataset_dir / "meta" / "info.json", camera=TOP)


def test_convert_keeps_actions_states_and_episode_boundaries(dataset_dir: Path, tmp_path: Path) -> None:
    out = convert(dataset_dir, tmp_path / "out.h5", resize=(16, 16), camera=TOP)
    converted = open_dataset(out)
    assert converted.lengths.tolist() == list(LENGTHS) and converted.spec.state_size == 3
    for episode in range(len(LENGTHS)):
        got = converted.read(episode)
        np.testing.assert_allclose(levels(got["frames"]), [brightness(episode, i) for i in range(LENGTHS[episode])],
                                   atol=LOSS)
        for key, values in expected(episode).items():
            np.testing.assert_array_equal(got[key], values)
    with h5py.File(out) as f:
        assert f["states"].dtype == np.float32 and f["states"].shape == (3, 9, 3)
        assert f.attrs["source"] == f"converted from {dataset_dir} camera {TOP}" and f.attrs["fps"] == FPS


def edit_json(file: Path, change) -> None:  # noqa: ANN001
    value = json.loads(file.read_text())
    change(value)
    file.write_text(json.dumps(value))


def edit_episodes_v3(root: Path, column: str, values: list) -> None:
    file = root / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(file)
    pq.write_table(table.set_column(table.schema.get_field_index(column), column, pa.array(values)), file)


BAD = {
    "fps": (lambda r: edit_json(r / "meta/info.json", lambda i: i.update(fps=0)), "info.json: 'fps' is 0"),
    "version": (lambda r: edit_json(r / "meta/info.json", lambda i: i.update(codebase_version="v1.6")),
                "'codebase_version' is 'v1.6'"),
    "template": (lambda r: edit_json(r / "meta/info.json", lambda i: i.update(data_path="../{chunk_index}.parquet")),
                 "'data_path' gives '../0.parquet'; expected a path inside the dataset folder"),
    "field": (lambda r: edit_json(r / "meta/info.json", lambda i: i.update(video_path="{video_key.__class__}")),
              "'video_path' is '{video_key.__class__}'; expected a path template"),
    "shape": (lambda r: edit_json(r / "meta/info.json", lambda i: i["features"]["action"].update(shape=[3])),
              "column 'action' holds lists of \\[2\\] values; expected \\[3\\]"),
    "no action": (lambda r: edit_json(r / "meta/info.json", lambda i: i["features"].pop("action")),
                  "no 'action' feature"),
    "camera size": (lambda r: edit_json(r / "meta/info.json", lambda i: i["features"][TOP].update(shape=[48, 48, 3])),
                    f"feature '{TOP}' has shape \\[48, 48, 3\\]; expected \\[32, 32, 3\\]"),
    "rows": (lambda r: edit_episodes_v3(r, "dataset_to_index", [6, 15, 21]),
             "episode 2 has dataset_from_index..dataset_to_index 15..21, length 5; expected 5 rows inside"),
    "timestamps": (lambda r: edit_episodes_v3(r, f"videos/{TOP}/from_timestamp", [0.0, 0.6, 1.6]),
                   "video ends at 2.0000 s; expected episode 2 \\(from_timestamp 1.6, 5 frames\\)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_metadata_is_one_line_naming_file_and_field(case: str, tmp_path: Path) -> None:
    root = write_lerobot(tmp_path / "bad")
    change, message = BAD[case]
    change(root)
    with pytest.raises(WMError, match=message) as caught:
        open_dataset(root)
    assert "\n" not in str(caught.value) and str(root) in str(caught.value)


def test_v21_length_must_match_the_parquet_rows(tmp_path: Path) -> None:
    root = write_lerobot(tmp_path / "bad", "v2.1")
    lines = (root / "meta/episodes.jsonl").read_text().replace('"length": 9', '"length": 90')
    (root / "meta/episodes.jsonl").write_text(lines)
    with pytest.raises(WMError, match="episode_000001.parquet: 9 rows; expected 90"):
        open_dataset(root)


def test_hub_dataset_downloads_only_the_chosen_camera(hub, tmp_path: Path) -> None:  # noqa: F811
    from huggingface_hub import HfApi

    root = write_lerobot(tmp_path / "push", "v3.0")
    api = HfApi()
    api.create_repo("alice/push", repo_type="dataset")
    api.upload_folder(repo_id="alice/push", repo_type="dataset", folder_path=root)
    dataset = open_dataset("hf://datasets/alice/push", camera=TOP)
    assert dataset.source.startswith("hf://datasets/alice/push@") and dataset.source.endswith(f"camera {TOP}")
    np.testing.assert_allclose(levels(dataset.read(1)["frames"]), [brightness(1, i) for i in range(9)], atol=LOSS)
    fetched = {p.relative_to(dataset.path).as_posix() for p in dataset.path.rglob("*") if p.is_file()}
    assert f"videos/{TOP}/chunk-000/file-000.mp4" in fetched and "data/chunk-000/file-001.parquet" in fetched
    assert not any(WRIST in f or f.startswith("meta/tasks") for f in fetched)
    with pytest.raises(WMError, match="alice/missing: repository not found on the Hub"):
        open_dataset("hf://datasets/alice/missing")

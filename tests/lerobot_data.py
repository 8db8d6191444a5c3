"""Small LeRobot datasets written in the exact codebase v2.1 and v3.0 layouts: real parquet (pyarrow), real mp4 (PyAV).

Every frame is flat grey at a brightness unique to its (episode, frame) (``brightness``), so a
reader that is off by one frame is caught; the second camera is larger (64x64) and inverted, so
tiling and resizing show. Videos are AV1 (SVT-AV1, LeRobot's default codec; keyframe every 2
frames like LeRobot's ``g=2``) when the installed PyAV wheel can encode it, else h264, else mpeg4.
v3.0 spreads the episodes over two data files (episodes 0-1, then 2) but keeps every episode of
a camera in one mp4, so row ranges and video timestamps are exercised independently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

LENGTHS = (6, 9, 5)
FPS = 10
TOP, WRIST = "observation.images.top", "observation.images.wrist"
SIZES = {TOP: 32, WRIST: 64}
os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1: errors only


def codec() -> str:
    """The first of AV1, h264, mpeg4 that this PyAV can encode."""
    import av

    for name in ("libsvtav1", "libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - av raises its own UnknownCodecError
            continue
    raise RuntimeError("PyAV has no video encoder")


def brightness(episode: int, frame: int, camera: str = TOP) -> int:
    """The grey level of a frame: 8 + 10 x its global index, inverted for the wrist camera."""
    value = 8 + 10 * (sum(LENGTHS[:episode]) + frame)
    return value if camera == TOP else 255 - value


def expected(episode: int) -> dict[str, np.ndarray]:
    """The per-step arrays of an episode as written."""
    i = np.arange(LENGTHS[episode], dtype=np.float32)
    return {
        "actions": np.stack([np.full_like(i, episode), i + 0.5], axis=1),
        "states": np.stack([np.full_like(i, episode), i, i * 2 - 1], axis=1),
        "rewards": i / 10,
        "terminals": i == LENGTHS[episode] - 1,
    }


def write_lerobot(root: Path, version: str = "v3.0") -> Path:
    """A LeRobot dataset of ``LENGTHS`` episodes, two cameras, state, reward and done, at ``root``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root.mkdir(parents=True)
    (root / "meta").mkdir()
    info = _info(version)
    _write_json(root / "meta/info.json", info)
    starts = np.concatenate([[0], np.cumsum(LENGTHS)])
    if version == "v3.0":
        for file_index, episodes in enumerate([(0, 1), (2,)]):
            _write(pq, root / info["data_path"].format(chunk_index=0, file_index=file_index),
                   pa.concat_tables([_steps(pa, e, starts[e]) for e in episodes]))
        for camera in SIZES:
            _encode(root / info["video_path"].format(video_key=camera, chunk_index=0, file_index=0),
                    [brightness(e, i, camera) for e in range(len(LENGTHS)) for i in range(LENGTHS[e])], camera)
        rows = []
        for e, length in enumerate(LENGTHS):
            row: dict[str, Any] = {
                "episode_index": e, "tasks": ["push the block"], "length": length,
                "data/chunk_index": 0, "data/file_index": 0 if e < 2 else 1,
                "dataset_from_index": int(starts[e]), "dataset_to_index": int(starts[e + 1]),
                "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0,
                "stats/action/mean": [float(e), 0.0],
            }
            for camera in SIZES:
                row |= {f"videos/{camera}/chunk_index": 0, f"videos/{camera}/file_index": 0,
                        f"videos/{camera}/from_timestamp": starts[e] / FPS,
                        f"videos/{camera}/to_timestamp": starts[e + 1] / FPS}
            rows.append(row)
        _write(pq, root / "meta/episodes/chunk-000/file-000.parquet", pa.Table.from_pylist(rows))
        _write(pq, root / "meta/tasks.parquet", pa.table({"task_index": [0], "task": ["push the block"]}))
    else:
        for e, length in enumerate(LENGTHS):
            _write(pq, root / info["data_path"].format(episode_chunk=0, episode_index=e), _steps(pa, e, starts[e]))
            for camera in SIZES:
                _encode(root / info["video_path"].format(episode_chunk=0, video_key=camera, episode_index=e),
                        [brightness(e, i, camera) for i in range(length)], camera)
        lines = [json.dumps({"episode_index": e, "tasks": ["push the block"], "length": n}) for e, n in enumerate(LENGTHS)]
        (root / "meta/episodes.jsonl").write_text("\n".join(lines) + "\n")
        (root / "meta/tasks.jsonl").write_text(json.dumps({"task_index": 0, "task": "push the block"}) + "\n")
    return root


def _info(version: str) -> dict[str, Any]:
    v3 = version == "v3.0"
    scalar = {"shape": [1], "names": None}
    features: dict[str, Any] = {
        camera: {"dtype": "video", "shape": [size, size, 3], "names": ["height", "width", "channels"],
                 "info": {"video.fps": FPS, "video.codec": "av1", "video.pix_fmt": "yuv420p"}}
        for camera, size in SIZES.items()
    }
    features |= {
        "observation.state": {"dtype": "float32", "shape": [3], "names": ["x", "y", "z"]},
        "action": {"dtype": "float32", "shape": [2], "names": ["dx", "dy"]},
        "next.reward": {"dtype": "float32", **scalar}, "next.done": {"dtype": "bool", **scalar},
        "timestamp": {"dtype": "float32", **scalar}, "frame_index": {"dtype": "int64", **scalar},
        "episode_index": {"dtype": "int64", **scalar}, "index": {"dtype": "int64", **scalar},
        "task_index": {"dtype": "int64", **scalar},
    }
    return {
        "codebase_version": version, "robot_type": "pusher", "total_episodes": len(LENGTHS),
        "total_frames": sum(LENGTHS), "total_tasks": 1, "chunks_size": 1000, "fps": FPS,
        "splits": {"train": f"0:{len(LENGTHS)}"},
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet" if v3
        else "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4" if v3
        else "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
        "features": features,
    }


def _steps(pa: Any, episode: int, first_index: int) -> Any:
    """The parquet rows of one episode, with LeRobot's bookkeeping columns."""
    steps, n = expected(episode), LENGTHS[episode]
    vectors = {k: pa.FixedSizeListArray.from_arrays(pa.array(steps[v].reshape(-1)), steps[v].shape[1])
               for k, v in (("action", "actions"), ("observation.state", "states"))}
    return pa.table({
        **vectors, "next.reward": steps["rewards"], "next.done": steps["terminals"],
        "timestamp": np.arange(n, dtype=np.float32) / FPS, "frame_index": np.arange(n),
        "episode_index": np.full(n, episode), "index": first_index + np.arange(n), "task_index": np.zeros(n, np.int64),
    })


def _encode(file: Path, levels: list[int], camera: str) -> None:
    import av

    file.parent.mkdir(parents=True, exist_ok=True)
    size, name = SIZES[camera], codec()
    with av.open(str(file), "w") as container:
        stream = container.add_stream(name, rate=FPS)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": "2", "crf": "30", "preset": "12"} if name == "libsvtav1" else {"g": "2"}
        for level in levels:
            image = np.full((size, size, 3), level, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _write(pq: Any, file: Path, table: Any) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, file)


def _write_json(file: Path, value: Any) -> None:
    file.write_text(json.dumps(value, indent=2))

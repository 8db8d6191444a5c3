"""LeRobotEpisodes: a LeRobot dataset (codebase v2.1 or v3.0, see lerobot_meta.py) read as episodes.

Frames: the chosen camera's mp4 frames, frame i of an episode decoded at ``from_timestamp + i / fps``
(video_stream.py), uint8 (t, 3, H, W). Several cameras are tiled side by side in the order given,
each resized (area averaging, bilinear to enlarge) to the first camera's H x W: (t, 3, H, k * W).
Actions: the ``action`` feature, float32 (t, A) continuous (integer actions of shape (1,) read as
discrete indices); LeRobot records the action commanded at each frame, wm's order as it is.
``states``: ``observation.state`` float32 (t, S) when present; rewards and terminals: ``next.reward``
and ``next.done`` when present. The per-step columns are read at open and checked (rows of each
episode against ``episode_index``, shapes against info.json, finite); every video is probed at open
(frame size, and that it lasts past each episode's last frame), frames stream from it when read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wm.core.data.frames import resize_frames
from wm.core.data.lerobot_meta import INFO, Episode, Feature, Info, read_episodes, read_info
from wm.core.data.per_file import PerFileEpisodes
from wm.core.errors import WMError

ACTION, STATE, REWARD, DONE = "action", "observation.state", "next.reward", "next.done"
EXTRA = "pip install 'wm-world-models[lerobot]' (pyarrow and av)"


def is_lerobot(path: str | Path) -> bool:
    """Whether ``path`` names a LeRobot dataset: ``hf://datasets/...`` or a folder with meta/info.json."""
    from wm.core.data.lerobot_hub import DATASET_SCHEME

    return str(path).startswith(DATASET_SCHEME) or (Path(path).expanduser() / INFO).is_file()


def open_lerobot(path: str | Path, camera: str | Sequence[str] | None = None) -> LeRobotEpisodes:
    """A LeRobot dataset from a folder or ``hf://datasets/USER/NAME[@rev]`` (downloaded: lerobot_hub.py)."""
    try:
        import av  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as err:
        raise WMError(f"{path}: reading LeRobot datasets needs {err.name}; {EXTRA}") from None
    if str(path).startswith("hf://"):
        from wm.core.data.lerobot_hub import download_dataset

        folder, source = download_dataset(str(path), camera)
        return LeRobotEpisodes(folder, camera, source=source)
    return LeRobotEpisodes(Path(path).expanduser(), camera)


class LeRobotEpisodes(PerFileEpisodes):
    """Episodes of a LeRobot dataset folder; ``files[e]`` is episode e's parquet file."""

    def __init__(self, path: Path, camera: str | Sequence[str] | None = None, source: str | None = None) -> None:
        self.path = Path(path)
        self.info = read_info(self.path)
        self.cameras = self.info.choose(camera)
        self.episodes = read_episodes(self.info, self.cameras)
        self.source = f"{source or self.path} camera {','.join(self.cameras)}"
        self.files = [e.data_file for e in self.episodes]
        self.lengths = np.array([e.length for e in self.episodes], dtype=np.int64)
        self._decoders: dict[str, Any] = {}  # camera -> VideoDecoder of this process
        self._sizes = self._probe_videos()  # camera -> (H, W)
        steps = self._read_steps()
        height, width = self._sizes[self.cameras[0]]
        self._set_steps(steps[ACTION], steps.get(REWARD), steps.get(DONE), (3, height, width * len(self.cameras)),
                        fps=self.info.fps, states=steps.get(STATE))

    def _probe_videos(self) -> dict[str, tuple[int, int]]:
        """Each camera's frame size, checked to be the same in all its files and against info.json;
        and that every episode's last frame lies inside its video."""
        from wm.core.data.video_stream import probe

        probes: dict[Path, Any] = {}
        sizes: dict[str, tuple[int, int]] = {}
        for episode in self.episodes:
            for camera, video in episode.videos.items():
                found = probes[video.file] = probes.get(video.file) or self._probe(probe, video.file)
                size = sizes.setdefault(camera, self._declared_size(camera, (found.height, found.width)))
                if (found.height, found.width) != size:
                    raise WMError(f"{video.file}: frames are {found.height}x{found.width}; expected {size[0]}x{size[1]} "
                                  f"like camera '{camera}' in {self.info.file}")
                last = video.start + (episode.length - 1) / self.info.fps
                if last >= found.end - 0.5 / self.info.fps:
                    raise WMError(f"{video.file}: video ends at {found.end:.4f} s; expected episode {episode.index} "
                                  f"(from_timestamp {video.start:g}, {episode.length} frames) to end inside it")
        self._codecs = sorted({p.codec for p in probes.values()})
        return sizes

    @staticmethod
    def _probe(probe: Any, file: Path) -> Any:
        if not file.is_file():
            raise WMError(f"{file}: no such video; the dataset's episode table names it")
        return probe(file)

    def _declared_size(self, camera: str, found: tuple[int, int]) -> tuple[int, int]:
        """The stream's (H, W), which info.json's shape for ``camera`` must declare ((H, W, C) or (C, H, W))."""
        shape = self.info.features[camera].shape
        if len(shape) != 3 or found not in (shape[:2], shape[1:]):
            raise WMError(f"{self.info.file}: feature '{camera}' has shape {list(shape)}; expected "
                          f"[{found[0]}, {found[1]}, 3] like its video")
        return found

    def _read_steps(self) -> dict[str, list[np.ndarray]]:
        """Per episode: ``action`` and, when info.json declares them, state, reward and done columns."""
        features = self.info.features
        if ACTION not in features:
            raise WMError(f"{self.info.file}: no '{ACTION}' feature; expected the actions of every frame")
        keys = [k for k in (ACTION, STATE, REWARD, DONE) if k in features]
        out: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        tables: dict[Path, dict[str, np.ndarray]] = {}
        for episode in self.episodes:
            if episode.data_file not in tables:
                tables = {episode.data_file: self._columns(episode.data_file, keys)}  # one file in memory at a time
            columns = tables[episode.data_file]
            lo, hi = episode.rows
            if "episode_index" in columns and not (columns["episode_index"][lo:hi] == episode.index).all():
                raise WMError(f"{episode.data_file}: rows {lo}..{hi} are not all of episode {episode.index} "
                              "('episode_index'); expected the rows the episode table gives")
            for key in keys:
                out[key].append(columns[key][lo:hi])
        return out

    def _columns(self, file: Path, keys: list[str]) -> dict[str, np.ndarray]:
        import pyarrow.parquet as pq

        try:
            names = set(pq.read_schema(file).names)
            missing = [k for k in keys if k not in names]
            if missing:
                raise WMError(f"{file}: no column '{missing[0]}'; expected it, as {self.info.file} declares")
            wanted = keys + (["episode_index"] if "episode_index" in names else [])
            table = pq.read_table(file, columns=wanted)
        except OSError as err:
            raise WMError(f"{file}: not a readable parquet file ({type(err).__name__}); expected LeRobot data") from None
        out = {k: _column(file, k, table.column(k), self.info.features[k]) for k in keys}
        if "episode_index" in wanted:
            out["episode_index"] = _column(file, "episode_index", table.column("episode_index"), Feature("int64", (1,)))
        if REWARD in out:
            out[REWARD] = out[REWARD].reshape(-1)
        if DONE in out:
            out[DONE] = out[DONE].reshape(-1).astype(bool)
        for key in (ACTION, STATE):
            if key in out and out[key].dtype.kind == "f" and out[key].ndim == 1:
                out[key] = out[key][:, None]  # a vector of one value stored as a scalar column
        if ACTION in out and out[ACTION].dtype.kind in "iub":
            out[ACTION] = out[ACTION].reshape(-1)  # discrete indices
        return out

    def _frames(self, episode: int, start: int, stop: int) -> np.ndarray:
        times = np.arange(start, stop) / self.info.fps
        height, width = self._sizes[self.cameras[0]]
        tiles = []
        for camera in self.cameras:
            video = self.episodes[episode].videos[camera]
            frames = self._decoder(camera, video.file).frames(video.start + times, self.info.fps)
            tiles.append(resize_frames(frames, (height, width)))
        return tiles[0] if len(tiles) == 1 else np.concatenate(tiles, axis=-1)

    def _decoder(self, camera: str, file: Path) -> Any:
        """This process's decoder of ``camera`` on ``file`` (the previous file of that camera is closed)."""
        from wm.core.data.video_stream import VideoDecoder

        current = self._decoders.get(camera)
        if current is None or current.file != file or current.pid != os.getpid():
            if current is not None:
                current.close()
            current = self._decoders[camera] = VideoDecoder(file, self._sizes[camera])
        return current

    def storage(self) -> dict[str, str]:
        data_files = len(set(self.files))
        videos = len({v.file for e in self.episodes for v in e.videos.values()})
        tiled = ", tiled side by side in this order" if len(self.cameras) > 1 else ""
        return {
            "format": f"LeRobot {self.info.version}, {data_files} parquet file(s), {videos} mp4 file(s) "
                      f"({', '.join(self._codecs)})",
            "camera": ", ".join(self.cameras) + tiled,
            "other cameras": ", ".join(c for c in self.info.cameras() if c not in self.cameras) or "none",
        }

    def close(self) -> None:
        for decoder in self._decoders.values():
            decoder.close()
        self._decoders = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_decoders"] = {}
        return state


def _column(file: Path, key: str, column: Any, feature: Feature) -> np.ndarray:
    """A parquet column as (rows,) or (rows, n): list columns must hold ``feature.shape`` = (n,) values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if column.null_count:
        raise WMError(f"{file}: column '{key}' has {column.null_count} empty rows; expected a value in every row")
    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        width = feature.shape[0] if len(feature.shape) == 1 else -1
        lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
        if width < 1 or (lengths != width).any():
            found = sorted(set(lengths.tolist()))[:3]
            raise WMError(f"{file}: column '{key}' holds lists of {found} values; expected {list(feature.shape)} "
                          "as info.json declares")
        values = column.flatten()
        shape: tuple[int, ...] = (len(column), width)
    else:
        if feature.shape != (1,):
            raise WMError(f"{file}: column '{key}' holds single values; expected lists of shape "
                          f"{list(feature.shape)} as info.json declares")
        values, shape = column, (len(column),)
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or pa.types.is_boolean(values.type)):
        raise WMError(f"{file}: column '{key}' has type {kind}; expected numbers")
    array = values.to_numpy(zero_copy_only=False).reshape(shape)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise WMError(f"{file}: column '{key}' contains NaN or inf values; expected finite numbers")
    return array.astype(np.float32) if array.dtype.kind == "f" else array

"""LeRobot dataset metadata: ``meta/info.json`` and the episode table, validated (codebase v2.1 and v3.0).

info.json: ``codebase_version``, ``fps``, ``features`` (name -> ``dtype``, ``shape``), ``data_path``
and ``video_path`` (templates), ``chunks_size`` (v2.1).

v2.1 (v2.0 reads alike): one parquet per episode, ``data_path`` formatted with ``episode_chunk``
(episode_index // chunks_size) and ``episode_index``; one mp4 per episode and camera, ``video_path``
with ``video_key`` too; ``meta/episodes.jsonl`` lists ``episode_index`` and ``length``.

v3.0: one parquet and one mp4 hold many episodes. ``meta/episodes/**/*.parquet`` gives per episode
``data/chunk_index``, ``data/file_index``, ``dataset_from_index``, ``dataset_to_index`` (LeRobot's
global ``index``: rows of the data files concatenated in (chunk, file) order) and per camera
``videos/{camera}/chunk_index``, ``file_index``, ``from_timestamp``, ``to_timestamp`` (seconds in
that mp4). Templates may name only their own fields and must stay inside the dataset folder; every
number is checked (type, range, row counts of the parquet footers) before it sizes anything.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from wm.core.errors import WMError

INFO = "meta/info.json"
EPISODES_V2 = "meta/episodes.jsonl"
EPISODES_V3 = "meta/episodes"
VERSIONS = {"v2.0": "v2.1", "v2.1": "v2.1", "v3.0": "v3.0"}
TEMPLATE_FIELDS = {
    ("v2.1", "data_path"): {"episode_chunk", "episode_index"},
    ("v2.1", "video_path"): {"episode_chunk", "episode_index", "video_key"},
    ("v3.0", "data_path"): {"chunk_index", "file_index"},
    ("v3.0", "video_path"): {"chunk_index", "file_index", "video_key"},
}
INT_SPEC = re.compile(r"(0\d{1,2})?d?")  # "", "d" or "03d"
MAX_FPS = 10_000.0


@dataclass(frozen=True)
class Feature:
    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Video:
    """Where one camera's frames of one episode lie: frame i is at ``start + i / fps`` seconds of ``file``."""

    file: Path
    start: float
    stop: float


@dataclass(frozen=True)
class Episode:
    index: int
    length: int
    data_file: Path
    rows: tuple[int, int]  # [first, last) rows of ``data_file``
    videos: dict[str, Video]  # camera -> its video


@dataclass(frozen=True)
class Info:
    """The validated facts of ``meta/info.json``."""

    root: Path
    version: str  # "v2.1" or "v3.0"
    fps: float
    features: dict[str, Feature]
    data_path: str
    video_path: str | None
    chunks_size: int

    @property
    def file(self) -> Path:
        return self.root / INFO

    def cameras(self) -> list[str]:
        """The video features, in info.json order."""
        return [key for key, feature in self.features.items() if feature.dtype == "video"]

    def choose(self, camera: str | Sequence[str] | None) -> tuple[str, ...]:
        """The cameras asked for ("a", "a,b" or ["a", "b"]; None: the first video feature), checked."""
        cameras = self.cameras()
        if isinstance(camera, str):
            camera = [c.strip() for c in camera.split(",") if c.strip()]
        chosen = tuple(camera or cameras[:1])
        images = [key for key, feature in self.features.items() if feature.dtype == "image"]
        if not chosen:
            found = f"only image features {', '.join(images)} (PNG in parquet, not read yet)" if images else "none"
            raise WMError(f"{self.file}: 'features' has no video feature ({found}); expected a camera stored as mp4")
        for key in chosen:
            if key not in cameras:
                raise WMError(f"{self.file}: camera '{key}' is not a video feature; expected one of "
                              f"{', '.join(cameras) or '(none)'} (data.camera=KEY or KEY1,KEY2)")
        return chosen

    def path(self, key: str, **fields: Any) -> Path:
        """``data_path`` or ``video_path`` filled in, inside ``root``."""
        relative = getattr(self, key).format(**fields)
        parts = PurePosixPath(relative).parts
        if relative.startswith(("/", "\\")) or ".." in parts or "\\" in relative or ":" in relative:
            raise WMError(f"{self.file}: '{key}' gives '{relative}'; expected a path inside the dataset folder")
        return self.root.joinpath(*parts)

    def pattern(self, key: str, camera: str | None = None) -> str:
        """The template as a Hub ``allow_patterns`` glob: each field ``*``, ``video_key`` the camera."""
        out = []
        for literal, name, _, _ in string.Formatter().parse(getattr(self, key)):
            out.append(literal)
            if name is not None:
                out.append(camera if name == "video_key" and camera else "*")
        return "".join(out)


def read_info(root: Path) -> Info:
    """``root/meta/info.json``, checked: version, fps > 0, features with integer shapes, templates."""
    file = root / INFO
    try:
        info = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WMError(f"{file}: not readable as JSON ({type(err).__name__}); expected LeRobot's info.json") from None
    if not isinstance(info, dict):
        raise WMError(f"{file}: holds a {type(info).__name__}; expected a JSON object")
    version = VERSIONS.get(info.get("codebase_version"))  # type: ignore[arg-type]
    if version is None:
        raise WMError(f"{file}: 'codebase_version' is {info.get('codebase_version')!r}; expected "
                      f"{', '.join(VERSIONS)} (other versions: convert with LeRobot's scripts first)")
    fps = info.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= MAX_FPS:
        raise WMError(f"{file}: 'fps' is {fps!r}; expected a number in (0, {MAX_FPS:g}]")
    features = info.get("features")
    if not isinstance(features, dict) or not features:
        raise WMError(f"{file}: 'features' is {type(features).__name__}; expected a non-empty object")
    chunks = info.get("chunks_size", 1000)
    if version == "v2.1" and (isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1):
        raise WMError(f"{file}: 'chunks_size' is {chunks!r}; expected a positive integer")
    return Info(
        root=root, version=version, fps=float(fps), features={k: _feature(file, k, v) for k, v in features.items()},
        data_path=_template(file, info, version, "data_path", required=True),
        video_path=_template(file, info, version, "video_path", required=False), chunks_size=int(chunks),
    )


def _feature(file: Path, key: str, value: Any) -> Feature:
    dtype, shape = (value.get("dtype"), value.get("shape")) if isinstance(value, dict) else (None, None)
    if isinstance(shape, list):
        shape = tuple(shape)
    if not isinstance(dtype, str) or not isinstance(shape, tuple) or not all(_count(n) for n in shape):
        raise WMError(f"{file}: feature '{key}' is {value!r}; expected {{\"dtype\": str, \"shape\": [positive ints]}}")
    return Feature(dtype, shape)


def _template(file: Path, info: dict[str, Any], version: str, key: str, required: bool) -> str | None:
    template = info.get(key)
    if template is None and not required:
        return None
    allowed = TEMPLATE_FIELDS[(version, key)]
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
    except (TypeError, ValueError, AttributeError):
        fields = [("", "", "")]  # not a string, or unbalanced braces
    for name, spec, conv in fields:
        if name not in allowed or conv or not INT_SPEC.fullmatch(spec or "") or (name == "video_key" and spec):
            raise WMError(f"{file}: '{key}' is {template!r}; expected a path template with fields among "
                          f"{', '.join(sorted(allowed))} (integer formats like :03d)")
    return template


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def read_episodes(info: Info, cameras: Sequence[str]) -> list[Episode]:
    """Every episode in index order with its data rows and the videos of ``cameras``, checked."""
    episodes = _episodes_v3(info, cameras) if info.version == "v3.0" else _episodes_v2(info, cameras)
    if not episodes:
        raise WMError(f"{info.root}: the episode table lists no episodes; expected at least one")
    return episodes


def _episodes_v2(info: Info, cameras: Sequence[str]) -> list[Episode]:
    file = info.root / EPISODES_V2
    rows = []
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise WMError(f"{file}: not readable ({type(err).__name__}); expected one JSON object per episode") from None
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise WMError(f"{file}: line {number} is not JSON; expected one JSON object per episode") from None
    rows = sorted(_checked_rows(file, rows, ("episode_index", "length")), key=lambda r: r["episode_index"])
    _unique(file, [r["episode_index"] for r in rows])
    episodes = []
    for row in rows:
        index, length = row["episode_index"], row["length"]
        chunk = index // info.chunks_size
        data = info.path("data_path", episode_chunk=chunk, episode_index=index)
        videos = {c: Video(info.path("video_path", episode_chunk=chunk, episode_index=index, video_key=c),
                           0.0, length / info.fps) for c in cameras}
        rows_in_file = _row_count(data)
        if rows_in_file != length:
            raise WMError(f"{data}: {rows_in_file} rows; expected {length}, the length of episode {index} "
                          f"in {file}")
        episodes.append(Episode(index, length, data, (0, length), videos))
    return episodes


def _episodes_v3(info: Info, cameras: Sequence[str]) -> list[Episode]:
    import pyarrow.parquet as pq

    folder = info.root / EPISODES_V3
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        raise WMError(f"{folder}: no parquet files; expected the v3.0 episode table")
    columns = ["episode_index", "length", "data/chunk_index", "data/file_index", "dataset_from_index",
               "dataset_to_index"]
    per_camera = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
    columns += [f"videos/{c}/{k}" for c in cameras for k in per_camera]
    rows = []
    for file in files:
        try:
            names = set(pq.read_schema(file).names)
            missing = [c for c in columns if c not in names]
            if missing:
                raise WMError(f"{file}: no column '{missing[0]}'; expected the v3.0 episode table's columns")
            rows += pq.read_table(file, columns=columns).to_pylist()
        except OSError as err:  # pyarrow's ArrowInvalid is an OSError subclass too
            raise WMError(f"{file}: not a readable parquet file ({type(err).__name__}); expected the episode table") from None
    ints = [c for c in columns if not c.endswith("timestamp")]
    rows = sorted(_checked_rows(folder, rows, ints), key=lambda r: r["episode_index"])
    _unique(folder, [r["episode_index"] for r in rows])
    data_files = {r["episode_index"]: info.path("data_path", chunk_index=r["data/chunk_index"],
                                                file_index=r["data/file_index"]) for r in rows}
    order = sorted({(r["data/chunk_index"], r["data/file_index"]): data_files[r["episode_index"]] for r in rows}.items())
    counts = {data: _row_count(data) for _, data in order}
    first_row, total = {}, 0
    for _, data in order:
        first_row[data] = total
        total += counts[data]
    episodes = []
    for row in rows:
        index, length, data = row["episode_index"], row["length"], data_files[row["episode_index"]]
        lo, hi = row["dataset_from_index"] - first_row[data], row["dataset_to_index"] - first_row[data]
        if hi - lo != length or not 0 <= lo < hi <= counts[data]:
            raise WMError(f"{folder}: episode {index} has dataset_from_index..dataset_to_index "
                          f"{row['dataset_from_index']}..{row['dataset_to_index']}, length {length}; expected "
                          f"{length} rows inside {data.relative_to(info.root)} (global rows "
                          f"{first_row[data]}..{first_row[data] + counts[data]})")
        videos = {c: _video(info, folder, row, c) for c in cameras}
        episodes.append(Episode(index, length, data, (lo, hi), videos))
    return episodes


def _video(info: Info, folder: Path, row: dict[str, Any], camera: str) -> Video:
    start, stop = (row[f"videos/{camera}/{k}"] for k in ("from_timestamp", "to_timestamp"))
    span = (row["length"] - 1) / info.fps
    if not all(isinstance(t, (int, float)) and math.isfinite(t) for t in (start, stop)) or not (
        0 <= start and start + span < stop + 0.5 / info.fps
    ):
        raise WMError(f"{folder}: episode {row['episode_index']} camera '{camera}' has from_timestamp {start!r}, "
                      f"to_timestamp {stop!r}; expected 0 <= from and {row['length']} frames at {info.fps:g} fps "
                      "before to")
    file = info.path("video_path", video_key=camera, chunk_index=row[f"videos/{camera}/chunk_index"],
                     file_index=row[f"videos/{camera}/file_index"])
    return Video(file, float(start), float(stop))


def _checked_rows(where: Path, rows: list[Any], ints: Sequence[str]) -> list[dict[str, Any]]:
    """Rows that are objects whose ``ints`` are non-negative integers (``length`` positive)."""
    for number, row in enumerate(rows):
        for key in ints:
            value = row.get(key) if isinstance(row, dict) else None
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "length" else 0):
                raise WMError(f"{where}: episode row {number} has '{key}' = {value!r}; expected "
                              f"{'a positive' if key == 'length' else 'a non-negative'} integer")
    return rows


def _unique(where: Path, indices: list[int]) -> None:
    repeated = [i for i, n in Counter(indices).items() if n > 1]
    if repeated:
        raise WMError(f"{where}: episode_index {repeated[0]} appears twice; expected each episode once")


def _row_count(file: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(file).num_rows
    except FileNotFoundError:
        raise WMError(f"{file}: no such file; the episode table names it") from None
    except OSError as err:
        raise WMError(f"{file}: not a readable parquet file ({type(err).__name__}); expected LeRobot data") from None

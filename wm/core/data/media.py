"""Readers for image folders and videos: sources for ``wm data convert``.

Image folders: SRC/<episode>/ holds the frames as image files (png, jpg, bmp, webp), ordered by
natural name order, and ``actions.npy`` or ``actions.txt`` (one row per frame: an integer, or A
floats for continuous actions); ``rewards`` and ``terminals`` may sit beside them the same way.

Videos: SRC is a video file or a folder of them (mp4, avi, mov, mkv, webm, gif); the actions of
``ep.mp4`` are ``ep.npy`` or ``ep.txt`` beside it, one row per frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from wm.core.data.frames import to_uint8_chw
from wm.core.data.per_file import PerFileEpisodes, natural_key
from wm.core.errors import WMError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif")


def side_array(base: Path, what: str) -> np.ndarray | None:
    """``base.npy`` or ``base.txt`` (whitespace-separated rows) if either exists."""
    try:
        if base.with_name(base.name + ".npy").is_file():
            return np.load(base.with_name(base.name + ".npy"))
        if base.with_name(base.name + ".txt").is_file():
            return np.loadtxt(base.with_name(base.name + ".txt"), ndmin=1)
    except ValueError as err:
        raise WMError(f"{base}.npy/.txt: {what} could not be read ({err}); "
                      "expected one number (or row) per frame") from None
    return None


def image_to_chw(file: Path, image: np.ndarray) -> np.ndarray:
    """One (H, W) or (H, W, C) image -> uint8 (1, C, H, W)."""
    image = image[..., None] if image.ndim == 2 else image
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise WMError(f"{file}: image has shape {image.shape}; expected (H, W) or (H, W, C) with C in 1, 3 or 4")
    return to_uint8_chw(image[None], "channels_last")


class ImageFolderEpisodes(PerFileEpisodes):
    """One folder of image files per episode."""

    def __init__(self, path: str | Path) -> None:
        import imageio.v3 as iio

        self.path = Path(path)
        self.source = str(self.path)
        self.files = sorted((d for d in self.path.iterdir() if d.is_dir()), key=natural_key)
        self._images = [sorted((f for f in d.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES), key=natural_key)
                        for d in self.files]
        for folder, images in zip(self.files, self._images):
            if not images:
                raise WMError(f"{folder}: no image files; expected frames as {', '.join(IMAGE_SUFFIXES)} files")
        self.lengths = np.array([len(images) for images in self._images], dtype=np.int64)
        actions = [side_array(d / "actions", "actions") for d in self.files]
        for folder, array in zip(self.files, actions):
            if array is None:
                raise WMError(f"{folder}: no actions.npy or actions.txt; "
                              "expected one action per frame beside the images")
        first = self._images[0][0]
        self._shape = image_to_chw(first, iio.imread(first)).shape[1:]
        self._set_steps(actions, self._optional("rewards"), self._optional("terminals"), self._shape)

    def _optional(self, name: str) -> list[np.ndarray] | None:
        arrays = [side_array(d / name, name) for d in self.files]
        if all(a is None for a in arrays):
            return None
        if any(a is None for a in arrays):
            missing = self.files[[a is None for a in arrays].index(True)]
            raise WMError(f"{missing}: no {name}.npy or {name}.txt; expected {name} in every episode folder or none")
        return arrays  # type: ignore[return-value]

    def _frames(self, episode: int, start: int, stop: int) -> np.ndarray:
        import imageio.v3 as iio

        frames = [image_to_chw(f, iio.imread(f)) for f in self._images[episode][start:stop]]
        for file, frame in zip(self._images[episode][start:stop], frames):
            if frame.shape[1:] != self._shape:
                raise WMError(f"{file}: image is {frame.shape[1:]} (C,H,W); "
                              f"expected {self._shape} like the first frame")
        return np.concatenate(frames) if frames else np.zeros((0, *self._shape), np.uint8)

    def storage(self) -> dict[str, str]:
        return {"format": f"{len(self.files)} folders of image files"}


class VideoEpisodes(PerFileEpisodes):
    """One video file per episode, actions beside it; a video is decoded whole when read."""

    def __init__(self, path: str | Path) -> None:
        import imageio.v3 as iio

        self.path = Path(path)
        self.source = str(self.path)
        candidates = [self.path] if self.path.is_file() else self.path.iterdir()
        self.files = sorted((f for f in candidates if f.suffix.lower() in VIDEO_SUFFIXES), key=natural_key)
        actions = [side_array(f.with_suffix(""), "actions") for f in self.files]
        for file, array in zip(self.files, actions):
            if array is None:
                raise WMError(f"{file}: no {file.stem}.npy or {file.stem}.txt beside it; expected one action per frame")
        self.lengths = np.array([len(a) for a in actions], dtype=np.int64)
        self._cache: tuple[int, np.ndarray] | None = None
        first = self._decoded(0)
        fps = iio.immeta(self.files[0]).get("fps")
        self._set_steps(actions, None, None, first.shape[1:], fps=float(fps) if fps else None)

    def _decoded(self, episode: int) -> np.ndarray:
        import imageio.v3 as iio

        if self._cache is None or self._cache[0] != episode:
            file = self.files[episode]
            try:
                frames = np.concatenate([image_to_chw(file, np.asarray(f)) for f in iio.imiter(file)])
            except (OSError, RuntimeError, ValueError) as err:
                raise WMError(f"{file}: could not decode video ({err}); expected a readable video file") from None
            if len(frames) != self.lengths[episode]:
                raise WMError(f"{file}: {len(frames)} frames but {self.lengths[episode]} actions; "
                              "expected one action per frame")
            self._cache = (episode, frames)
        return self._cache[1]

    def _frames(self, episode: int, start: int, stop: int) -> np.ndarray:
        return self._decoded(episode)[start:stop]

    def storage(self) -> dict[str, str]:
        return {"format": f"{len(self.files)} video files"}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

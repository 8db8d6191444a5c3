"""Readers for image folders and videos: sources for ``wm data convert``.

Image folders: SRC/<episode>/ holds the frames as image files (png, jpg, bmp, webp), ordered by
natural name order, and ``actions.npy`` or ``actions.txt`` (one row per frame: an integer, or A
floats for continuous actions); ``rewards`` and ``terminals`` may sit beside them the same way.

Videos: SRC is a video file or a folder of them (mp4, avi, mov, mkv, webm, gif); the actions of
``ep.mp4`` are ``ep.npy`` or ``ep.txt`` beside it, one row per frame.

Both stream: an image is decoded when its frame is read, a video through imageio's frame iterator
(a read that starts before the iterator's position restarts it), so memory holds one window of
frames. Image sizes are checked on the header before decoding (checks.MAX_FRAME_PIXELS); PIL's
decompression-bomb guard and corrupt or truncated files are one WMError line naming the file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np

from wm.core.data import checks
from wm.core.data.frames import to_uint8_chw
from wm.core.data.npz_archive import load_npy
from wm.core.data.per_file import PerFileEpisodes, natural_key
from wm.core.errors import WMError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif")
DECODE_ERRORS = (OSError, RuntimeError, ValueError, SyntaxError, EOFError, IndexError, KeyError)


def first_line(err: BaseException) -> str:
    """A decoder's message up to its first line break (ffmpeg appends its whole log)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def side_array(base: Path, what: str) -> np.ndarray | None:
    """``base.npy`` (its header checked against the file size) or ``base.txt`` (whitespace-separated
    rows) if either exists."""
    if base.with_name(base.name + ".npy").is_file():
        return load_npy(base.with_name(base.name + ".npy"), what)
    try:
        if base.with_name(base.name + ".txt").is_file():
            return np.loadtxt(base.with_name(base.name + ".txt"), ndmin=1)
    except ValueError as err:
        raise WMError(f"{base}.txt: {what} could not be read ({first_line(err)}); "
                      "expected one number (or row) per frame") from None
    return None


def read_image(file: Path) -> np.ndarray:
    """One image file -> uint8 (1, C, H, W); its size is checked on the header before decoding."""
    import imageio.v3 as iio
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as header:  # reads the header only
                width, height = header.size
            checks.frame_size(file, "image", height, width)
            image = iio.imread(file)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise WMError(f"{file}: refused as a decompression bomb ({first_line(err)}); "
                      f"expected at most {checks.MAX_FRAME_PIXELS:,} pixels per frame") from None
    except DECODE_ERRORS as err:
        raise WMError(f"{file}: not a readable image ({first_line(err)}); "
                      f"expected a complete {', '.join(IMAGE_SUFFIXES)} file") from None
    return image_to_chw(file, image)


def image_to_chw(file: Path, image: np.ndarray) -> np.ndarray:
    """One (H, W) or (H, W, C) image -> uint8 (1, C, H, W)."""
    image = image[..., None] if image.ndim == 2 else image
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise WMError(f"{file}: image has shape {image.shape}; expected (H, W) or (H, W, C) with C in 1, 3 or 4")
    return to_uint8_chw(image[None], "channels_last")


class ImageFolderEpisodes(PerFileEpisodes):
    """One folder of image files per episode."""

    def __init__(self, path: str | Path) -> None:
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
        self._shape = read_image(self._images[0][0]).shape[1:]
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
        frames = [read_image(f) for f in self._images[episode][start:stop]]
        for file, frame in zip(self._images[episode][start:stop], frames):
            if frame.shape[1:] != self._shape:
                raise WMError(f"{file}: image is {frame.shape[1:]} (C,H,W); "
                              f"expected {self._shape} like the first frame")
        return np.concatenate(frames) if frames else np.zeros((0, *self._shape), np.uint8)

    def storage(self) -> dict[str, str]:
        return {"format": f"{len(self.files)} folders of image files"}


class VideoEpisodes(PerFileEpisodes):
    """One video file per episode, actions beside it; frames are decoded as they are read."""

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
        self._stream: tuple[int, int, Generator[Any, None, None], int] | None = None  # (episode, pid, frames, position)
        self._shape: tuple[int, ...] | None = None  # (C, H, W) of the first frame; every frame must match
        fps = self._probe(self.files[0]).get("fps")
        self._shape = self._decode(0, 0, 1).shape[1:]
        self._set_steps(actions, None, None, self._shape, fps=float(fps) if fps else None)

    def _probe(self, file: Path) -> dict[str, Any]:
        """The video's metadata, its frame size (when the container declares one) checked before decoding."""
        import imageio.v3 as iio

        try:
            meta = iio.immeta(file)
        except DECODE_ERRORS as err:
            raise WMError(f"{file}: could not read video metadata ({first_line(err)}); "
                          "expected a readable video file") from None
        if "size" in meta:
            width, height = meta["size"]
            checks.frame_size(file, "frames", height, width)
        return meta

    def _decode(self, episode: int, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) of one video as uint8 (t, C, H, W), continuing the open iterator when it
        is at or before ``start``; reaching the last action checks that the video ends there too."""
        import imageio.v3 as iio

        file, length = self.files[episode], int(self.lengths[episode])
        if self._stream is None or self._stream[:2] != (episode, os.getpid()) or self._stream[3] > start:
            self.close()
            self._probe(file)
            self._stream = (episode, os.getpid(), iio.imiter(file), 0)
        _, _, frames, position = self._stream
        out = []
        try:
            for position in range(position, stop + (stop == length)):
                frame = next(frames, None)
                if (frame is None) != (position == length):
                    found = f"{position} frames" if frame is None else f"more than {length} frames"
                    raise WMError(f"{file}: {found} for {length} actions; expected one action per frame")
                if frame is not None and position >= start:
                    out.append(self._checked(file, np.asarray(frame)))
        except DECODE_ERRORS as err:
            self.close()
            raise WMError(f"{file}: could not decode video ({first_line(err)}); "
                          "expected a readable video file") from None
        except WMError:
            self.close()
            raise
        self._stream = (episode, os.getpid(), frames, stop)
        return np.concatenate(out)

    def _checked(self, file: Path, frame: np.ndarray) -> np.ndarray:
        checks.frame_size(file, "frames", *frame.shape[:2])
        chw = image_to_chw(file, frame)
        if self._shape is not None and chw.shape[1:] != self._shape:
            raise WMError(f"{file}: frame is {chw.shape[1:]} (C,H,W); expected {self._shape} like the first video")
        return chw

    def _frames(self, episode: int, start: int, stop: int) -> np.ndarray:
        if start == stop:
            return np.zeros((0, *self._shape), np.uint8)
        return self._decode(episode, start, stop)

    def storage(self) -> dict[str, str]:
        return {"format": f"{len(self.files)} video files"}

    def close(self) -> None:
        """Stop the open decoder (its ffmpeg process); the next read starts a new one."""
        if self._stream is not None and self._stream[1] == os.getpid():
            self._stream[2].close()
        self._stream = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_stream"] = None
        return state

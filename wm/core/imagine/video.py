"""Frames to pictures and files: uint8 conversion, nearest upscaling, tiling, label rows, GIF/MP4.

Frame layouts: model output is float (..., C, H, W) in [0, 1]; everything here works on
uint8 (..., H, W, 3) RGB pictures, the layout of image files and of pygame surfaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack, suppress
from pathlib import Path

import numpy as np
import torch

from wm.core.errors import WMError
from wm.core.files import AtomicWriter, atomic_path

FORMATS = (".gif", ".mp4")
LABEL_HEIGHT = 14
GAP = 2  # pixels between tiles
GAP_COLOUR = 48
PALETTE_SAMPLE = 16  # GIF pictures the shared palette is drawn from


def to_pictures(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """Float (..., C, H, W) in [0, 1] or uint8 (..., C, H, W) -> uint8 RGB (..., H, W, 3)."""
    if isinstance(frames, torch.Tensor):
        if frames.is_floating_point():
            frames = (frames.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
        frames = frames.cpu().numpy()
    pictures = np.moveaxis(np.asarray(frames, dtype=np.uint8), -3, -1)
    if pictures.shape[-1] == 1:
        pictures = np.repeat(pictures, 3, axis=-1)
    return np.ascontiguousarray(pictures)


def upscale(pictures: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling of uint8 (..., H, W, C) by an integer factor."""
    if scale < 1:
        raise WMError(f"--scale must be a positive integer, found {scale}")
    if scale == 1:
        return pictures
    return np.repeat(np.repeat(pictures, scale, axis=-3), scale, axis=-2)


def label_rows(texts: Sequence[str], width: int) -> np.ndarray:
    """One thin dark strip (LABEL_HEIGHT, width, 3) per text, white text on the left."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=11)
    rows = np.empty((len(texts), LABEL_HEIGHT, width, 3), dtype=np.uint8)
    for i, text in enumerate(texts):
        image = Image.new("RGB", (width, LABEL_HEIGHT), (20, 20, 20))
        ImageDraw.Draw(image).text((2, 0), text, fill=(235, 235, 235), font=font)
        rows[i] = np.asarray(image)
    return rows


def labelled(pictures: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """(T, H, W, 3) pictures with a label row above each: (T, LABEL_HEIGHT + H, W, 3)."""
    return np.concatenate([label_rows(texts, pictures.shape[2]), pictures], axis=1)


def tile(videos: Sequence[np.ndarray], columns: int | None = None) -> np.ndarray:
    """Tile equally shaped videos (T, H, W, 3) into a grid (T, H', W', 3), row-major.

    ``columns`` defaults to a near-square grid; empty cells and gaps are dark grey.
    """
    count = len(videos)
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    steps, height, width, _ = videos[0].shape
    grid = np.full(
        (steps, rows * height + (rows - 1) * GAP, columns * width + (columns - 1) * GAP, 3),
        GAP_COLOUR,
        dtype=np.uint8,
    )
    for index, video in enumerate(videos):
        top = (index // columns) * (height + GAP)
        left = (index % columns) * (width + GAP)
        grid[:, top : top + height, left : left + width] = video
    return grid


class VideoWriter(AtomicWriter):
    """Streams uint8 RGB pictures (H, W, 3) into a .gif or .mp4 file, atomically.

    Frames go to a temporary file beside ``path`` (``wm.core.files.atomic_path``) that replaces
    it on ``close``; ``abort``, an exception inside ``with`` or a failure to finish removes it,
    so no half-written video is ever left.
    GIFs keep their frames in memory (Pillow writes them at once; it merges identical
    consecutive frames into one longer frame, so playback time stays exact) and share one
    palette (``gif_palette``), so Pillow stores only what changes from frame to frame; MP4s
    stream through ffmpeg (H.264, frames padded to even sizes).
    """

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in FORMATS:
            raise WMError(f"output {self.path}: unknown video format '{self.path.suffix}', expected .gif or .mp4")
        if fps <= 0:
            raise WMError(f"--fps must be positive, found {fps}")
        if not self.path.parent.is_dir():
            raise WMError(f"output {self.path}: folder {self.path.parent} does not exist")
        self.fps = fps
        self.count = 0
        self._output = ExitStack()  # holds the temporary file until close renames it or abort removes it
        self._tmp = self._output.enter_context(atomic_path(self.path))
        self._gif_frames: list[np.ndarray] = []
        self._ffmpeg = None

    def append(self, picture: np.ndarray) -> None:
        """Add one uint8 RGB picture (H, W, 3); all pictures share one size."""
        if self.path.suffix.lower() == ".gif":
            self._gif_frames.append(np.array(picture, dtype=np.uint8))
        else:
            self._append_mp4(picture)
        self.count += 1

    def _append_mp4(self, picture: np.ndarray) -> None:
        height, width = picture.shape[:2]
        padded = np.zeros((height + height % 2, width + width % 2, 3), dtype=np.uint8)
        padded[:height, :width] = picture
        if self._ffmpeg is None:
            import imageio_ffmpeg

            self._ffmpeg = imageio_ffmpeg.write_frames(
                str(self._tmp), (padded.shape[1], padded.shape[0]), fps=self.fps, quality=8, macro_block_size=1
            )
            self._ffmpeg.send(None)
        self._ffmpeg.send(np.ascontiguousarray(padded).tobytes())

    def close(self) -> Path:
        """Finish the file and move it into place; returns the final path."""
        if self.count == 0:
            self.abort()
            raise WMError(f"output {self.path}: no frames to write")
        with self._output:  # renames the finished file onto ``path``; removes it if finishing fails
            if self._gif_frames:
                first, *rest = gif_frames(self._gif_frames)
                first.save(self._tmp, format="GIF", save_all=True, append_images=rest, duration=1000 / self.fps, loop=0)
            if self._ffmpeg is not None:
                self._ffmpeg.close()
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; ``path`` is left as it was."""
        if self._ffmpeg is not None:
            self._ffmpeg.close()
        with suppress(_Dropped), self._output:
            raise _Dropped  # atomic_path removes its file when its block ends in an exception


def gif_frames(pictures: Sequence[np.ndarray]) -> list:  # list[PIL.Image.Image]
    """uint8 RGB pictures (H, W, 3) as palette images that share one palette: the median cut of up to
    ``PALETTE_SAMPLE`` evenly spaced pictures, each picture mapped onto it without dithering."""
    from PIL import Image

    picked = np.unique(np.linspace(0, len(pictures) - 1, min(len(pictures), PALETTE_SAMPLE)).round().astype(int))
    palette = Image.fromarray(np.concatenate([pictures[i] for i in picked])).quantize(256, dither=Image.Dither.NONE)
    return [Image.fromarray(p).quantize(palette=palette, dither=Image.Dither.NONE) for p in pictures]


class _Dropped(Exception):
    """Ends the temporary file's block in ``VideoWriter.abort``."""


def write_video(path: str | Path, frames: np.ndarray, fps: float) -> Path:
    """Write uint8 pictures (T, H, W, C) to ``path`` (.gif or .mp4) atomically; C is 1 or 3."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3):
        raise WMError(f"write_video: expected frames (T, H, W, 1 or 3), found shape {tuple(frames.shape)}")
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    with VideoWriter(path, fps) as writer:
        for picture in frames:
            writer.append(picture)
    return writer.path

"""Frame-accurate video reading by timestamp with PyAV (LeRobot's mp4 files: AV1 through libdav1d, h264, ...).

``probe(file)`` reads the container header only: frame size (checked against checks.MAX_FRAME_PIXELS
before any frame is decoded) and end time. ``VideoDecoder.frames(times, fps)`` returns uint8
(t, 3, H, W): for each time, in increasing order, the decoded frame presented within
``TOLERANCE / fps`` of it (the nearest frame, never a neighbour), or a WMError when there is none.
It streams: a read that starts at most ``CONTINUE_SECONDS`` after the previous one ended decodes
on from there; any other read seeks to the keyframe at or before its first time. Memory holds
the frames of one read. Decoding and colour conversion run in the calling thread: FFmpeg worker
threads do not survive a fork, and a decoder inherited by a DataLoader worker (say, garbage
collected there) would wait for them forever when freed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wm.core.data import checks
from wm.core.errors import WMError

TOLERANCE = 0.4  # of a frame interval: a frame matches a time this close to it
CONTINUE_SECONDS = 2.0  # a read starting this soon after the last decoded frame decodes on instead of seeking


@dataclass(frozen=True)
class Probe:
    height: int
    width: int
    end: float  # seconds: where the video stream ends
    codec: str


def _av() -> Any:
    import av

    return av


def _errors() -> tuple[type[BaseException], ...]:
    return (_av().FFmpegError, OSError, ValueError, IndexError)


def _open(file: Path) -> tuple[Any, Any]:
    """The open container and its first video stream."""
    try:
        container = _av().open(str(file))
    except _errors() as err:
        raise WMError(f"{file}: not a readable video ({type(err).__name__}); expected an mp4 file") from None
    if not container.streams.video:
        container.close()
        raise WMError(f"{file}: holds no video stream; expected an mp4 with one")
    stream = container.streams.video[0]
    stream.codec_context.thread_count = 1  # no decoder threads (see the module docstring)
    return container, stream


def probe(file: Path) -> Probe:
    """Size, end time and codec of ``file``'s video stream, from its header."""
    container, stream = _open(file)
    try:
        height, width = stream.codec_context.height, stream.codec_context.width
        checks.frame_size(file, "video", height, width)
        if stream.duration is not None:
            end = float(((stream.start_time or 0) + stream.duration) * stream.time_base)
        else:
            end = (container.duration or 0) / _av().time_base
        return Probe(int(height), int(width), end, stream.codec_context.codec.canonical_name)
    finally:
        container.close()


class VideoDecoder:
    """An open video file that serves frames by timestamp (see the module docstring). Not picklable:
    hold it per process."""

    def __init__(self, file: Path, size: tuple[int, int]) -> None:
        self.file = file
        self.size = size  # (H, W) the probe found; every frame must have it
        self.pid = os.getpid()
        self._container, self._stream = _open(file)
        self._decoded: Any = None  # iterator of decoded frames, from the last seek on
        self._last: float | None = None  # time of the last frame returned

    def frames(self, times: np.ndarray, fps: float) -> np.ndarray:
        """uint8 (len(times), 3, H, W): the frame at each of ``times`` (seconds, increasing)."""
        tolerance = TOLERANCE / fps
        out = np.empty((len(times), 3, *self.size), dtype=np.uint8)
        if len(times) == 0:
            return out
        if self._last is None or not 0 < times[0] - self._last <= CONTINUE_SECONDS:
            self._seek(float(times[0]))
        j = 0
        try:
            for frame in self._decoded:
                if frame.pts is None:
                    continue
                time = float(frame.pts * frame.time_base)
                if time < times[j] - tolerance:
                    continue
                if time > times[j] + tolerance:
                    raise WMError(f"{self.file}: no frame at {times[j]:.4f} s (next at {time:.4f} s); "
                                  f"expected a frame every 1/{fps:g} s")
                out[j] = self._chw(frame)
                self._last = time
                j += 1
                if j == len(times):
                    return out
        except _errors() as err:
            self._last = None
            raise WMError(f"{self.file}: could not decode frame near {times[j]:.4f} s ({type(err).__name__}); "
                          "expected a readable video") from None
        self._last = None
        raise WMError(f"{self.file}: video ends before {times[j]:.4f} s; expected a frame there")

    def _seek(self, time: float) -> None:
        offset = max(0, int(time / self._stream.time_base))
        try:
            self._container.seek(offset, stream=self._stream, backward=True, any_frame=False)
        except _errors() as err:
            raise WMError(f"{self.file}: could not seek to {time:.4f} s ({type(err).__name__}); "
                          "expected a seekable video") from None
        self._decoded = self._container.decode(self._stream)
        self._last = None

    def _chw(self, frame: Any) -> np.ndarray:
        if (frame.height, frame.width) != self.size:
            raise WMError(f"{self.file}: frame is {frame.height}x{frame.width}; expected {self.size[0]}x{self.size[1]} "
                          "like the stream's header")
        return frame.to_ndarray(format="rgb24", threads=1).transpose(2, 0, 1)

    def close(self) -> None:
        if self.pid == os.getpid():
            self._container.close()

"""Ctrl-C during training: the first press asks for a clean stop, a second one aborts at once.

The first SIGINT only sets ``requested``; the loop sees it between steps, saves a checkpoint and
returns. That way an interrupt never lands in the middle of an optimizer update.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class StopRequest:
    """Context manager installing the two-stage SIGINT handler (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

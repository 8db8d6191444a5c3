"""Datasets of episodes: readers for every accepted layout, the canonical writer, the window
sampler and the training loader.

Names are imported on first use so that ``wm.core.data.spec`` stays light (no h5py, no torch).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DataSpec": "wm.core.data.spec",
    "EpisodeDataset": "wm.core.data.dataset",
    "open_dataset": "wm.core.data.dataset",
    "EpisodeWriter": "wm.core.data.writer",
    "WindowSampler": "wm.core.data.sampler",
    "make_loader": "wm.core.data.loader",
    "resize_frames": "wm.core.data.frames",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wm.core.data' has no attribute '{name}'")
    return getattr(import_module(_EXPORTS[name]), name)

"""Validation shared by every reader: frame layouts, action arrays, finite values.

Each check raises WMError with one line naming the file, the key, what was found and
what was expected, so a bad dataset is refused when it is opened, not mid-training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from wm.core.errors import WMError

Layout = Literal["channels_first", "channels_last"]
CHANNEL_COUNTS = (1, 3, 4)
FLOAT_SAMPLE_EPISODES = 4  # float frames: episodes (spread over the data) whose first frames are checked
FLOAT_SAMPLE_FRAMES = 16
MAX_FRAME_PIXELS = 4096 * 4096  # height x width of one frame; larger frames are refused before any is read
MAX_DISCRETE_ACTIONS = 1 << 16  # a size that counts, embeddings and one-hot vectors are allocated from


def frame_layout(path: Path | str, key: str, shape: tuple[int, ...], lead: int) -> Layout:
    """Layout of frames whose first ``lead`` axes are (N, T) or (T,), followed by C,H,W or H,W,C."""
    dims = "N,T" if lead == 2 else "T"
    if len(shape) != lead + 3:
        raise WMError(
            f"{path}: '{key}' has shape {shape}; expected ({dims},C,H,W) or ({dims},H,W,C) with C in 1, 3 or 4"
        )
    if shape[lead] in CHANNEL_COUNTS:
        return "channels_first"
    if shape[-1] in CHANNEL_COUNTS:
        return "channels_last"
    raise WMError(f"{path}: '{key}' has shape {shape}; expected 1, 3 or 4 channels at axis {lead} or last")


def frame_size(path: Path | str, key: str, height: int, width: int) -> None:
    """A frame of at most MAX_FRAME_PIXELS pixels, checked on a declared size before decoding."""
    if int(height) * int(width) > MAX_FRAME_PIXELS:
        raise WMError(f"{path}: '{key}' is {height}x{width} pixels per frame; expected at most "
                      f"{MAX_FRAME_PIXELS:,} (4096x4096)")


def frame_dtype(path: Path | str, key: str, dtype: np.dtype) -> None:
    """Frames are uint8, or float holding values in [0, 255]."""
    if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
        raise WMError(f"{path}: '{key}' has dtype {dtype}; expected uint8 or float in [0, 255]")


def float_frame_values(path: Path | str, key: str, sample: np.ndarray) -> None:
    """A sample of float frames: finite, within [0, 255] and not in [0, 1] (a scale mix-up)."""
    if not np.isfinite(sample).all():
        raise WMError(f"{path}: '{key}' contains NaN or inf values; expected finite pixel values in [0, 255]")
    low, high = float(sample.min()), float(sample.max())
    if low < 0.0 or high > 255.0:
        raise WMError(f"{path}: '{key}' has values in [{low:g}, {high:g}]; expected values in [0, 255]")
    if high <= 1.0 and sample.size > 0:
        raise WMError(
            f"{path}: '{key}' has float values in [{low:g}, {high:g}]; expected [0, 255] "
            "(multiply frames in [0, 1] by 255)"
        )


def action_kind(
    path: Path | str, key: str, actions: np.ndarray, lead: int, values: np.ndarray | None = None
) -> Literal["discrete", "continuous"]:
    """Discrete: (lead axes) of non-negative integers (integral floats accepted). Continuous: one more axis of floats.

    Shapes are checked on ``actions``; values on ``values`` (default: all of ``actions``, e.g. without padding).
    """
    values = actions if values is None else values
    if actions.ndim == lead + 1 and np.issubdtype(actions.dtype, np.floating):
        finite(path, key, values)
        return "continuous"
    if actions.ndim != lead:
        dims = "(N,T)" if lead == 2 else "(T,)"
        cont = "(N,T,A)" if lead == 2 else "(T,A)"
        raise WMError(
            f"{path}: '{key}' has shape {actions.shape}; expected {dims} integers or {cont} floats"
        )
    if np.issubdtype(actions.dtype, np.floating):
        finite(path, key, values)
        if not np.array_equal(values, np.round(values)):
            raise WMError(f"{path}: '{key}' holds non-integer values such as {_first_fraction(values)}; "
                          "expected integer action indices (use shape (...,A) for continuous actions)")
    elif not np.issubdtype(actions.dtype, np.integer) and actions.dtype != np.bool_:
        raise WMError(f"{path}: '{key}' has dtype {actions.dtype}; expected integer action indices")
    if values.size and values.min() < 0:
        raise WMError(f"{path}: '{key}' has negative value {int(values.min())}; expected action indices >= 0")
    if values.size:
        discrete_count(path, key, int(values.max()) + 1)
    return "discrete"


def discrete_count(path: Path | str, key: str, count: int) -> None:
    """A number of discrete actions, checked before anything is sized from it."""
    if count > MAX_DISCRETE_ACTIONS:
        raise WMError(f"{path}: '{key}' implies {count:,} discrete actions; expected at most {MAX_DISCRETE_ACTIONS:,}")


def finite(path: Path | str, key: str, values: np.ndarray) -> None:
    if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
        raise WMError(f"{path}: '{key}' contains NaN or inf values; expected finite numbers")


def same_shape(path: Path | str, key: str, found: tuple[int, ...], expected: tuple[int, ...], what: str) -> None:
    if tuple(found[: len(expected)]) != tuple(expected):
        raise WMError(f"{path}: '{key}' has shape {tuple(found)}; expected leading shape {tuple(expected)} ({what})")


def action_names(path: Path | str, names: tuple[str, ...], num_actions: int) -> None:
    if names and len(names) < num_actions:
        raise WMError(
            f"{path}: {len(names)} action names for {num_actions} actions; expected at least {num_actions} names"
        )


def _first_fraction(values: np.ndarray) -> float:
    flat = values.reshape(-1)
    return float(flat[np.flatnonzero(flat != np.round(flat))[0]])

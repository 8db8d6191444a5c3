"""Frame conversions: any accepted storage to uint8 (t, C, H, W), and resizing.

Resizing uses area averaging when shrinking (every source pixel counts, no aliasing) and
bilinear interpolation when enlarging, computed in float and rounded back to uint8.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from wm.core.data.checks import Layout

if TYPE_CHECKING:
    import torch
from wm.core.errors import WMError


def to_uint8_chw(frames: np.ndarray, layout: Layout) -> np.ndarray:
    """(t, C, H, W) or (t, H, W, C), uint8 or float in [0, 255] -> contiguous uint8 (t, C, H, W)."""
    if layout == "channels_last":
        frames = frames.transpose(0, 3, 1, 2)
    if frames.dtype != np.uint8:
        frames = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frames)


def parse_size(value: int | str | tuple[int, int] | list[int] | None) -> tuple[int, int] | None:
    """64 -> (64, 64); "96x128" -> (96, 128) as (height, width); None stays None."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        size = tuple(int(v) for v in value)
    elif isinstance(value, int):
        size = (value, value)
    else:
        parts = str(value).lower().split("x")
        try:
            size = tuple(int(p) for p in parts) * (2 if len(parts) == 1 else 1)
        except ValueError:
            size = ()
    if len(size) != 2 or min(size) < 1:
        raise WMError(f"size '{value}' is not understood; expected a positive integer like 64 or HxW like 96x128")
    return size  # type: ignore[return-value]


def resize_frames(frames: np.ndarray | torch.Tensor, size: tuple[int, int]) -> np.ndarray | torch.Tensor:
    """Resize uint8 (..., C, H, W) frames (numpy or torch) to ``size`` = (height, width); same type out."""
    import torch
    import torch.nn.functional as F

    is_numpy = isinstance(frames, np.ndarray)
    tensor = torch.from_numpy(frames) if is_numpy else frames
    if tuple(tensor.shape[-2:]) == tuple(size):
        return frames
    lead = tensor.shape[:-3]
    flat = tensor.reshape(-1, *tensor.shape[-3:]).float()
    shrink = size[0] <= flat.shape[-2] and size[1] <= flat.shape[-1]
    if shrink:
        out = F.interpolate(flat, size=size, mode="area")
    else:
        out = F.interpolate(flat, size=size, mode="bilinear", align_corners=False)
    out = out.round_().clamp_(0, 255).to(torch.uint8).reshape(*lead, tensor.shape[-3], *size)
    return out.numpy() if is_numpy else out

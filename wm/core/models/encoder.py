"""CNN encoder: stride-2 convolution stages down to a 4x4 grid (DreamerV3's image encoder)."""

from __future__ import annotations

import torch
from torch import nn

from wm.core.errors import WMError
from wm.core.models.layers import ChannelNorm

MIN_RES = 4


def num_stages(height: int, width: int) -> int:
    """Stride-2 stages that take a (height, width) frame down to a 4-pixel grid side.

    Both sides must be 4 * 2**k (k >= 1), e.g. 8, 16, 32, 64, 128, 256; for non-square frames the
    shorter side reaches 4 and the longer one ends at a multiple of 4.
    """
    stages = []
    for side in (height, width):
        k = (side // MIN_RES).bit_length() - 1
        if side < 2 * MIN_RES or side != MIN_RES * 2**k:
            raise WMError(
                f"frame size {height}x{width} (data.image_size) does not halve down to 4x4: each side must be "
                "4 * 2**k, e.g. 32, 64 (default) or 128 (preset high_res)"
            )
        stages.append(k)
    return min(stages)


def stage_channels(depth: int, stages: int) -> list[int]:
    """Channels after each stage: depth, 2*depth, 4*depth, ..."""
    return [depth * 2**i for i in range(stages)]


class ConvEncoder(nn.Module):
    """Frames (N, C, H, W) float, centred in [-0.5, 0.5] -> embedding (N, out_dim)."""

    def __init__(self, channels: int, height: int, width: int, depth: int) -> None:
        super().__init__()
        stages = num_stages(height, width)
        layers: list[nn.Module] = []
        inp = channels
        for out in stage_channels(depth, stages):
            layers += [nn.Conv2d(inp, out, 4, 2, 1, bias=False), ChannelNorm(out), nn.SiLU()]
            inp = out
        self.net = nn.Sequential(*layers)
        self.out_shape = (inp, height >> stages, width >> stages)
        self.out_dim = inp * (height >> stages) * (width >> stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.contiguous(memory_format=torch.channels_last)).flatten(1)

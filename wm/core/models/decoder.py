"""CNN decoder: the encoder mirrored, from a latent feature back to pixels."""

from __future__ import annotations

import torch
from torch import nn

from wm.core.models.encoder import num_stages, stage_channels
from wm.core.models.layers import ChannelNorm, ConvTranspose2d, FeatureLinear


class ConvDecoder(nn.Module):
    """Features (N, deter + stoch) -> centred frames (N, C, H, W) (add 0.5 for pixels in [0, 1]).

    A Linear (``FeatureLinear``: the flat one-hot ``stoch`` part is cheap at inference) to the encoder's last grid (8*depth x 4 x 4 at 64x64), then stride-2 transposed
    convolutions halving the channels, each with channel LayerNorm and SiLU except the last.
    """

    def __init__(self, deter: int, stoch: int, channels: int, height: int, width: int, depth: int) -> None:
        super().__init__()
        stages = num_stages(height, width)
        chans = stage_channels(depth, stages)[::-1]
        self.grid = (chans[0], height >> stages, width >> stages)
        self.inp = FeatureLinear(deter, stoch, chans[0] * self.grid[1] * self.grid[2], bias=False)
        self.inp_norm = nn.Sequential(ChannelNorm(chans[0]), nn.SiLU())
        layers: list[nn.Module] = []
        for inp, out in zip(chans, chans[1:]):
            layers += [ConvTranspose2d(inp, out, 4, 2, 1, bias=False), ChannelNorm(out), nn.SiLU()]
        layers.append(ConvTranspose2d(chans[-1], channels, 4, 2, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        x = self.inp(feat).unflatten(1, self.grid)
        return self.net(self.inp_norm(x.contiguous(memory_format=torch.channels_last)))


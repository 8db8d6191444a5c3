"""Small building blocks shared by the RSSM world model's parts."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ChannelNorm(nn.Module):
    """LayerNorm over the channels of an image tensor (N, C, H, W), as DreamerV3's CNNs use.

    Works on a channels-last view, so a channels_last input is normalised without a copy and the
    output is channels_last.
    """

    def __init__(self, channels: int, eps: float = 1e-3) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Dense(nn.Sequential):
    """Linear (no bias) -> LayerNorm -> SiLU: DreamerV3's hidden layer."""

    def __init__(self, inp: int, out: int) -> None:
        super().__init__(nn.Linear(inp, out, bias=False), nn.LayerNorm(out, eps=1e-3), nn.SiLU())


def mlp(inp: int, hidden: int, layers: int, out: int) -> nn.Sequential:
    """``layers`` Dense layers of width ``hidden`` followed by a plain Linear to ``out``."""
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks.append(Dense(inp if i == 0 else hidden, hidden))
    blocks.append(nn.Linear(hidden if layers else inp, out))
    return nn.Sequential(*blocks)


def symlog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.expm1(x.abs())


def unimix_logprobs(logits: torch.Tensor, unimix: float) -> torch.Tensor:
    """Log-probabilities of the categoricals in the last dim, mixed with ``unimix`` uniform."""
    logits = logits.float()
    if unimix <= 0:
        return F.log_softmax(logits, -1)
    probs = (1 - unimix) * torch.softmax(logits, -1) + unimix / logits.shape[-1]
    return probs.log()

"""Reward and continue heads on the latent features (..., deter + stoch), stoch being the flat one-hot part."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wm.core.models.layers import feature_mlp, symexp, symlog


class RewardHead(nn.Module):
    """Reward as a categorical over ``bins`` values evenly spaced in symlog space (two-hot targets).

    ``forward`` gives logits (..., bins); ``loss`` the two-hot cross-entropy; ``predict`` the
    expected reward. The output layer starts at zero, so initial predictions are 0 (DreamerV3).
    """

    def __init__(self, deter: int, stoch: int, hidden: int, layers: int, bins: int = 255, limit: float = 20.0) -> None:
        super().__init__()
        self.net = feature_mlp(deter, stoch, hidden, layers, bins)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.register_buffer("bins", torch.linspace(-limit, limit, bins), persistent=False)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat)

    def loss(self, feat: torch.Tensor, reward: torch.Tensor) -> torch.Tensor:
        """Mean two-hot cross-entropy of ``reward`` (...) under the logits for ``feat`` (..., F)."""
        logp = F.log_softmax(self(feat).float(), -1)
        return -(self._twohot(reward) * logp).sum(-1).mean()

    def predict(self, feat: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(self(feat).float(), -1)
        return symexp((probs * self.bins).sum(-1))

    def _twohot(self, reward: torch.Tensor) -> torch.Tensor:
        x = symlog(reward.float()).clamp(self.bins[0], self.bins[-1])
        above = torch.searchsorted(self.bins, x.contiguous(), right=True).clamp(1, len(self.bins) - 1)
        below = above - 1
        lo, hi = self.bins[below], self.bins[above]
        w_hi = ((x - lo) / (hi - lo)).clamp(0, 1)
        target = torch.zeros(*x.shape, len(self.bins), device=x.device)
        target.scatter_(-1, below.unsqueeze(-1), (1 - w_hi).unsqueeze(-1))
        target.scatter_add_(-1, above.unsqueeze(-1), w_hi.unsqueeze(-1))
        return target


class ContinueHead(nn.Module):
    """Bernoulli probability that the episode continues: ``forward`` gives logits (...)."""

    def __init__(self, deter: int, stoch: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.net = feature_mlp(deter, stoch, hidden, layers, 1)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat).squeeze(-1)

    def loss(self, feat: torch.Tensor, terminal: torch.Tensor) -> torch.Tensor:
        """Mean binary cross-entropy of "continues" = not ``terminal`` (...)."""
        return F.binary_cross_entropy_with_logits(self(feat).float(), 1 - terminal.float())

    def predict(self, feat: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self(feat).float())

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


class FeatureLinear(nn.Module):
    """Linear map of RSSM features cat(dense (..., D), one-hot (..., S*K)) -> (..., out).

    The weight is stored (in, out) so that, at inference on a few rows, the one-hot part's product
    is a sum of the weight rows its non-zero entries pick (exact for any values, and 32 rows read
    instead of S*K = 1024 at batch 1). With gradients, or for many rows, it is one matrix product.
    """

    SPARSE_ROWS = 8  # at most this many rows take the gather path

    def __init__(self, dense: int, sparse: int, out: int, bias: bool = True) -> None:
        super().__init__()
        self.dense = dense
        self.weight = nn.Parameter(torch.empty(dense + sparse, out))
        self.bias = nn.Parameter(torch.empty(out)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.Linear's default initialisation: uniform in +-1/sqrt(in)."""
        bound = self.weight.shape[0] ** -0.5
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        if torch.is_grad_enabled() or rows.shape[0] > self.SPARSE_ROWS:
            out = rows @ self.weight
        else:
            dense, sparse = rows[:, : self.dense], rows[:, self.dense :]
            out = dense @ self.weight[: self.dense] if self.dense else rows.new_zeros(rows.shape[0], self.weight.shape[1])
            row, col = sparse.nonzero(as_tuple=True)
            picked = self.weight[self.dense + col] * sparse[row, col, None]
            out = out.index_add(0, row, picked.to(out.dtype))
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], -1)


class Dense(nn.Sequential):
    """Linear (no bias) -> LayerNorm -> SiLU: DreamerV3's hidden layer (``linear`` replaces the Linear)."""

    def __init__(self, inp: int, out: int, linear: nn.Module | None = None) -> None:
        super().__init__(linear or nn.Linear(inp, out, bias=False), nn.LayerNorm(out, eps=1e-3), nn.SiLU())


def feature_mlp(deter: int, stoch: int, hidden: int, layers: int, out: int) -> nn.Sequential:
    """MLP on RSSM features (deter + stoch wide): ``layers`` Dense layers of width ``hidden``, then a Linear."""
    blocks: list[nn.Module] = [Dense(deter + stoch, hidden, FeatureLinear(deter, stoch, hidden, bias=False))]
    blocks += [Dense(hidden, hidden) for _ in range(layers - 1)]
    blocks.append(nn.Linear(hidden, out))
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

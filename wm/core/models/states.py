"""The per-step state vector (``spec.state_size`` = S > 0, e.g. a robot's joint positions) inside a model.

Both families read it beside the frame and predict it with a head, in standardised units:
``StateNorm`` holds the per-dimension mean and standard deviation of the training data's states
(set by the trainer with ``fit``, kept as buffers in the weights, so a loaded model standardises
as it was trained), and the head's loss (part ``state``) is the MSE of the standardised values,
so that every dimension counts alike whatever its scale. Callers see states in the data's units.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wm.core.errors import WMError
from wm.core.models.base import WorldModelBase
from wm.core.models.layers import Dense, Linear, feature_mlp

MIN_STD = 1e-6  # a dimension that varies less than this (relative to its scale) is only centred


class StateNorm(nn.Module):
    """Standardisation of states (..., S): buffers ``mean`` and ``std`` (S,), 0 and 1 until ``fit``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("std", torch.ones(size))

    def fit(self, states: torch.Tensor) -> None:
        """Set ``mean`` and ``std`` from ``states`` (N, S) (the training data's); a constant dimension keeps std 1."""
        if states.dim() != 2 or states.shape[1] != self.mean.numel() or len(states) == 0:
            raise WMError(f"states: expected (N > 0, {self.mean.numel()}) values to standardise, found {tuple(states.shape)}")
        states = states.double()
        mean, std = states.mean(0), states.std(0, correction=0)
        std = torch.where(std > MIN_STD * (1 + mean.abs()), std, torch.ones_like(std))
        self.mean.copy_(mean)
        self.std.copy_(std)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return (states.to(self.mean.device, torch.float32) - self.mean) / self.std

    def inverse(self, values: torch.Tensor) -> torch.Tensor:
        """Standardised values (..., S) -> states in the data's units."""
        return values.float() * self.std + self.mean


class StateEncoder(nn.Module):
    """Standardised states (..., S) -> (..., out): a Dense hidden layer, then a Linear (the RSSM's MLP encoder)."""

    def __init__(self, size: int, hidden: int, out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(Dense(size, hidden), Linear(hidden, out))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.net(states)


class StateHead(nn.Module):
    """Standardised states (..., S) from RSSM features (..., deter + stoch): ``loss`` is the MSE against
    standardised targets, ``predict`` the prediction in float32 (as the other heads')."""

    def __init__(self, deter: int, stoch: int, hidden: int, layers: int, size: int) -> None:
        super().__init__()
        self.net = feature_mlp(deter, stoch, hidden, layers, size)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat)

    def loss(self, feat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self(feat).float(), target)

    def predict(self, feat: torch.Tensor) -> torch.Tensor:
        return self(feat).float()


def standardise(model: WorldModelBase, states: torch.Tensor | None, batch: int, steps: int) -> torch.Tensor | None:
    """``states`` (B, T, S) given to ``model``, standardised by its ``state_norm`` (float32 on its device);
    None for a model without a state vector. WMError when they are missing or misshapen."""
    size = model.spec.state_size
    if not size:
        return None
    if states is None:
        raise WMError(
            f"states: the model reads a state vector of {size} values per step (spec.state_size={size}) beside "
            "each frame; none was given (data without 'states' cannot feed it)"
        )
    if tuple(states.shape) != (batch, steps, size) or not states.is_floating_point():
        raise WMError(f"states have shape {tuple(states.shape)} {states.dtype}, expected float ({batch}, {steps}, {size})")
    return model.get_module("state_norm")(states)

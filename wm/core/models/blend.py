"""Reference blending: the decoder's frame composited, pixel by pixel, with the last observed frame."""

from __future__ import annotations

import torch
from torch import nn

from wm.core.errors import WMError

BLEND_HIDDEN = 16  # channels of the blend's hidden layer


class ReferenceBlend(nn.Module):
    """(generated, reference) centred frames (N, C, H, W) -> centred frame (N, C, H, W).

    Two 3x3 convolutions read the generated frame, the reference and their absolute difference
    and give a weight w in (0, 1) per pixel: frame = w * reference + (1 - w) * generated. Where
    the scene still looks as it did in the reference (the static background of most games) the
    sharp reference wins; where something moved, the generated frame does. The reference is the
    last frame the model observed; while imagining it stays that frame, so horizon h blends with
    a frame h steps old, as the loss trains it (see ``WorldModel.loss``). With ``change_map`` the
    convolutions also read the decoder's change probability (N, 1, H, W): where the model, given
    the actions, expects the frame to change; local pixels alone cannot tell a paddle the keys
    moved from a blur of where it might be.
    """

    def __init__(self, channels: int, change_map: bool = False) -> None:
        super().__init__()
        self.change_map = change_map
        self.net = nn.Sequential(
            nn.Conv2d(3 * channels + change_map, BLEND_HIDDEN, 3, padding=1), nn.SiLU(), nn.Conv2d(BLEND_HIDDEN, 1, 3, padding=1)
        )

    def forward(self, generated: torch.Tensor, reference: torch.Tensor, change: torch.Tensor | None = None) -> torch.Tensor:
        generated = generated.float()
        inputs = [generated, reference, (generated - reference).abs()]
        if self.change_map:
            if change is None:
                raise WMError("blend: this blend reads the decoder's change map (model.change_map), none was given")
            inputs.append(change.float())
        logits = self.net(torch.cat(inputs, 1))
        return torch.lerp(generated, reference, torch.sigmoid(logits.float()))  # float: autocast runs the convs in bf16

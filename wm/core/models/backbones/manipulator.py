"""LayerManipulator: the extension point that sees the hooked layers' outputs and adds losses.

The FlexibleWorldModel hands a manipulator the outputs its LayerOutputCollector kept during
one ``loss`` call, keyed ``"vision.<spec>"`` / ``"backbone.<spec>"`` (``spec`` as written in
``model.vision.hook_layers`` / ``model.backbone.hook_layers``), reshaped per timestep:

- ``vision.*``: (B, T, S, Dv) for each of the T frames (S tokens the layer produced per frame);
- ``backbone.*``: (B, T-1, K, Db) for each of the T-1 input blocks, block t = frame t's tokens
  then action t's token (K = tokens per frame + 1).

Pick one in config by its registered name (see ``registry``): ``model.manipulator=linear_probe_alignment``
with ``model.manipulator_kwargs``; its constructor receives ``dims`` (key -> last dimension) first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wm.core.errors import WMError
from wm.core.models.backbones.registry import register_module


class LayerManipulator(nn.Module):
    """Identity manipulator and base class: override ``transform`` and/or ``aux_losses``.

    ``loss_names`` lists the names ``aux_losses`` returns, so ``model.loss_weights`` can be checked.
    """

    loss_names: tuple[str, ...] = ()

    def __init__(self, dims: dict[str, int]) -> None:
        super().__init__()
        self.dims = dict(dims)

    def transform(self, collected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Process the collected outputs before ``aux_losses`` sees them (identity here)."""
        return collected

    def aux_losses(self, collected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named scalar losses computed from the (transformed) collected outputs."""
        return {}


@register_module("linear_probe_alignment")
class LinearProbeAlignment(LayerManipulator):
    """Align a backbone layer with a vision layer through a linear probe (REPA-style, Yu et al. 2024).

    Per timestep, the backbone layer's tokens of block t are averaged to h_t (Db) and the vision
    layer's tokens of frame t + ``shift`` to v (Dv); the loss is ``1 - cos(W h_t, v)`` averaged.
    The vision side is the target and detached, so the loss trains the probe W and the backbone up
    to the hooked layer with what feeds it (projection, action embedding; a trainable encoder only
    through the backbone's input), never the decoder, the prediction head or later backbone layers.
    ``shift=1`` (default) aligns with the next frame, the one the backbone predicts.
    """

    loss_names = ("align",)

    def __init__(self, dims: dict[str, int], vision_layer: str = "", backbone_layer: str = "", shift: int = 1) -> None:
        super().__init__(dims)
        self.vision_layer = vision_layer or _first(dims, "vision.")
        self.backbone_layer = backbone_layer or _first(dims, "backbone.")
        for key in (self.vision_layer, self.backbone_layer):
            if key not in dims:
                raise WMError(f"config key 'model.manipulator_kwargs': layer '{key}' is not hooked; hooked: {', '.join(dims)}")
        if shift not in (0, 1):
            raise WMError(f"config key 'model.manipulator_kwargs.shift': expected 0 or 1, found {shift}")
        self.shift = shift
        self.probe = nn.Linear(dims[self.backbone_layer], dims[self.vision_layer])

    def aux_losses(self, collected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hidden = collected[self.backbone_layer].float().mean(2)  # (B, T-1, Db)
        target = collected[self.vision_layer].float().mean(2).detach()  # (B, T, Dv)
        target = target[:, self.shift : self.shift + hidden.shape[1]]
        cos = F.cosine_similarity(self.probe(hidden), target, dim=-1)
        return {"align": 1.0 - cos.mean()}


def _first(dims: dict[str, int], prefix: str) -> str:
    key = next((k for k in dims if k.startswith(prefix)), None)
    if key is None:
        part = prefix.rstrip(".")
        raise WMError(f"config key 'model.{part}.hook_layers': LinearProbeAlignment needs at least one hooked {part} layer")
    return key

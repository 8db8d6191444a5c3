"""Dummy-input probes that tell whether a replacement part fits a model (used by ``set_module``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from wm.core.models.world_model import WorldModel

PROBE_BATCH = 2


def _shape(x: torch.Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def probe_shapes(model: WorldModel, name: str, module: nn.Module) -> tuple[dict[str, tuple[int, ...]], str]:
    """Output shapes of part ``name`` played by ``module`` on dummy inputs, and those inputs in words.

    encoder: frames (N, C, H, W) -> (N, embed_dim); blend: (generated, reference) frames [and change map] -> frames;
    decoder and heads: features (N, feat_dim);
    dynamics: ``observe`` of embeddings (N, 2, embed_dim) with actions (N, 1, A), then ``imagine``;
    state_norm: states (N, S) -> (N, S); state_encoder: standardised states (N, S) -> (N, embed_dim).
    """
    n, device = PROBE_BATCH, model.device
    with torch.no_grad():
        if name in ("state_norm", "state_encoder"):
            states = torch.zeros(n, model.spec.state_size, device=device)
            return {"output": _shape(module(states))}, f"states {_shape(states)}"
        if name == "encoder":
            frames = torch.zeros(n, *model.frame_shape, device=device)
            return {"embedding": _shape(module(frames))}, f"frames {_shape(frames)}"
        if name == "blend":
            frames = torch.zeros(n, *model.frame_shape, device=device)
            if not model.change_map:
                return {"frame": _shape(module(frames, frames))}, f"generated and reference frames {_shape(frames)}"
            change = torch.zeros(n, 1, *model.frame_shape[1:], device=device)
            shapes = {"frame": _shape(module(frames, frames, change))}
            return shapes, f"generated and reference frames {_shape(frames)} and a change map {_shape(change)}"
        if name == "dynamics":
            embed = torch.zeros(n, 2, model.embed_dim, device=device)
            actions = torch.zeros(n, 1, model.spec.num_actions, device=device)
            seq = module.observe(embed, actions)
            imagined = module.imagine(seq.last(), actions)
            shapes = {"deter": _shape(seq.deter), "stoch": _shape(seq.stoch), "imagined deter": _shape(imagined.deter)}
            return shapes, f"embeddings {_shape(embed)} and actions {_shape(actions)}"
        feat = torch.zeros(n, model.feat_dim, device=device)
        shapes = {"output": _shape(module(feat))}
        if name != "decoder":
            shapes["prediction"] = _shape(module.predict(feat))
        return shapes, f"features {_shape(feat)}"

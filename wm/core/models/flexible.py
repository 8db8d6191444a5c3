"""FlexibleWorldModel: a pretrained vision encoder and a language-model backbone as a world model.

Shapes (B batch, T frames, N tokens per frame: 1 for ``pooled`` features or P patches,
Dv encoder width, D backbone width, K = N + 1 tokens per timestep, N + 2 with a state vector)::

    frames x (B, T, C, H, W) --encoder--> f (B, T, N, Dv) --layer norm--> z (B, T, N, Dv)   the latent
    block t (t = 0..T-2) = [projection.encode(z_t) (N, D), action_embed(a_t) (1, D)]        K tokens
    sequence (B, (T-1) K, D) --backbone, block-causal (block t sees blocks <= t)--> (B, T-1, K, D)
    projection.predict(frame-token outputs of block t) = z^_{t+1} (B, T-1, N, Dv)
    decoder(z^_{t+1}) = x^_{t+1} (B, T-1, C, H, W)

    loss = w_latent * MSE(z^_{t+1}, sg z_{t+1}) + w_pixel * MSE(x^_{t+1}, x_{t+1}) + sum_k w_k aux_k

With a state vector (``spec.state_size`` = S > 0), standardised by ``state_norm`` (see ``states.py``)
as s (B, T, S), its token enters each block between the frame's and the action's, as the action's
does: block t = [encode(z_t), state_embed(s_t) (1, D), action_embed(a_t)]; ``state_head`` reads the
state token's output of block t as s^_{t+1}, and the loss gains w_state * MSE(s^_{t+1}, s_{t+1}).

``model.loss_weights`` sets the w (default 1); every part is returned, and so logged, separately.
The hooked layers' outputs feed ``manipulator`` (a LayerManipulator), whose ``aux_losses`` join
the loss.

Imagination keeps the latents of the last W = ``model.backbone.window`` frames. With ``kv_cache``
(the default) ``observe`` primes the backbone's key/value cache with the context's timesteps, and
each imagined step runs only its own K tokens (block-causal: they see each other and the cached
timesteps), so a frame costs the same whether the window is filling or full. The cache keeps the
last W-1 timesteps: the oldest drops off as the window slides, and the kept ones stay at their
position ids. Until the window first slides, the frames are those of the uncached path (the
backbone re-run over the window every step, ``kv_cache = False``) up to float rounding. After, they
are not bit for bit: a cached timestep keeps the keys and values it was computed with, when it
could see up to W-1 timesteps before it, where the uncached path re-reads the window from its first
timestep (a sliding-window attention, as Mistral's rolling cache, rather than a window restarted).
Relative position distances are the same in both (what RoPE sees); absolute positions grow, and
when the next timestep would pass the backbone's ``max_position_embeddings``, the cache is
re-primed from position 0 over the window (one uncached-cost step, exact again at that step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.models.backbones import (
    LayerManipulator,
    LayerOutputCollector,
    LLMBackboneWrapper,
    VideoDecoderWrapper,
    VisionEncoderWrapper,
)
from wm.core.models.backbones.llm import KVCache
from wm.core.models.backbones.registry import build_plugin
from wm.core.models.base import Imagined, WorldModelBase
from wm.core.models.states import StateNorm, standardise

LOSSES = ("latent", "pixel")


@dataclass
class FlexibleState:
    """The recent past the backbone attends to: latents (B, k, N, Dv), the k-1 actions between them,
    the backbone's cache of those k-1 timesteps (None when imagination re-runs the window) and the
    standardised state vectors (B, k, S) with the latents (None without a state vector)."""

    latents: torch.Tensor
    actions: torch.Tensor  # (B, k-1) int64 or (B, k-1, A) float
    cache: KVCache | None = None
    states: torch.Tensor | None = None


class Projection(nn.Module):
    """Encoder space <-> backbone space: ``encode`` (.., Dv) -> (.., D), ``predict`` (.., D) -> (.., Dv)."""

    def __init__(self, dv: int, d: int) -> None:
        super().__init__()
        self.inp = nn.Linear(dv, d)
        self.out = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, dv))

    def encode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.inp(latents)

    def predict(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(hidden)


class FlexibleWorldModel(WorldModelBase):
    """Parts: encoder, backbone, decoder, projection, action_embed, manipulator, and state_norm, state_embed,
    state_head with a state vector (see module docstring).

    Building from a Hub id or folder rewrites ``config.vision`` / ``config.backbone`` in place to the
    full transformers config (and preprocessing) they resolved to, so a checkpoint of this model's
    config rebuilds the same architecture with no network; the weights come from the checkpoint.
    Plug-ins (``*.module``, ``manipulator``) are registered names; ``trust_remote_code`` also
    allows import paths (see ``wm.core.models.backbones.registry``).
    ``kv_cache`` (True) says whether ``observe`` starts a cached imagination (see the module docstring);
    a backbone whose forward takes no cache (a plug-in module) always re-runs the window.
    """

    def __init__(self, config: ModelConfig, spec: DataSpec, *, trust_remote_code: bool = False) -> None:
        super().__init__(config, spec)
        self.kv_cache = True
        trust = {"trust_remote_code": trust_remote_code}
        self.encoder = VisionEncoderWrapper.from_config(config.vision, spec.channels, spec.height, **trust)
        self.backbone = LLMBackboneWrapper.from_config(config.backbone, **trust)
        tokens, dv, d = self.encoder.tokens, self.encoder.dim, self.backbone.hidden_size
        self.projection = Projection(dv, d)
        self.action_embed = nn.Embedding(spec.num_actions, d) if spec.discrete else nn.Linear(spec.num_actions, d)
        self.step_tokens = 1  # tokens of a block after the frame's: the action's, and the state's before it
        if spec.state_size:
            self.state_norm = StateNorm(spec.state_size)
            self.state_embed = nn.Linear(spec.state_size, d)
            self.state_head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, spec.state_size))
            self.step_tokens = 2
        shape = (spec.channels, spec.height, spec.width)
        self.decoder = VideoDecoderWrapper.from_config(config.decoder, tokens, dv, shape, **trust)
        self.collector = self._attach_hooks()
        dims = self._probe_dims() if config.manipulator else {}
        self.manipulator: LayerManipulator = (
            build_plugin(config.manipulator, config.manipulator_kwargs, LayerManipulator, "model.manipulator", dims, **trust)
            if config.manipulator
            else LayerManipulator(dims)
        )
        valid = LOSSES + (("state",) if spec.state_size else ()) + tuple(self.manipulator.loss_names)
        for name in config.loss_weights:
            if name not in valid:
                raise WMError(f"config key 'model.loss_weights.{name}': unknown loss; this model's losses: {', '.join(valid)}")

    # -- learning --------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        frames, actions = batch["frames"], batch["actions"]
        b, t = frames.shape[:2]
        if t < 2:
            raise WMError(f"flexible model: sequences need at least 2 frames, found {t}")
        self.collector.clear()
        z, states = self.encode(frames), standardise(self, batch.get("states"), b, t)
        pred, pred_states = self._predict(z[:, :-1], actions[:, :-1], None if states is None else states[:, :-1])
        recon = self.decoder(pred.flatten(0, 1)).unflatten(0, (b, t - 1))
        parts = {
            "latent": F.mse_loss(pred, z[:, 1:].detach()),
            "pixel": F.mse_loss(recon, frames[:, 1:].float() / 255.0),
        }
        if states is not None:
            parts["state"] = F.mse_loss(pred_states.float(), states[:, 1:])
        collected = self._collected(b, t)
        self.collector.clear()
        parts.update(self.manipulator.aux_losses(self.manipulator.transform(collected)))
        weights = self.config.loss_weights
        total = sum(weights.get(name, 1.0) * value for name, value in parts.items())
        return total, {name: value.detach() for name, value in parts.items()}

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, T, C, H, W) -> latents z (B, T, N, Dv): encoder features, layer-normalised."""
        features = self.encoder(frames.flatten(0, 1)).unflatten(0, frames.shape[:2])
        return F.layer_norm(features, features.shape[-1:])

    def _predict(
        self, latents: torch.Tensor, actions: torch.Tensor, states: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """latents (B, S, N, Dv), the action after each (B, S[, A]) and the standardised states with them
        (B, S, S_v) or None -> next latents (B, S, N, Dv) and next standardised states (B, S, S_v) or None."""
        s, n = latents.shape[1:3]
        k = n + self.step_tokens
        hidden = self.backbone(self._tokens(latents, actions, states), k).unflatten(1, (s, k))
        return self._outputs(hidden, n)

    def _outputs(self, hidden: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Backbone outputs of blocks (B, S, K, D) -> next latents (B, S, N, Dv) and standardised states or None."""
        states = self.state_head(hidden[:, :, n]) if self.spec.state_size else None
        return self.projection.predict(hidden[:, :, :n]), states

    def _tokens(self, latents: torch.Tensor, actions: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
        """latents (B, S, N, Dv), the action after each (B, S[, A]) and the standardised states (B, S, S_v)
        or None -> backbone tokens (B, S * K, D)."""
        act = self.action_embed(actions if self.spec.discrete else actions.float()).unsqueeze(2)
        tokens = [self.projection.encode(latents), act]
        if states is not None:
            tokens.insert(1, self.state_embed(states).unsqueeze(2))
        return torch.cat(tokens, dim=2).flatten(1, 2)

    # -- hooks -----------------------------------------------------------------------
    def _attach_hooks(self) -> LayerOutputCollector:
        targets = {
            **self.encoder.hook_targets(self.config.vision.hook_layers),
            **self.backbone.hook_targets(self.config.backbone.hook_layers),
        }
        return LayerOutputCollector(targets)

    def _collected(self, b: int, t: int) -> dict[str, torch.Tensor]:
        """The hooked outputs per timestep: vision (B, T, ...), backbone (B, T-1, K, ...)."""
        out = {}
        for key, value in self.collector.outputs.items():
            if key.startswith("vision."):
                out[key] = value.unflatten(0, (b, t))
            else:
                out[key] = value.unflatten(1, (t - 1, -1))
        return out

    def _probe_dims(self) -> dict[str, int]:
        """Last dimension of every hooked output, from one forward pass on a blank two-frame clip."""
        spec = self.spec
        frames = torch.zeros(1, 2, spec.channels, spec.height, spec.width, dtype=torch.uint8)
        actions = torch.zeros(1, 1, dtype=torch.long) if spec.discrete else torch.zeros(1, 1, spec.num_actions)
        states = torch.zeros(1, 1, spec.state_size) if spec.state_size else None
        with torch.no_grad():
            self._predict(self.encode(frames)[:, :1], actions, states)
        dims = {key: value.shape[-1] for key, value in self.collector.outputs.items()}
        self.collector.clear()
        missing = [key for key in self.collector.keys if key not in dims]
        if missing:
            raise WMError(f"config key 'model.*.hook_layers': {', '.join(missing)} produced no tensor output")
        return dims

    # -- imagination -----------------------------------------------------------------
    def observe(self, frames: torch.Tensor, actions: torch.Tensor, states: torch.Tensor | None = None) -> FlexibleState:
        window = self.config.backbone.window
        start = max(0, frames.shape[1] - window)
        states = standardise(self, states, *frames.shape[:2])
        latents, actions = self.encode(frames)[:, start:], actions[:, start:]
        states = None if states is None else states[:, start:]
        cache = None
        if self.kv_cache and self.backbone.caches:
            cache = self._prime(latents[:, :-1], actions, None if states is None else states[:, :-1])
        return FlexibleState(latents, actions, cache, states)

    def imagine(self, state: FlexibleState, actions: torch.Tensor, decode: bool = True) -> Imagined:
        """Cached when ``state.cache`` is set (see the module docstring); ``state`` itself is left as it was."""
        window, frames, states = self.config.backbone.window, [], []
        for h in range(actions.shape[1]):
            action = actions[:, h : h + 1]
            taken = torch.cat([state.actions, action], dim=1)
            if state.cache is None:
                nxt, nxt_state = self._predict(state.latents, taken, state.states)
                nxt, cache = nxt[:, -1:], None
                nxt_state = None if nxt_state is None else nxt_state[:, -1:]
            else:
                nxt, nxt_state, cache = self._predict_cached(state, state.cache, action)
            if decode:
                frames.append(self.decoder(nxt[:, 0]).clamp(0.0, 1.0))
            latents = torch.cat([state.latents, F.layer_norm(nxt, nxt.shape[-1:])], dim=1)[:, -window:]
            kept = None
            if nxt_state is not None:
                states.append(nxt_state[:, 0])
                kept = torch.cat([state.states, nxt_state], dim=1)[:, -window:]
            state = FlexibleState(latents, taken[:, taken.shape[1] - latents.shape[1] + 1 :], cache, kept)
        predicted = self.state_norm.inverse(torch.stack(states, 1)) if states else None
        return Imagined(state, torch.stack(frames, 1) if decode else None, states=predicted)

    def _prime(self, latents: torch.Tensor, actions: torch.Tensor, states: torch.Tensor | None) -> KVCache:
        """The backbone's cache of the timesteps latents (B, S, N, Dv) + actions (B, S[, A]) (+ standardised
        states (B, S, S_v)), from position 0."""
        if latents.shape[1] == 0:
            return KVCache()
        tokens, k = self._tokens(latents, actions, states), latents.shape[2] + self.step_tokens
        return self.backbone.extend(tokens, k, KVCache(), self.config.backbone.window - 1)[1]

    def _predict_cached(
        self, state: FlexibleState, cache: KVCache, action: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, KVCache]:
        """The latent (B, 1, N, Dv) (and standardised state (B, 1, S_v) or None) after the state's last one and
        ``action`` (B, 1[, A]), running that timestep alone over ``cache`` (the state's), and the cache with it
        (re-primed first if positions would pass the backbone's limit)."""
        n, k = state.latents.shape[2], state.latents.shape[2] + self.step_tokens
        before, last = (None, None) if state.states is None else (state.states[:, :-1], state.states[:, -1:])
        if not self.backbone.fits(cache.position + k):
            cache = self._prime(state.latents[:, :-1], state.actions, before)
        tokens = self._tokens(state.latents[:, -1:], action, last)
        hidden, cache = self.backbone.extend(tokens, k, cache, self.config.backbone.window - 1)
        return *self._outputs(hidden[:, None], n), cache

    def decode(self, state: FlexibleState) -> torch.Tensor:
        return self.decoder(state.latents[:, -1]).clamp(0.0, 1.0)

    # -- modules ---------------------------------------------------------------------
    def module_names(self) -> list[str]:
        states = ["state_norm", "state_embed", "state_head"] if self.spec.state_size else []
        return ["encoder", "backbone", "decoder", "projection", "action_embed", "manipulator", *states]

    def set_module(self, name: str, module: nn.Module) -> None:
        """Replace a part; a bare encoder / backbone / decoder module is wrapped and checked to fit."""
        self._check_name(name)
        if name == "encoder" and not isinstance(module, VisionEncoderWrapper):
            old = self.encoder
            module = VisionEncoderWrapper(
                module, old.image_size, old.mean.flatten().tolist(), old.std.flatten().tolist(), old.features, self.spec.channels
            )
        elif name == "backbone" and not isinstance(module, LLMBackboneWrapper):
            module = LLMBackboneWrapper(module)
        elif name == "decoder" and not isinstance(module, VideoDecoderWrapper):
            shape = (self.spec.channels, self.spec.height, self.spec.width)
            module = VideoDecoderWrapper(module, self.encoder.tokens, self.encoder.dim, shape)
        self._check_fit(name, module)
        previous, hooked = getattr(self, name), self.collector
        setattr(self, name, module)
        if name not in ("encoder", "backbone"):
            return
        try:  # the configured hook_layers, on the new part; the manipulator must still find its inputs
            self.collector = self._attach_hooks()
            dims = self._probe_dims() if self.manipulator.dims else {}
            if dims != self.manipulator.dims:
                raise WMError(
                    f"set_module('{name}'): the manipulator was built for hooked outputs {self.manipulator.dims}, "
                    f"the new part gives {dims}; replace the manipulator too, or hook matching layers"
                )
        except WMError:
            if self.collector is not hooked:
                self.collector.remove()
            setattr(self, name, previous)
            self.collector = hooked
            raise
        hooked.remove()

    def _check_fit(self, name: str, module: nn.Module) -> None:
        if name == "encoder":
            what, old, new = "(tokens, width) per frame", (self.encoder.tokens, self.encoder.dim), (module.tokens, module.dim)
        elif name == "backbone":
            what, old, new = "hidden size", self.backbone.hidden_size, module.hidden_size
        else:
            return
        if old != new:
            raise WMError(f"set_module('{name}'): the replacement's {what} is {new}, the model needs {old}")

"""The RSSM world model (DreamerV3 style): CNN encoder, RSSM dynamics, CNN decoder, optional heads.

Swapping in a custom encoder (any module mapping centred frames (N, C, H, W) in [-0.5, 0.5] to
(N, model.embed_dim)); ``set_module`` runs it on a dummy batch and refuses a misfit::

    from torch import nn
    from wm.core.config.schema import ModelConfig
    from wm.core.data.spec import DataSpec
    from wm.core.models.world_model import WorldModel

    model = WorldModel(ModelConfig(size="xs"), DataSpec(channels=3, height=64, width=64, num_actions=6))
    encoder = nn.Sequential(
        nn.Conv2d(3, 32, 8, stride=4, padding=2), nn.SiLU(),   # 64 -> 16
        nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.SiLU(),  # 16 -> 8
        nn.Flatten(), nn.Linear(64 * 8 * 8, model.embed_dim),
    )
    model.set_module("encoder", encoder)
    model.freeze_module("decoder")  # train only the rest
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.models.base import Imagined, WorldModelBase
from wm.core.models.blend import ReferenceBlend
from wm.core.models.decoder import ConvDecoder
from wm.core.models.encoder import ConvEncoder
from wm.core.models.heads import ContinueHead, RewardHead
from wm.core.models.layers import ConvTranspose2d, FeatureLinear, native_bf16
from wm.core.models.probe import probe_shapes
from wm.core.models.rssm import RSSM, Sequence, State
from wm.core.models.sizes import resolve_dims
from wm.core.models.states import StateEncoder, StateHead, StateNorm, standardise

LOSS_WEIGHTS = {"recon": 1.0, "motion": 20.0, "blend": 1.0, "blend_motion": 20.0, "change": 1.0, "reward": 1.0, "continue": 1.0, "state": 1.0}  # defaults of model.loss_weights


class WorldModel(WorldModelBase):
    """DreamerV3's world model sized by ``config`` for the frames and actions of ``spec``.

    Parts (``module_names()``): ``encoder``, ``dynamics`` (the RSSM), ``decoder``, ``blend`` when
    ``model.blend_reference`` is on (the decoded frame blended with the last observed one, see
    ``ReferenceBlend``; with ``model.change_map`` the decoder draws one more channel, the logits of
    where the frame differs from the previous one, which the blend reads), and
    ``reward_head`` / ``continue_head`` when on (config True, or None and the data has rewards /
    terminals). Features read by decoder and heads: cat(deter, stoch) of
    size ``feat_dim``. With a state vector (``spec.state_size`` > 0): ``state_norm`` (its per-dimension
    standardisation, see ``states.py``), ``state_encoder`` (an MLP whose output is added to the frame's
    embedding, as good as concatenating both into the posterior's linear input layer) and ``state_head``.
    """

    def __init__(self, config: ModelConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        self.dims = dims = resolve_dims(config)
        self.frame_shape = (spec.channels, spec.height, spec.width)
        if spec.num_actions < 1:
            raise WMError(f"data: the model needs at least one action, the data spec has num_actions={spec.num_actions}")
        self.encoder = ConvEncoder(*self.frame_shape, dims.depth)
        self.embed_dim = self.encoder.out_dim
        stoch = dims.stoch * dims.classes  # flat one-hot latents
        self.feat_dim = dims.deter + stoch
        self.dynamics = RSSM(dims, self.embed_dim, spec.num_actions, config.unimix)
        self.change_map = config.blend_reference and config.change_map
        self.decoder = ConvDecoder(dims.deter, stoch, spec.channels + self.change_map, spec.height, spec.width, dims.depth)
        self._parts = ["encoder", "dynamics", "decoder"]
        if config.blend_reference:
            self.blend = ReferenceBlend(spec.channels, self.change_map)
            self._parts.append("blend")
        self._heads = []
        if config.reward_head or (config.reward_head is None and spec.has_rewards):
            self.reward_head = RewardHead(dims.deter, stoch, dims.hidden, dims.layers)
            self._heads.append("reward_head")
        if config.continue_head or (config.continue_head is None and spec.has_terminals):
            self.continue_head = ContinueHead(dims.deter, stoch, dims.hidden, dims.layers)
            self._heads.append("continue_head")
        if spec.state_size:
            self.state_norm = StateNorm(spec.state_size)
            self.state_encoder = StateEncoder(spec.state_size, dims.hidden, self.embed_dim)
            self.state_head = StateHead(dims.deter, stoch, dims.hidden, dims.layers, spec.state_size)
            self._parts += ["state_norm", "state_encoder"]
            self._heads.append("state_head")
        self.to(memory_format=torch.channels_last)  # conv weights in the activations' layout: no reorder per call
        unknown = sorted(set(config.loss_weights) - set(LOSS_WEIGHTS))
        if unknown:
            raise WMError(f"model.loss_weights: unknown part(s) {', '.join(unknown)}; expected {', '.join(LOSS_WEIGHTS)}")
        self.loss_weights = {name: float(config.loss_weights.get(name, default)) for name, default in LOSS_WEIGHTS.items()}

    # -- learning --------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruction (summed squared error per frame) + balanced KL + head losses.

        With ``blend_reference``, a second term ``blend`` scores the decoded frame t blended with
        frame 0 of the sequence (as an imagined frame h steps ahead is blended with the last context
        frame); it trains the blend alone, so the decoder still learns to draw every pixel. With
        ``change_map``, a term ``change`` (binary cross-entropy summed over pixels) trains the
        decoder's extra channel to tell where frame t differs from frame t-1: where the model expects
        something to move, which depends on the actions, and what the blend reads beside the frames.
        The squared error of a pixel that differs from the previous frame (any channel) weighs
        ``1 + loss_weights["motion"]`` in recon: the few pixels that move (a paddle, a ball) are
        what the decoder must learn to draw, and a plain sum drowns them in the static background.
        In the blend term such a pixel weighs ``1 + loss_weights["blend_motion"]`` (with the change
        map, 0 is better: the blend then chooses what predicts the whole frame best; see RESULTS.md).
        Heads at step t+1 predict ``rewards[:, t]`` and not ``terminals[:, t]`` (the outcome of
        action t). With a state vector, the state head at step t predicts ``states[:, t]`` (standardised,
        MSE), as the decoder draws frame t. Parts: recon, blend, change, kl_dyn, kl_rep (after free
        bits), kl (raw), reward, continue, state.
        """
        frames = self._frames(batch["frames"])
        B, T = frames.shape[:2]
        if T < 2:
            raise WMError(f"train.seq_len: the loss needs sequences of at least 2 frames, found {T}")
        actions = self._actions(batch["actions"], B, T)
        states = standardise(self, batch.get("states"), B, T)
        seq = self.dynamics.observe(self._embed(frames, states), actions[:, :-1])
        feat = seq.features()
        truth = frames.flatten(0, 1)
        weight = 1 + self.loss_weights["motion"] * motion_mask(frames).flatten(0, 1) if self.loss_weights["motion"] else 1
        generated, change = self._draw(feat.flatten(0, 1))
        parts = {"recon": (weight * (generated - truth).square()).sum((1, 2, 3)).mean()}
        total = self.loss_weights["recon"] * parts["recon"]
        if change is not None:
            target = motion_mask(frames).flatten(0, 1)
            parts["change"] = F.binary_cross_entropy_with_logits(change, target, reduction="none").sum((1, 2, 3)).mean()
            total = total + self.loss_weights["change"] * parts["change"]
            change = change.detach().sigmoid()
        if self.config.blend_reference:  # the blend learns only when to trust the reference, not what to draw
            blended = self._blend(generated.detach(), frames[:, :1].expand_as(frames).flatten(0, 1), change)
            blend_weight = 1 + self.loss_weights["blend_motion"] * motion_mask(frames).flatten(0, 1)
            parts["blend"] = (blend_weight * (blended - truth).square()).sum((1, 2, 3)).mean()
            total = total + self.loss_weights["blend"] * parts["blend"]
        dyn, rep, kl = self.dynamics.kl_losses(seq, self.config.free_nats)
        total = total + self.config.kl_dyn * dyn + self.config.kl_rep * rep
        parts.update(kl_dyn=dyn, kl_rep=rep, kl=kl)
        for part, head, key in (("reward", "reward_head", "rewards"), ("continue", "continue_head", "terminals")):
            if head not in self._heads:
                continue
            if key not in batch:
                raise WMError(f"batch has no '{key}' but the model has a {head} (model.{head}=false turns it off)")
            target = batch[key].to(feat.device)
            if target.shape[:2] != (B, T):
                raise WMError(f"batch '{key}' has shape {tuple(target.shape)}, expected ({B}, {T})")
            parts[part] = getattr(self, head).loss(feat[:, 1:], target[:, :-1])
            total = total + self.loss_weights[part] * parts[part]
        if states is not None:
            parts["state"] = self.state_head.loss(feat, states)
            total = total + self.loss_weights["state"] * parts["state"]
        return total, {name: value.detach() for name, value in parts.items()}

    # -- imagination -----------------------------------------------------------------
    def observe(self, frames: torch.Tensor, actions: torch.Tensor, states: torch.Tensor | None = None) -> State:
        frames = self._frames(frames)
        B, T = frames.shape[:2]
        embed = self._embed(frames, standardise(self, states, B, T))
        state = self.dynamics.observe(embed, self._actions(actions, B, T - 1)).last()
        state.reference = frames[:, -1] if self.config.blend_reference else None
        return state

    def imagine(self, state: State, actions: torch.Tensor, decode: bool = True) -> Imagined:
        B = state.deter.shape[0]
        seq = self.dynamics.imagine(state, self._actions(actions, B, None))
        last = seq.last()
        last.reference = state.reference
        frames = self._decode_seq(seq, state.reference) if decode else None
        return Imagined(state=last, frames=frames, **self._predict(seq))

    def decode(self, state: State) -> torch.Tensor:
        return self._pixels(state.features(), state.reference)

    def set_fast_decode(self, fast: bool) -> bool:
        """Faster, slightly inexact decoding at inference (no autograd) on or off; returns whether it
        is now on (False, too, for a replaced decoder without this model's layers).

        Fast: the decoder's input layer reads an 8-bit copy of its weight on the CPU (a quarter of the
        bytes of the largest weight a step reads), and its transposed convolutions compute in
        bfloat16 where that is native (``native_bf16``). Frames stay within 0.03 of exact decoding
        (pixels in [0, 1]; tested); the state update is untouched, so the differences never
        compound over a rollout. Training is unaffected.
        """
        dtype = torch.bfloat16 if fast and native_bf16(self.device) else torch.float32
        switched = False
        for module in self.decoder.modules():
            if isinstance(module, ConvTranspose2d):
                module.compute_dtype = dtype
            elif isinstance(module, FeatureLinear):
                module.quantized = fast
            switched |= isinstance(module, (ConvTranspose2d, FeatureLinear))
        return fast and switched

    def _decode_seq(self, seq: Sequence, reference: torch.Tensor | None) -> torch.Tensor:
        """Frames (B, H, C, H, W) of a sequence, each blended with ``reference`` (B, C, H, W) when given."""
        B, H = seq.deter.shape[:2]
        if reference is not None:
            reference = reference[:, None].expand(B, H, *reference.shape[1:]).flatten(0, 1)
        return self._pixels(seq.features().flatten(0, 1), reference).unflatten(0, (B, H))

    def _pixels(self, feat: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
        """Features (N, feat_dim) -> frames (N, C, H, W) float in [0, 1], blended with the centred
        ``reference`` (N, C, H, W) when given and the model blends."""
        frames, change = self._draw(feat)
        if reference is not None and self.config.blend_reference:
            frames = self._blend(frames, reference, None if change is None else change.sigmoid())
        return (frames + 0.5).clamp(0, 1)

    def _blend(self, frames: torch.Tensor, reference: torch.Tensor, change: torch.Tensor | None) -> torch.Tensor:
        """The blend of centred ``frames`` with ``reference``, given the change probabilities when
        the model draws them (a replaced blend of a model without them takes two arguments)."""
        return self.blend(frames, reference) if change is None else self.blend(frames, reference, change)

    def _draw(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Features (N, feat_dim) -> the decoder's centred frames (N, C, H, W) float and, with
        ``change_map``, its change logits (N, 1, H, W) (None without)."""
        out = self.decoder(feat).float()
        channels = self.frame_shape[0]
        return out[:, :channels], (out[:, channels:] if self.change_map else None)

    def _predict(self, seq: Sequence) -> dict[str, torch.Tensor]:
        feat = seq.features() if self._heads else None
        out = {}
        if "reward_head" in self._heads:
            out["rewards"] = self.reward_head.predict(feat)
        if "continue_head" in self._heads:
            out["continues"] = self.continue_head.predict(feat)
        if "state_head" in self._heads:
            out["states"] = self.state_norm.inverse(self.state_head.predict(feat))
        return out

    # -- modules ---------------------------------------------------------------------
    def module_names(self) -> list[str]:
        return [*self._parts, *self._heads]

    def set_module(self, name: str, module: nn.Module) -> None:
        """Replace a part after checking that it maps the same dummy inputs to the same shapes."""
        old = self.get_module(name)
        module = module.to(device=self.device)
        expected, inputs = probe_shapes(self, name, old)
        try:
            found, _ = probe_shapes(self, name, module)
        except Exception as err:  # the replacement is user code: report any failure as a misfit
            raise WMError(f"set_module('{name}'): the replacement fails on {inputs}: {type(err).__name__}: {err}") from err
        if found != expected:
            raise WMError(f"set_module('{name}'): the replacement gives {found} for {inputs}, expected {expected}")
        super().set_module(name, module)

    # -- inputs ----------------------------------------------------------------------
    def _embed(self, frames: torch.Tensor, states: torch.Tensor | None) -> torch.Tensor:
        """Centred frames (B, T, C, H, W) and standardised states (B, T, S) or None -> embeddings (B, T, embed_dim)."""
        embed = self.encoder(frames.flatten(0, 1)).unflatten(0, frames.shape[:2])
        return embed if states is None else embed + self.state_encoder(states)

    def _frames(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (or float in [0, 255]) (B, T, C, H, W) -> float32 centred in [-0.5, 0.5]."""
        if frames.dim() != 5 or tuple(frames.shape[2:]) != self.frame_shape:
            raise WMError(
                f"frames have shape {tuple(frames.shape)}, the model expects (B, T, {', '.join(map(str, self.frame_shape))}) "
                "(channels and size of the data it was built for; see data.image_size)"
            )
        return frames.to(self.device, torch.float32, copy=True).mul_(1 / 255).sub_(0.5)

    def _actions(self, actions: torch.Tensor, batch: int, steps: int | None) -> torch.Tensor:
        """Discrete ids (B, T) -> one-hot float (B, T, A); continuous (B, T, A) float passes through.

        ``steps`` is the expected T (None: any).
        """
        n, t = self.spec.num_actions, "T" if steps is None else steps
        if self.spec.discrete:
            if actions.dim() != 2 or actions.shape[0] != batch or (steps is not None and actions.shape[1] != steps):
                raise WMError(f"actions have shape {tuple(actions.shape)}, expected ({batch}, {t}) discrete action ids")
            if actions.is_floating_point() or actions.dtype == torch.bool:
                raise WMError(f"actions: expected integer ids for a discrete action space, found {actions.dtype}")
            # checked on the CPU only: on a GPU, or inside torch.compile, reading the range would force a sync
            checkable = actions.device.type == "cpu" and not torch.compiler.is_compiling()
            if checkable and actions.numel() and (int(actions.min()) < 0 or int(actions.max()) >= n):
                raise WMError(
                    f"actions: ids must lie in [0, {n}) for this model, found {int(actions.min())}..{int(actions.max())}"
                )
            return F.one_hot(actions.to(self.device), n).float()
        if actions.dim() != 3 or actions.shape[0] != batch or (steps is not None and actions.shape[1] != steps) or actions.shape[2] != n:
            raise WMError(f"actions have shape {tuple(actions.shape)}, expected ({batch}, {t}, {n}) continuous actions")
        return actions.to(self.device, torch.float32)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


def motion_mask(frames: torch.Tensor) -> torch.Tensor:
    """(B, T, 1, H, W) float: 1 where frame t differs from frame t-1 in any channel (0 at t = 0)."""
    changed = (frames[:, 1:] != frames[:, :-1]).any(2, keepdim=True)
    return torch.cat([torch.zeros_like(changed[:, :1]), changed], 1).to(frames.dtype)

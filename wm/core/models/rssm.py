"""The recurrent state-space model (DreamerV3's RSSM): a LayerNorm GRU and categorical latents.

State: deterministic ``deter`` (B, D) from the GRU and stochastic ``stoch`` (B, S, K), S one-hot
categoricals of K classes, sampled with a 1% uniform mix and straight-through gradients.
The prior predicts ``stoch`` from ``deter`` alone (imagination); the posterior also sees the
frame's embedding (observation). Only the GRU/posterior recursion runs step by step; everything
that does not feed the recursion is computed for the whole sequence at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wm.core.models.layers import Dense, FeatureLinear, Linear, unimix_logprobs
from wm.core.models.shared import SharedLinears
from wm.core.models.sizes import Dims

StepLinears = Callable[[str, torch.Tensor], torch.Tensor]


@dataclass
class State:
    """Belief state of a batch: ``deter`` (B, D) float, ``stoch`` (B, S, K) one-hot samples, and the
    last observed frame (B, C, H, W) centred, when the model blends with it (``WorldModel``)."""

    deter: torch.Tensor
    stoch: torch.Tensor
    reference: torch.Tensor | None = None

    def features(self) -> torch.Tensor:
        """(B, D + S*K): what the decoder and the heads read."""
        return torch.cat([self.deter, self.stoch.flatten(1)], -1)


@dataclass
class Sequence:
    """States of a whole sequence: ``deter`` (B, T, D), ``stoch`` (B, T, S, K) and, when observed,
    the posterior log-probabilities ``post_logp`` (B, T, S, K)."""

    deter: torch.Tensor
    stoch: torch.Tensor
    post_logp: torch.Tensor | None = None

    def features(self) -> torch.Tensor:
        """(B, T, D + S*K)."""
        return torch.cat([self.deter, self.stoch.flatten(2)], -1)

    def last(self) -> State:
        return State(self.deter[:, -1], self.stoch[:, -1])


class RSSM(nn.Module):
    """Dynamics: ``observe`` a sequence of embeddings, ``imagine`` forward from actions."""

    def __init__(self, dims: Dims, embed_dim: int, action_dim: int, unimix: float = 0.01) -> None:
        super().__init__()
        D, H, S, K = dims.deter, dims.hidden, dims.stoch, dims.classes
        self.deter_dim, self.stoch_dim, self.classes = D, S, K
        self.embed_dim, self.action_dim, self.unimix = embed_dim, action_dim, unimix
        self.init_deter = nn.Parameter(torch.zeros(D))
        # img_in(cat(stoch, action)) as two Linears, so the action part is computed for all steps at once
        self.img_stoch = FeatureLinear(0, S * K, H, bias=False)
        self.img_action = Linear(action_dim, H, bias=False)
        self.img_norm = nn.LayerNorm(H, eps=1e-3)
        # GRU gates (reset, candidate, update) from cat(input, deter) as one fused pair of Linears
        self.gru_in = Linear(H, 3 * D, bias=False)
        self.gru_rec = Linear(D, 3 * D, bias=False)
        self.gru_norm = nn.LayerNorm(3 * D, eps=1e-3)
        self.prior = nn.Sequential(Dense(D, H), Linear(H, S * K))
        # posterior(cat(deter, embed)), split the same way: the embedding part runs over all frames at once
        self.post_deter = Linear(D, H, bias=False)
        self.post_embed = Linear(embed_dim, H, bias=False)
        self.post_norm = nn.LayerNorm(H, eps=1e-3)
        self.post_out = Linear(H, S * K)

    # -- states ------------------------------------------------------------------------
    def initial(self, batch: int) -> State:
        """The learned initial state: deter = tanh(parameter), stoch = the prior's mode."""
        deter = torch.tanh(self.init_deter).expand(batch, -1)
        idx = self.prior_logp(deter).argmax(-1)
        return State(deter, F.one_hot(idx, self.classes).to(deter.dtype))

    def prior_logp(self, deter: torch.Tensor) -> torch.Tensor:
        """Prior log-probabilities (..., S, K) of the latents given ``deter`` (..., D)."""
        logits = self.prior(deter).unflatten(-1, (self.stoch_dim, self.classes))
        return unimix_logprobs(logits, self.unimix)

    def _gru(self, x_pre: torch.Tensor, deter: torch.Tensor, linear: StepLinears) -> torch.Tensor:
        """One GRU step from the pre-norm input ``x_pre`` (B, H) and the previous ``deter`` (B, D)."""
        x = F.silu(self.img_norm(x_pre))
        gates = self.gru_norm(linear("gru_in", x) + linear("gru_rec", deter)).float()
        reset, cand, update = gates.chunk(3, -1)
        cand = torch.tanh(torch.sigmoid(reset) * cand)
        update = torch.sigmoid(update - 1)
        return torch.lerp(deter, cand, update)

    def _linears(self, dtype: torch.dtype, *names: str) -> StepLinears:
        """``linear(name, x)``: the bias-free map of part ``name``, for use at every step of a sequence.

        Under autograd the weight gradients are taken once for all steps (``SharedLinears``).
        """
        if not torch.is_grad_enabled():
            return lambda name, x: self.img_stoch(x) if name == "img_stoch" else getattr(self, name).product(x)
        return SharedLinears({name: getattr(self, name) for name in names}, dtype)

    @staticmethod
    def _sample(logp: torch.Tensor, gumbel: torch.Tensor) -> torch.Tensor:
        """One-hot sample (Gumbel-max) with straight-through gradients to the probabilities (under autograd)."""
        onehot = F.one_hot((logp + gumbel).argmax(-1), logp.shape[-1]).to(logp.dtype)
        if not torch.is_grad_enabled():
            return onehot
        probs = logp.exp()
        return onehot + probs - probs.detach()

    def _gumbel(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        u = torch.rand(shape, device=like.device).clamp_(1e-6, 1 - 1e-6)
        return -torch.log(-torch.log(u))

    # -- sequences ---------------------------------------------------------------------
    def observe(self, embed: torch.Tensor, actions: torch.Tensor) -> Sequence:
        """Posterior states for embeddings (B, T, E) with ``actions`` (B, T-1, A) between them.

        State t sees frames 0..t; the GRU advances with action t-1 between frames t-1 and t.
        """
        B, T = embed.shape[:2]
        embed_t = self.post_embed(embed).transpose(0, 1).contiguous().unbind(0)
        action_t = self.img_action(actions).transpose(0, 1).contiguous().unbind(0)
        gumbel_t = self._gumbel((T, B, self.stoch_dim, self.classes), embed).unbind(0)
        state = self.initial(B)
        deter, stoch = state.deter, state.stoch
        linear = self._linears(embed_t[0].dtype, "img_stoch", "gru_in", "gru_rec", "post_deter", "post_out")
        deters, stochs, logps = [], [], []
        for t in range(T):
            if t > 0:
                deter = self._gru(linear("img_stoch", stoch.flatten(1)) + action_t[t - 1], deter, linear)
            hidden = F.silu(self.post_norm(linear("post_deter", deter) + embed_t[t]))
            logits = linear("post_out", hidden) + self.post_out.bias
            logp = unimix_logprobs(logits.unflatten(-1, (self.stoch_dim, self.classes)), self.unimix)
            stoch = self._sample(logp, gumbel_t[t])
            deters.append(deter)
            stochs.append(stoch)
            logps.append(logp)
        return Sequence(torch.stack(deters, 1), torch.stack(stochs, 1), torch.stack(logps, 1))

    def imagine(self, state: State, actions: torch.Tensor) -> Sequence:
        """Prior states after each of ``actions`` (B, H, A) taken from ``state``."""
        B, H = actions.shape[:2]
        action_t = self.img_action(actions).transpose(0, 1).unbind(0)
        gumbel_t = self._gumbel((H, B, self.stoch_dim, self.classes), actions).unbind(0)
        deter, stoch = state.deter, state.stoch
        linear = self._linears(action_t[0].dtype, "img_stoch", "gru_in", "gru_rec")
        deters, stochs = [], []
        for t in range(H):
            deter = self._gru(linear("img_stoch", stoch.flatten(1)) + action_t[t], deter, linear)
            stoch = self._sample(self.prior_logp(deter), gumbel_t[t])
            deters.append(deter)
            stochs.append(stoch)
        return Sequence(torch.stack(deters, 1), torch.stack(stochs, 1))

    # -- loss --------------------------------------------------------------------------
    def kl_losses(self, seq: Sequence, free_nats: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """DreamerV3's balanced KL: (dynamics loss, representation loss, raw KL), each a mean over (B, T).

        dynamics = KL(sg(post) || prior), representation = KL(post || sg(prior)); both summed over
        the latents and clipped below at ``free_nats`` (free bits).
        """
        assert seq.post_logp is not None, "kl_losses needs an observed sequence"
        post = seq.post_logp
        prior = self.prior_logp(seq.deter)
        probs = post.exp()
        dyn = (probs.detach() * (post.detach() - prior)).sum((-2, -1))
        rep = (probs * (post - prior.detach())).sum((-2, -1))
        return dyn.clamp(min=free_nats).mean(), rep.clamp(min=free_nats).mean(), dyn.detach().mean()

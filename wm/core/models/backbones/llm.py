"""LLMBackboneWrapper: a decoder-only language model (or a user module) over a sequence of embeddings.

The model is fed ``inputs_embeds`` (B, L, D) with a block-causal float mask: the sequence is
``steps`` blocks of ``tokens_per_step`` tokens, and a token of step t attends to every token of
steps <= t (both ways inside its own step, never to a later step). The mask is additive float
(0 = attend, dtype min = blocked), shape (1, 1, L, L): transformers passes a 4D mask through
unchanged to its eager and SDPA attention, where boolean 4D masks would not mean the same thing.
(So flash-attention kernels, which take no custom mask, are not used, and a model's own sliding
window, e.g. Mistral's, gives way to this mask; ``model.backbone.window`` bounds the context.)
The token-embedding table is dropped (the world model supplies its own embeddings).

``extend`` runs new timesteps after cached ones (a transformers ``DynamicCache`` rebuilt from an
immutable ``KVCache``), with the same mask restricted to the new queries: one timestep costs a
forward pass over its own K tokens. Position ids are absolute (``KVCache.position``), so dropping
old timesteps from the cache leaves the later ones where they were.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from wm.core.config.schema import BackboneConfig
from wm.core.errors import WMError
from wm.core.models.backbones.collector import hook_targets
from wm.core.models.backbones.registry import build_plugin
from wm.core.models.backbones.sources import DTYPES, describe, load_transformers, set_trainable


def block_causal_mask(
    steps: int, tokens_per_step: int, dtype: torch.dtype, device: torch.device | None = None, past_steps: int = 0
) -> torch.Tensor:
    """Additive mask (1, 1, L, P + L), L = steps * tokens_per_step queries after P = past_steps * tokens_per_step
    cached keys: 0 where step(key) <= step(query) (steps counted from the first cached one), else min."""
    query = torch.arange(steps * tokens_per_step, device=device) // tokens_per_step + past_steps
    key = torch.arange((past_steps + steps) * tokens_per_step, device=device) // tokens_per_step
    blocked = key[None, :] > query[:, None]
    mask = torch.zeros(blocked.shape, dtype=dtype, device=device).masked_fill(blocked, torch.finfo(dtype).min)
    return mask[None, None]


@dataclass(frozen=True)
class KVCache:
    """The backbone's keys and values of the last ``steps`` timesteps; extending one returns a new one.

    ``layers``: one (keys, values) pair per attention layer, each (B, heads, steps * K, head_dim);
    ``position``: the position id of the next token (every token so far counted, dropped ones too).
    """

    layers: tuple[tuple[torch.Tensor, torch.Tensor], ...] = ()
    steps: int = 0
    position: int = 0


class LLMBackboneWrapper(nn.Module):
    """embeddings (B, L, D) -> hidden states (B, L, D) float32, block-causal over timesteps."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        config = getattr(model, "config", None)
        size = getattr(config, "hidden_size", None) or getattr(model, "hidden_size", None)
        if not isinstance(size, int):
            raise WMError(f"backbone {type(model).__name__}: needs a hidden_size attribute (or config.hidden_size)")
        self.hidden_size = size
        self._hf = hasattr(model, "get_input_embeddings")
        self._cache_argument = _cache_argument(model) if self._hf else None

    @classmethod
    def from_config(cls, cfg: BackboneConfig, *, trust_remote_code: bool = False) -> LLMBackboneWrapper:
        """Build from ``model.backbone``; a pretrained source rewrites ``cfg`` to its offline form.

        ``trust_remote_code`` lets ``cfg.module`` be an import path (see ``registry``).
        """
        if cfg.name_or_path or not cfg.module:
            model = load_transformers(cfg.name_or_path, cfg.config, "model.backbone")
            model.set_input_embeddings(nn.Identity())  # a vocabulary table the world model never uses
            if cfg.name_or_path:
                cfg.name_or_path, cfg.config = "", describe(model)
            if cfg.gradient_checkpointing:
                _checkpoint_activations(model)
        else:
            model = build_plugin(
                cfg.module, cfg.module_kwargs, nn.Module, "model.backbone.module", trust_remote_code=trust_remote_code
            )
        model = model.to(DTYPES[cfg.dtype])
        set_trainable(model, not cfg.freeze and cfg.lora.r == 0)
        if cfg.lora.r > 0:
            _add_lora(model, cfg)
        return cls(model)

    def hook_targets(self, specs: list[Any]) -> dict[str, nn.Module]:
        return hook_targets(self.model, specs, "backbone")

    @property
    def caches(self) -> bool:
        """Whether ``extend`` works: a transformers model whose forward takes a key/value cache."""
        return self._cache_argument is not None

    def fits(self, positions: int) -> bool:
        """Whether position ids 0..positions-1 stay within the model's ``max_position_embeddings`` (if it has one)."""
        limit = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        return not isinstance(limit, int) or positions <= limit

    def forward(self, embeds: torch.Tensor, tokens_per_step: int) -> torch.Tensor:
        """embeds (B, L, D) with L a multiple of tokens_per_step -> hidden states (B, L, D) float32."""
        dtype = next(self.model.parameters()).dtype
        mask = block_causal_mask(_steps(embeds, tokens_per_step), tokens_per_step, dtype, embeds.device)
        extra = {"use_cache": False} if self._hf else {}
        return _hidden(self.model(inputs_embeds=embeds.to(dtype), attention_mask=mask, **extra))

    def extend(
        self, embeds: torch.Tensor, tokens_per_step: int, past: KVCache, keep: int
    ) -> tuple[torch.Tensor, KVCache]:
        """New timesteps embeds (B, L, D) after the ``past.steps`` cached ones -> their hidden states (B, L, D)
        float32, what ``forward`` over the cached and new embeddings gives for the new ones (each new timestep
        sees every cached one), and the cache of the last ``keep`` timesteps. ``past`` is left as it was."""
        if not self.caches:
            raise WMError(f"backbone {type(self.model).__name__}: its forward takes no key/value cache")
        from transformers import DynamicCache

        steps, length = _steps(embeds, tokens_per_step), embeds.shape[1]
        cache = DynamicCache()  # no config: plain layers, whatever sliding window the model's config names
        for index, (keys, values) in enumerate(past.layers):
            cache.update(keys, values, index)
        dtype = next(self.model.parameters()).dtype
        mask = block_causal_mask(steps, tokens_per_step, dtype, embeds.device, past.steps)
        positions = torch.arange(past.position, past.position + length, device=embeds.device)[None]
        out = self.model(
            inputs_embeds=embeds.to(dtype),
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self._cache_argument: cache},
        )
        kept = min(keep, past.steps + steps)
        drop = (past.steps + steps - kept) * tokens_per_step
        layers = tuple((entry[0][..., drop:, :], entry[1][..., drop:, :]) for entry in cache)
        return _hidden(out), KVCache(layers, kept, past.position + length)


def _steps(embeds: torch.Tensor, tokens_per_step: int) -> int:
    length = embeds.shape[1]
    if length % tokens_per_step:
        raise WMError(f"backbone: sequence of {length} tokens is not whole steps of {tokens_per_step}")
    return length // tokens_per_step


def _hidden(out: Any) -> torch.Tensor:
    return (out if isinstance(out, torch.Tensor) else out.last_hidden_state).float()


def _cache_argument(model: nn.Module) -> str | None:
    """The name ``model.forward`` takes a Cache under: ``cache`` (transformers 5), ``past_key_values`` (4), or None."""
    parameters = inspect.signature(model.forward).parameters
    return next((name for name in ("cache", "past_key_values") if name in parameters), None)


def _checkpoint_activations(model: nn.Module) -> None:
    """Recompute each block's activations in backward (non-reentrant) instead of storing them."""
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def _add_lora(model: nn.Module, cfg: BackboneConfig) -> None:
    """LoRA adapters on ``cfg.lora.targets`` (peft, in place); only the adapters train."""
    from peft import LoraConfig, inject_adapter_in_model

    lora = LoraConfig(
        r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout, target_modules=cfg.lora.targets
    )
    try:
        inject_adapter_in_model(lora, model)
    except ValueError as err:
        raise WMError(f"config key 'model.backbone.lora.targets': {str(err).splitlines()[0]}") from err
    for name, param in model.named_parameters():
        param.requires_grad_("lora_" in name)

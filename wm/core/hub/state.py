"""Training state (optimizer, scheduler, RNG, step) as safetensors + JSON: no pickle either way.

A nested state of dicts, lists, tuples, tensors and plain values splits into a flat
``{key: tensor}`` map (for safetensors) and a JSON skeleton in which every tensor is
``{"__tensor__": key}``; ``join_state`` puts them back together exactly. Dicts whose keys
are not all strings (an optimizer's per-parameter state is keyed by int) become
``{"__items__": [[key, value], ...]}`` and tuples ``{"__tuple__": [...]}`` so that types
survive the round trip.
"""

from __future__ import annotations

from typing import Any

import torch

from wm.core.errors import WMError

TENSOR, ITEMS, TUPLE = "__tensor__", "__items__", "__tuple__"
PLAIN = (str, int, float, bool, type(None))


def split_state(state: Any) -> tuple[dict[str, torch.Tensor], Any]:
    """``(tensors, skeleton)`` for a nested state; the skeleton is JSON-able."""
    tensors: dict[str, torch.Tensor] = {}

    def encode(value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            tensors[path] = value
            return {TENSOR: path}
        if isinstance(value, PLAIN):
            return value
        if isinstance(value, tuple):
            return {TUPLE: [encode(v, f"{path}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [encode(v, f"{path}.{i}") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if all(isinstance(k, str) and k not in (TENSOR, ITEMS, TUPLE) for k in value):
                return {k: encode(v, f"{path}.{k}") for k, v in value.items()}
            items = enumerate(value.items())
            return {ITEMS: [[encode(k, f"{path}.{i}.key"), encode(v, f"{path}.{i}")] for i, (k, v) in items]}
        raise WMError(
            f"training state at '{path}': a {type(value).__name__} cannot be stored "
            f"(expected tensors, numbers, strings, lists, tuples and dicts)"
        )

    skeleton = encode(state, "state")
    return tensors, skeleton


def join_state(tensors: dict[str, torch.Tensor], skeleton: Any) -> Any:
    """The nested state that ``split_state`` took apart."""

    def decode(value: Any) -> Any:
        if isinstance(value, list):
            return [decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if TENSOR in value:
            key = value[TENSOR]
            if key not in tensors:
                raise WMError(f"training state: tensor '{key}' is missing from the tensor file")
            return tensors[key]
        if TUPLE in value:
            return tuple(decode(v) for v in value[TUPLE])
        if ITEMS in value:
            return {decode(k): decode(v) for k, v in value[ITEMS]}
        return {k: decode(v) for k, v in value.items()}

    return decode(skeleton)

"""Where a pretrained part comes from: a Hub id or folder, a transformers config dict, or a user class.

Vision encoder and backbone follow one rule (see VisionConfig): ``name_or_path`` ->
``from_pretrained``; else ``module`` -> a registered plug-in (see ``registry``); else ``config`` ->
random weights on that architecture. ``describe`` turns a built transformers part back into the
last form, which rebuilds the same architecture offline (the weights then come from a checkpoint).
Neither form ever runs a model's remote code: ``trust_remote_code`` is always False towards
transformers, and a config carrying ``auto_map`` (which names such code) is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from wm.core.errors import WMError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def load_transformers(
    name_or_path: str,
    config: dict[str, Any],
    key: str,
    pick_config: Callable[[Any], Any] = lambda c: c,
) -> nn.Module:
    """A transformers model from a Hub id / folder (``config`` unused), else random on the ``config`` dict.

    ``pick_config`` selects the sub-config to build from a composite one (the vision tower of CLIP).
    """
    from transformers import AutoConfig, AutoModel

    if name_or_path:
        try:
            hf_config = pick_config(AutoConfig.from_pretrained(name_or_path, trust_remote_code=False))
            return AutoModel.from_pretrained(name_or_path, config=hf_config, trust_remote_code=False)
        except (OSError, ValueError, RuntimeError) as err:
            reason = str(err).splitlines()[0]
            raise WMError(f"config key '{key}.name_or_path': cannot load '{name_or_path}' ({reason})") from err
    if "model_type" not in config:
        raise WMError(
            f"config key '{key}': set name_or_path (Hub id or folder), module, or config with a model_type "
            f"(e.g. {{model_type: llama, hidden_size: 64}}), found none"
        )
    if "auto_map" in config:
        raise WMError(f"config key '{key}.config.auto_map': names a model's remote code, which wm never runs; remove it")
    fields = {k: v for k, v in config.items() if k != "_name_or_path"}  # the origin, never fetched again
    try:
        hf_config = pick_config(AutoConfig.for_model(fields.pop("model_type"), **fields))
        return AutoModel.from_config(hf_config, trust_remote_code=False)
    except (ValueError, KeyError, TypeError) as err:
        raise WMError(f"config key '{key}.config': not a transformers config ({str(err).splitlines()[0]})") from err


def describe(model: nn.Module) -> dict[str, Any]:
    """The full config of a transformers / diffusers ``model`` as JSON-able values (``_name_or_path`` records the origin)."""
    config = model.config
    return json.loads(json.dumps(config.to_dict() if hasattr(config, "to_dict") else dict(config)))


def set_trainable(module: nn.Module, trainable: bool) -> None:
    for param in module.parameters():
        param.requires_grad_(trainable)

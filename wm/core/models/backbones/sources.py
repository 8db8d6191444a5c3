"""Where a pretrained part comes from: a Hub id or folder, a transformers config dict, or a user class.

All three go through here so that vision encoder and backbone follow one rule (see VisionConfig):
``name_or_path`` -> ``from_pretrained``; else ``module`` -> a user nn.Module; else ``config`` ->
random weights on that architecture. ``describe`` turns a built transformers part back into the
last form, which rebuilds the same architecture offline (the weights then come from a checkpoint).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from wm.core.errors import WMError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def import_object(path: str, key: str) -> Any:
    """The object an import path ``pkg.mod:Name`` names; ``key`` is the config key, for errors."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise WMError(f"config key '{key}': expected an import path like 'my_pkg.module:Class', found '{path}'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise WMError(f"config key '{key}': cannot import module '{module_name}' ({err})") from err
    try:
        return getattr(module, attr)
    except AttributeError as err:
        raise WMError(f"config key '{key}': module '{module_name}' has no '{attr}'") from err


def build_class(path: str, kwargs: dict[str, Any], base: type, key: str, *args: Any) -> Any:
    """Instantiate the class at ``path``; it must subclass ``base`` (a checkpoint never calls anything else)."""
    cls = import_object(path, key)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise WMError(f"config key '{key}': '{path}' is not a subclass of {base.__module__}.{base.__name__}")
    try:
        return cls(*args, **kwargs)
    except TypeError as err:
        raise WMError(f"config key '{key}': {path}({', '.join(kwargs)}) failed: {err}") from err


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
            return AutoModel.from_pretrained(name_or_path, config=pick_config(AutoConfig.from_pretrained(name_or_path)))
        except (OSError, ValueError, RuntimeError) as err:
            reason = str(err).splitlines()[0]
            raise WMError(f"config key '{key}.name_or_path': cannot load '{name_or_path}' ({reason})") from err
    if "model_type" not in config:
        raise WMError(
            f"config key '{key}': set name_or_path (Hub id or folder), module, or config with a model_type "
            f"(e.g. {{model_type: llama, hidden_size: 64}}), found none"
        )
    fields = dict(config)
    try:
        hf_config = pick_config(AutoConfig.for_model(fields.pop("model_type"), **fields))
        return AutoModel.from_config(hf_config)
    except (ValueError, KeyError, TypeError) as err:
        raise WMError(f"config key '{key}.config': not a transformers config ({str(err).splitlines()[0]})") from err


def describe(model: nn.Module) -> dict[str, Any]:
    """The full config of a transformers / diffusers ``model`` as JSON-able values (``_name_or_path`` records the origin)."""
    config = model.config
    return json.loads(json.dumps(config.to_dict() if hasattr(config, "to_dict") else dict(config)))


def set_trainable(module: nn.Module, trainable: bool) -> None:
    for param in module.parameters():
        param.requires_grad_(trainable)

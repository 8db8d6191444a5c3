"""LayerOutputCollector: forward hooks that keep the outputs of chosen layers, and remove themselves.

``hook_targets`` turns config specs (block indices, negative allowed, or dotted module names)
into the modules to hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from wm.core.errors import WMError


def _main_tensor(output: Any) -> torch.Tensor | None:
    """The tensor a layer produced: itself, the first tensor of a tuple, or ``last_hidden_state``."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        return next((item for item in output if isinstance(item, torch.Tensor)), None)
    return getattr(output, "last_hidden_state", None)


class LayerOutputCollector:
    """Keeps ``outputs[key]`` = the latest output of each target module (keys as given).

    Layers that return tuples (most transformer blocks) contribute their first tensor. Use it as a
    context manager, or call ``remove()`` (the outputs already kept stay readable); ``clear()``
    drops the kept tensors and the graphs they hold.
    """

    def __init__(self, targets: Mapping[str, nn.Module]) -> None:
        self.outputs: dict[str, torch.Tensor] = {}
        self._handles: list[RemovableHandle] = [
            module.register_forward_hook(self._hook(key)) for key, module in targets.items()
        ]
        self.keys = list(targets)

    def _hook(self, key: str):
        def keep(module: nn.Module, inputs: Any, output: Any) -> None:
            tensor = _main_tensor(output)
            if tensor is not None:
                self.outputs[key] = tensor

        return keep

    def clear(self) -> None:
        self.outputs = {}

    def remove(self) -> None:
        """Unregister every hook; the modules run as if never hooked."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> LayerOutputCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def find_layers(model: nn.Module) -> nn.ModuleList | None:
    """The list of transformer blocks: the ModuleList with ``num_hidden_layers`` entries, else the longest."""
    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m) > 0]
    expected = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    exact = [m for m in lists if len(m) == expected]
    if exact:
        return exact[0]
    return max(lists, key=len) if lists else None


def hook_targets(model: nn.Module, specs: list[Any], part: str) -> dict[str, nn.Module]:
    """``{"part.spec": module}`` for block indices (negative allowed) or dotted module names."""
    targets: dict[str, nn.Module] = {}
    layers = find_layers(model)
    for spec in specs:
        key = f"model.{part}.hook_layers"
        if isinstance(spec, int) and not isinstance(spec, bool):
            if layers is None:
                raise WMError(f"config key '{key}': {type(model).__name__} has no list of layers to index")
            if not -len(layers) <= spec < len(layers):
                raise WMError(f"config key '{key}': layer {spec} out of range for {len(layers)} layers")
            targets[f"{part}.{spec}"] = layers[spec]
        elif isinstance(spec, str):
            try:
                targets[f"{part}.{spec}"] = model.get_submodule(spec)
            except AttributeError as err:
                raise WMError(f"config key '{key}': {type(model).__name__} has no submodule '{spec}'") from err
        else:
            raise WMError(f"config key '{key}': expected layer indices or module names, found {spec!r}")
    return targets

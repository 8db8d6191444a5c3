"""LayerOutputCollector: forward hooks that keep the outputs of chosen layers, and remove themselves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


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

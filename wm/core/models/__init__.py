"""World model families behind one interface (``WorldModelBase``) and the factory that builds them."""

from __future__ import annotations

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.models.base import Imagined, WorldModelBase


def build_model(config: ModelConfig, spec: DataSpec) -> WorldModelBase:
    """A fresh model of family ``config.kind`` sized for ``spec``'s frames and actions."""
    if config.kind == "flexible":
        from wm.core.models.flexible import FlexibleWorldModel

        return FlexibleWorldModel(config, spec)
    from wm.core.models.world_model import WorldModel

    return WorldModel(config, spec)


__all__ = ["Imagined", "WorldModelBase", "build_model"]

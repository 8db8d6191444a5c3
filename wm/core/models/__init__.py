"""World model families behind one interface (``WorldModelBase``) and the factory that builds them.

Plug-in classes a config may name (``model.*.module``, ``model.manipulator``) come from the
registry in ``wm.core.models.backbones.registry``: ``register_module`` or the ``wm.modules``
entry-point group; an import path needs ``trust_remote_code=True``.
"""

from __future__ import annotations

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.models.backbones.registry import register_module, registered_names
from wm.core.models.base import Imagined, WorldModelBase
from wm.core.models.kind_keys import check_used


def build_model(config: ModelConfig, spec: DataSpec, *, trust_remote_code: bool = False) -> WorldModelBase:
    """A fresh model of family ``config.kind`` sized for ``spec``'s frames and actions.

    Keys that the kind does not read are refused (``kind_keys``); ``trust_remote_code`` lets
    plug-in keys be import paths. Built inside ``torch.device("meta")``, it allocates nothing.
    """
    check_used(config)
    if config.kind == "flexible":
        from wm.core.models.flexible import FlexibleWorldModel

        return FlexibleWorldModel(config, spec, trust_remote_code=trust_remote_code)
    from wm.core.models.world_model import WorldModel

    return WorldModel(config, spec)


__all__ = ["Imagined", "WorldModelBase", "build_model", "register_module", "registered_names"]

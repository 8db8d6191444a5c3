"""wm: action-conditioned world models.

``WorldModel`` and ``FlexibleWorldModel`` (both with ``from_pretrained``, ``save_pretrained`` and
``push_to_hub``) and the functions ``push_to_hub`` and ``create_from_pretrained`` are imported
lazily, so that ``import wm`` (and ``wm --help``) does not import torch.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

DISTRIBUTION = "wm-world-models"  # the name on PyPI ("wm" there is another project)

try:
    __version__ = metadata.version(DISTRIBUTION)
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

__all__ = ["__version__", "WorldModel", "FlexibleWorldModel", "push_to_hub", "create_from_pretrained"]


def __getattr__(name: str) -> Any:
    if name in ("push_to_hub", "create_from_pretrained"):
        from wm.core import hub

        return getattr(hub, name)
    if name == "WorldModel":
        from wm.core.models.world_model import WorldModel

        return WorldModel
    if name == "FlexibleWorldModel":
        from wm.core.models.flexible import FlexibleWorldModel

        return FlexibleWorldModel
    raise AttributeError(f"module 'wm' has no attribute {name!r}")

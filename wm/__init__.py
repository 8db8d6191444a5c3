"""wm: action-conditioned world models.

``push_to_hub`` and ``create_from_pretrained`` are imported lazily from ``wm.core.hub``.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

try:
    __version__ = metadata.version("wm")
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

__all__ = ["__version__", "push_to_hub", "create_from_pretrained"]


def __getattr__(name: str) -> Any:
    if name in ("push_to_hub", "create_from_pretrained"):
        from wm.core import hub

        return getattr(hub, name)
    raise AttributeError(f"module 'wm' has no attribute {name!r}")

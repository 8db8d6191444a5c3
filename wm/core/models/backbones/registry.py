"""Plug-in classes that a config may name: a registry the user controls, never code a file chooses.

The config keys ``model.vision.module``, ``model.backbone.module``, ``model.decoder.module`` and
``model.manipulator`` name a plug-in. A name resolves to, in this order:

1. a class registered in code: ``register_module("my_encoder", MyEncoder)`` or
   ``@register_module("my_encoder")`` on the class;
2. an entry point of the ``wm.modules`` group of an installed package
   (``[project.entry-points."wm.modules"] my_encoder = "my_pkg.mod:MyEncoder"``), loaded on demand;
3. an import path ``pkg.mod:Class``, only with ``trust_remote_code=True`` (``--trust-remote-code``),
   because importing a module runs its code.

Anything else is refused with one line that says how to allow it. The same rule holds when
training from a preset and when loading a checkpoint or Hub repo: a config never imports code
that the user did not register or explicitly trust on this command.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar

from torch import nn

from wm.core.errors import WMError

GROUP = "wm.modules"
NAME = re.compile(r"[A-Za-z_][\w.-]*")
_REGISTERED: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register_module(name: str, cls: T | None = None) -> T | Callable[[T], T]:
    """Register nn.Module subclass ``cls`` as plug-in ``name``; without ``cls``, a class decorator."""

    def add(cls: T) -> T:
        if not NAME.fullmatch(name):
            raise WMError(f"register_module: name '{name}' must be a plain name like 'my_encoder' (no ':' or spaces)")
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise WMError(f"register_module('{name}'): expected an nn.Module subclass, got {cls!r}")
        known = _REGISTERED.get(name)
        if known is not None and known is not cls:
            raise WMError(f"register_module('{name}'): already registered to {known.__module__}.{known.__qualname__}")
        _REGISTERED[name] = cls
        return cls

    return add if cls is None else add(cls)


def registered_names() -> list[str]:
    """Every plug-in name a config may use: registered in code or by an installed entry point."""
    return sorted({*_REGISTERED, *(point.name for point in entry_points(group=GROUP))})


def find_class(name: str, key: str, base: type, *, trust_remote_code: bool = False) -> type:
    """The plug-in class that ``name`` (the value of config key ``key``) stands for; a ``base`` subclass."""
    if name in _REGISTERED:
        cls = _REGISTERED[name]
    elif points := entry_points(group=GROUP, name=name):
        cls = _load_entry_point(next(iter(points)), key)
    elif ":" in name:
        if not trust_remote_code:
            raise WMError(
                f"config key '{key}': '{name}' is an import path, and importing it runs its code; "
                f"register the class (wm.core.models.register_module or a '{GROUP}' entry point), "
                f"or allow it with --trust-remote-code (trust_remote_code=True) if you trust this config"
            )
        cls = _import(name, key)
    else:
        known = ", ".join(registered_names()) or "none"
        raise WMError(
            f"config key '{key}': no plug-in '{name}' is registered (registered: {known}); register it with "
            f"wm.core.models.register_module('{name}', cls) or a '{GROUP}' entry point"
        )
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise WMError(f"config key '{key}': '{name}' is not a subclass of {base.__module__}.{base.__name__}")
    return cls


def build_plugin(name: str, kwargs: dict[str, Any], base: type, key: str, *args: Any, trust_remote_code: bool = False) -> Any:
    """``find_class(name, ...)(*args, **kwargs)``; a constructor that rejects the kwargs is one line."""
    cls = find_class(name, key, base, trust_remote_code=trust_remote_code)
    try:
        return cls(*args, **kwargs)
    except TypeError as err:
        raise WMError(f"config key '{key}': {name}({', '.join(kwargs)}) failed: {err}") from err


def _load_entry_point(point: Any, key: str) -> Any:
    try:
        return point.load()
    except (ImportError, AttributeError) as err:
        raise WMError(f"config key '{key}': entry point '{point.name}' ({point.value}) cannot be loaded ({err})") from err


def _import(path: str, key: str) -> Any:
    """The object an import path ``pkg.mod:Name`` names."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise WMError(f"config key '{key}': expected an import path like 'my_pkg.module:Class', found '{path}'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise WMError(f"config key '{key}': cannot import module '{module_name}' ({err})") from err
    try:
        return getattr(module, attr)
    except AttributeError as err:
        raise WMError(f"config key '{key}': module '{module_name}' has no '{attr}'") from err

"""Build a typed ``Config`` from presets and ``key=value`` overrides.

Resolution order: dataclass defaults, then each preset left to right (a preset may
name another with ``extends:``), then the overrides. Every key and value is checked
against the dataclass types; a mistake names the key and the closest valid one. An override
of a ``str`` field keeps the text as written (``run.name=1e3`` and ``run.name=no`` are names);
other fields get the value parsed as YAML (``train.lr=1e-3`` a float, ``train.compile=true`` a bool).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from wm.core.config.schema import Config
from wm.core.errors import ConfigError, WMError


def preset_dir() -> Path:
    """The folder of shipped presets: inside the wheel, or top-level in a source tree."""
    package = Path(__file__).resolve().parents[2]
    for candidate in (package / "presets", package.parent / "presets"):
        if candidate.is_dir():
            return candidate
    raise WMError(f"presets folder not found next to {package}; reinstall wm")


def preset_names() -> list[str]:
    return sorted(p.stem for p in preset_dir().glob("*.yaml"))


def _preset_file(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"preset file {path} does not exist")
        return path
    shipped = preset_dir() / f"{name_or_path}.yaml"
    if not shipped.is_file():
        names = preset_names()
        close = difflib.get_close_matches(name_or_path, names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown preset '{name_or_path}' (available: {', '.join(names)}){hint}")
    return shipped


def _read_preset(name_or_path: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """A preset's values with its ``extends:`` chain merged underneath."""
    file = _preset_file(name_or_path)
    if str(file) in seen:
        raise ConfigError(f"preset {file}: 'extends' forms a cycle through {', '.join(seen)}")
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"preset {file}: not valid YAML ({str(err).splitlines()[0]})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"preset {file}: expected a mapping of keys, found {type(data).__name__}")
    parents = data.pop("extends", None) or []
    merged: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        ref = parent if Path(parent).is_absolute() or parent in preset_names() else str(file.parent / parent)
        merged = deep_merge(merged, _read_preset(ref, seen + (str(file),)))
    return deep_merge(merged, data)


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``; nested mappings merge, everything else replaces."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_override(text: str) -> dict[str, Any]:
    """``a.b=value`` -> ``{"a": {"b": value}}`` with the value parsed as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override '{text}': expected key=value, e.g. train.lr=3e-4")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str) and raw.strip() and _looks_numeric(raw):
        value = float(raw)
    nested: dict[str, Any] = {}
    cursor = nested
    parts = key.split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return nested


def _looks_numeric(raw: str) -> bool:
    try:
        float(raw)
    except ValueError:
        return False
    return True


def load_config(
    presets: typing.Sequence[str] = (),
    overrides: typing.Sequence[str] = (),
    base: dict[str, Any] | None = None,
) -> Config:
    """Resolve defaults <- ``base`` <- presets (left to right) <- overrides into a checked Config.

    Every mistake is a ``ConfigError`` (a usage error); ``config_from_dict`` raises plain WMErrors,
    as it also checks configs stored in checkpoints."""
    merged: dict[str, Any] = dict(base or {})
    for name in presets or ["default"]:
        merged = deep_merge(merged, _read_preset(name))
    for text in overrides:
        merged = deep_merge(merged, parse_override(text))
    try:
        return config_from_dict(merged, override_texts(overrides))
    except WMError as err:  # a key or value the command line gave: a usage error
        raise ConfigError(str(err)) from err


def override_texts(overrides: typing.Sequence[str]) -> dict[str, str]:
    """``{"a.b": "value as written"}`` of ``a.b=value`` overrides; a later override of a key or of a
    section above it replaces the earlier texts."""
    texts: dict[str, str] = {}
    for key, _, raw in (text.partition("=") for text in overrides):
        texts = {k: v for k, v in texts.items() if not k.startswith(key + ".")}
        texts[key] = raw
    return texts


def config_from_dict(data: dict[str, Any], texts: dict[str, str] | None = None) -> Config:
    """Check ``data`` against the schema and build a Config (unset keys keep defaults).

    ``texts`` (see ``override_texts``): the values of overridden keys as written, which a ``str``
    field takes instead of their YAML reading, so ``run.name=no`` is the name "no", not False.
    """
    return _build(Config, data, "", texts or {})


def config_to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_to_yaml(config: Any) -> str:
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)


def _build(cls: type, data: Any, prefix: str, texts: dict[str, str]) -> Any:
    where = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        raise WMError(f"config key '{where}': expected a mapping, found {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            valid = closest_key(str(key), names)
            raise WMError(f"unknown config key '{prefix}{key}'; closest valid key: '{prefix}{valid}'")
        kwargs[key] = _coerce(value, hints[key], f"{prefix}{key}", texts)
    return cls(**kwargs)


def closest_key(key: str, names: list[str]) -> str:
    """The name in ``names`` nearest to ``key``: the same up to case, the initials of its words
    (``learning_rate`` -> ``lr``), else the most similar spelling."""
    lowered = {name.lower(): name for name in names}
    initials = "".join(word[0] for word in key.lower().split("_") if word)
    for candidate in (key.lower(), initials):
        if candidate in lowered:
            return lowered[candidate]
    return difflib.get_close_matches(key, names, n=1, cutoff=0.0)[0]


def _coerce(value: Any, tp: Any, key: str, texts: dict[str, str]) -> Any:
    """Return ``value`` as type ``tp`` or raise a WMError naming ``key`` (``texts``: see ``config_from_dict``)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key + ".", texts)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, key, texts)
            except WMError as err:
                errors.append(err)
        raise errors[0]
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise WMError(f"config key '{key}': expected one of {choices}, found {value!r}")
        return value
    if origin is list:
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            raise WMError(f"config key '{key}': expected a list like [a, b], found {value!r}")
        return [_coerce(v, args[0], f"{key}[{i}]", texts) for i, v in enumerate(value)] if args else value
    if origin is dict:
        if not isinstance(value, dict):
            raise WMError(f"config key '{key}': expected a mapping, found {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if key in texts and not isinstance(value, str):
            return texts[key]
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise WMError(f"config key '{key}': expected {getattr(tp, '__name__', tp)}, found {value!r}")


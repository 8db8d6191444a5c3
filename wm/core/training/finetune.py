"""Start a model from pretrained weights: check what still fits the new data, re-initialise on request, freeze.

A part "no longer fits" when one of its weights changed shape, which happens when the new data
has a different action count (action inputs) or image size (CNN stages). Such parts are named in
the error together with the ``finetune.reinit_modules=[...]`` that would re-initialise just them.
"""

from __future__ import annotations

import torch

from wm.core.checkpoint import Checkpoint
from wm.core.config import Config
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.models.base import WorldModelBase
from wm.core.models.fit import weight_misfit


def part_prefixes(model: WorldModelBase) -> dict[str, str]:
    """Named part (``module_names``) -> the state_dict prefix of its weights, e.g. ``"encoder."``."""
    qualified = {id(module): name for name, module in model.named_modules()}
    return {part: f"{qualified[id(model.get_module(part))]}." for part in model.module_names()}


def owner(key: str, prefixes: dict[str, str]) -> str:
    """The part a state_dict key belongs to (its first component when outside every part)."""
    return next((part for part, prefix in prefixes.items() if key.startswith(prefix)), key.split(".")[0])


def misfits(model: WorldModelBase, weights: dict[str, torch.Tensor]) -> dict[str, list[str]]:
    """Parts whose weights differ in shape, are missing from ``weights`` or extra in it: part -> keys."""
    prefixes = part_prefixes(model)
    bad = [key for keys in weight_misfit(model.state_dict(), weights).values() for key in keys]
    found: dict[str, list[str]] = {}
    for key in bad:
        found.setdefault(owner(key, prefixes), []).append(key)
    return found


def _data_changes(old: DataSpec, new: DataSpec) -> str:
    changes = []
    if (old.num_actions, old.action_kind) != (new.num_actions, new.action_kind):
        changes.append(f"actions {old.num_actions} {old.action_kind} -> {new.num_actions} {new.action_kind}")
    if (old.height, old.width, old.channels) != (new.height, new.width, new.channels):
        changes.append(
            f"frames {old.channels}x{old.height}x{old.width} -> {new.channels}x{new.height}x{new.width}"
        )
    if old.state_size != new.state_size:
        changes.append(f"state_size {old.state_size} -> {new.state_size}")
    return "; ".join(changes) or "model config differs"


def load_pretrained(model: WorldModelBase, pretrained: Checkpoint, reinit: list[str], source: str) -> None:
    """Copy ``pretrained``'s weights into ``model`` except the ``reinit`` parts, which keep their fresh init.

    Parts of ``pretrained`` that ``model`` has not at all (a state vector's, on data without states) are left out.
    """
    for name in reinit:
        model.get_module(name)  # raises a WMError naming the valid parts
    own = model.state_dict()
    bad = {
        part: keys for part, keys in misfits(model, pretrained.model).items()
        if part not in reinit and any(key in own for key in keys)
    }  # fmt: skip
    if bad:
        detail = ", ".join(f"{part} ({keys[0]}{' ...' if len(keys) > 1 else ''})" for part, keys in bad.items())
        parts = ",".join(sorted(set(bad) | set(reinit)))
        raise WMError(
            f"pretrained {source} does not fit the new data ({_data_changes(pretrained.spec, model.spec)}): "
            f"{detail} no longer fit; set finetune.reinit_modules=[{parts}] to re-initialise just those"
        )
    prefixes = part_prefixes(model)
    weights = {k: (own[k] if owner(k, prefixes) in reinit else pretrained.model[k]) for k in own}
    model.load_state_dict(weights, strict=True)


def freeze(model: WorldModelBase, config: Config) -> None:
    """Freeze ``finetune.freeze_modules`` (their parameters get no gradients and no optimizer state)."""
    for name in config.finetune.freeze_modules:
        model.freeze_module(name)


def pretrained_overrides(pretrained: Checkpoint) -> dict[str, object]:
    """The config a finetune run starts from: the pretrained model's architecture and image size."""
    return {"model": pretrained.config["model"], "data": {"image_size": pretrained.config["data"]["image_size"]}}

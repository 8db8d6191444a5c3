"""What goes up to the Hub names no local path: no home folder, no user name, no absolute path.

A resolved config carries the paths of the run that made it (``data.path``, ``run.dir``,
``finetune.pretrained_path``, a pretrained part's ``_name_or_path``). Before publishing, those
three keys keep only their last component (a Hub id in ``finetune.pretrained_path`` and an
``hf://`` reference such as ``data.path=hf://datasets/USER/NAME`` are kept), and
any other string that is an absolute path, starts with ``~`` or contains the home folder is
reduced to its last component too.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Any

from wm.core.checkpoint import Checkpoint
from wm.core.hub.ids import HUB_ID, HUB_SCHEME

PATH_KEYS = (("data", "path"), ("run", "dir"), ("finetune", "pretrained_path"))


def public_checkpoint(checkpoint: Checkpoint) -> Checkpoint:
    """A copy of ``checkpoint`` fit to publish: config and training state without local paths."""
    config = public_value(checkpoint.config)
    for section, key in PATH_KEYS:
        value = config.get(section, {}).get(key)
        if not isinstance(value, str) or value.startswith(HUB_SCHEME):
            continue
        if not (key == "pretrained_path" and HUB_ID.fullmatch(value) and ".." not in value):
            config[section][key] = PurePath(value).name
    training = public_value(checkpoint.training) if checkpoint.training is not None else None
    return Checkpoint(config, checkpoint.spec, checkpoint.model, checkpoint.context, training)


def public_value(value: Any) -> Any:
    """``value`` rebuilt with every string that names a local path reduced to its last component."""
    if isinstance(value, dict):
        return {key: public_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(public_value(item) for item in value)
    if isinstance(value, str) and _local_path(value):
        return PurePath(value).name
    return value


def _local_path(text: str) -> bool:
    home = str(Path.home())
    return os.path.isabs(text) or text.startswith("~") or (home not in ("/", "") and home in text)

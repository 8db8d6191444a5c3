"""Continue a run: its newest checkpoint, its saved config and the overrides allowed on top.

The run is a run folder (runs/NAME) or a Hub-format folder pulled with its training state
(``wm hub pull -o DIR --include-training-state``), which then becomes the run folder.

Overrides that would change the model (``model.*``, ``data.image_size``) are refused: the saved
weights would no longer fit. Anything else may change, e.g. a larger ``train.epochs`` extends a
finished run, a new ``data.path`` follows moved data. A run killed before its first checkpoint was
complete has only its config.yaml: it continues from step 0 (no checkpoint is returned).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from wm.core.checkpoint import Checkpoint, load_checkpoint
from wm.core.config import Config, config_from_dict
from wm.core.config.loader import deep_merge, override_texts, parse_override
from wm.core.errors import WMError
from wm.core.hub.format import is_hub_folder, read_folder
from wm.core.training.run_folder import RunFolder

FIXED = ("model", "data.image_size")


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def resume_run(run_dir: str | Path, overrides: Sequence[str] = ()) -> tuple[Config, Checkpoint | None]:
    """The config to continue ``run_dir`` with and the checkpoint to continue from (None: from step 0)."""
    path = Path(run_dir)
    folder = RunFolder(path)
    found = folder.newest_checkpoint()
    checkpoint = None
    if found is not None:
        checkpoint = load_checkpoint(found)
    elif is_hub_folder(path):  # pulled with --include-training-state: continues into this folder
        checkpoint = read_folder(path)
    saved = checkpoint.config if checkpoint is not None else folder.saved_config()
    if saved is None:
        raise WMError(f"--resume {path}: not a run folder (expected runs/NAME with config.yaml and checkpoints/)")
    if checkpoint is not None and checkpoint.training is None:
        raise WMError(f"--resume {path}: its checkpoint holds weights only, no training state to continue")
    updates = [(text, parse_override(text)) for text in overrides]
    merged = dict(saved)
    for _, update in updates:
        merged = deep_merge(merged, update)
    config = config_from_dict(merged, override_texts(overrides))  # unknown keys and bad values are named first
    flat_saved = _flatten(saved)
    for text, update in updates:
        for key, value in _flatten(update).items():
            fixed = any(key == f or key.startswith(f + ".") for f in FIXED)
            if fixed and flat_saved.get(key) != value:
                raise WMError(
                    f"override '{text}': {key} would change the model of run {path}; "
                    f"a resumed run keeps its model (start a new run or use `wm finetune`)"
                )
    config.run.dir, config.run.name = str(path.parent), path.name
    return config, checkpoint

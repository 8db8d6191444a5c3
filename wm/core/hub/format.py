"""The on-Hub format: a folder of plain files that rebuilds a ``Checkpoint`` without unpickling.

    config.json                  {"format": "wm-hub", "format_version", "wm_version", "model_kind",
                                  "spec": DataSpec facts (frame size, action count and names, ...),
                                  "config": the resolved Config, "evaluation": optional results}
    model.safetensors            the model's state_dict
    context.safetensors          a few context clips: frames uint8 (K, T, C, H, W), actions (K, T[, A]),
                                 states float32 (K, T, S) for a model with a state vector
    README.md, sample.gif        the model card and its sample rollout (written by wm.core.hub.card)
    training_state.safetensors   optional (--include-training-state): optimizer, scheduler, RNG tensors
    training_state.json          optional: the rest of the training state, see wm.core.hub.state
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from wm.core.checkpoint import Checkpoint
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.hub.state import join_state, split_state

FORMAT = "wm-hub"
VERSION = 1
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CONTEXT = "context.safetensors"
CARD = "README.md"
SAMPLE = "sample.gif"
TRAINING_TENSORS = "training_state.safetensors"
TRAINING_JSON = "training_state.json"
INFERENCE_FILES = (CONFIG, WEIGHTS, CONTEXT, CARD, SAMPLE)
TRAINING_FILES = (TRAINING_TENSORS, TRAINING_JSON)


def is_hub_folder(path: Path) -> bool:
    """Whether ``path`` is a folder in this format (a pulled or downloaded Hub repo)."""
    return (path / CONFIG).is_file() and (path / WEIGHTS).is_file()


def write_folder(
    checkpoint: Checkpoint,
    folder: Path,
    *,
    include_training_state: bool = False,
    evaluation: dict[str, Any] | None = None,
) -> list[str]:
    """Write config, weights, context (and training state when asked) into ``folder``; the file names."""
    from wm import __version__

    config = {
        "format": FORMAT,
        "format_version": VERSION,
        "wm_version": __version__,
        "model_kind": checkpoint.config.get("model", {}).get("kind", "rssm"),
        "spec": checkpoint.spec.to_dict(),
        "config": checkpoint.config,
    }
    if evaluation:
        config["evaluation"] = evaluation
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    save_file(_plain(checkpoint.model), folder / WEIGHTS, metadata={"format": "pt"})
    written = [CONFIG, WEIGHTS]
    if checkpoint.context:
        save_file(_plain(checkpoint.context), folder / CONTEXT, metadata={"format": "pt"})
        written.append(CONTEXT)
    if include_training_state:
        if not checkpoint.training:
            raise WMError("--include-training-state: this checkpoint holds no training state (optimizer, step)")
        tensors, skeleton = split_state(checkpoint.training)
        save_file(_plain(tensors), folder / TRAINING_TENSORS)
        (folder / TRAINING_JSON).write_text(json.dumps(skeleton) + "\n")
        written += list(TRAINING_FILES)
    return written


def read_config(folder: Path, source: str) -> dict[str, Any]:
    """config.json of a wm Hub folder, checked; ``source`` names the repo or folder in errors."""
    path = folder / CONFIG
    if not path.is_file():
        raise WMError(f"{source}: not a wm model (no {CONFIG}; expected a repo made by `wm hub push`)")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise WMError(f"{source}: {CONFIG} is not valid JSON ({err})") from err
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise WMError(
            f"{source}: not a wm model ({CONFIG} has format {found!r}, expected '{FORMAT}'; "
            f"push one with `wm hub push`)"
        )
    if config.get("format_version", 0) > VERSION:
        raise WMError(
            f"{source}: format version {config['format_version']} is newer than this wm supports "
            f"({VERSION}); upgrade wm"
        )
    missing = [key for key in ("spec", "config") if key not in config]
    if missing:
        raise WMError(f"{source}: {CONFIG} is missing field(s) {', '.join(missing)}")
    return config


def read_folder(folder: Path, source: str | None = None) -> Checkpoint:
    """The checkpoint a folder in this format holds (training state included when present)."""
    source = source or str(folder)
    config = read_config(folder, source)
    if not (folder / WEIGHTS).is_file():
        raise WMError(f"{source}: {WEIGHTS} is missing (an interrupted download? pull it again)")
    training = None
    if all((folder / name).is_file() for name in TRAINING_FILES):
        skeleton = json.loads((folder / TRAINING_JSON).read_text())
        training = join_state(_load(folder / TRAINING_TENSORS, source), skeleton)
    return Checkpoint(
        config=config["config"],
        spec=DataSpec.from_dict(config["spec"]),
        model=_load(folder / WEIGHTS, source),
        context=_load(folder / CONTEXT, source) if (folder / CONTEXT).is_file() else {},
        training=training,
    )


def _load(path: Path, source: str) -> dict[str, torch.Tensor]:
    try:
        return load_file(path)
    except (SafetensorError, OSError) as err:
        raise WMError(f"{source}: {path.name} is truncated or not a safetensors file ({err})") from err


def _plain(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU, contiguous tensors that share no memory, as safetensors requires."""
    out: dict[str, torch.Tensor] = {}
    storages: set[int] = set()
    for key, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        pointer = tensor.untyped_storage().data_ptr()
        if pointer in storages and tensor.numel():
            tensor = tensor.clone()
        storages.add(tensor.untyped_storage().data_ptr())
        out[key] = tensor
    return out

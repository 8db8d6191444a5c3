"""Turn a MODEL reference (as every command takes it) into a ready model: the one place it happens.

A MODEL is a checkpoint file, a run folder, a pulled Hub folder or a Hub id ``user/name[@rev]``.
"""

from __future__ import annotations

from pathlib import Path

from wm.core.checkpoint import Checkpoint, load_checkpoint
from wm.core.config import config_from_dict
from wm.core.errors import WMError
from wm.core.models import WorldModelBase, build_model


def model_from_checkpoint(checkpoint: Checkpoint) -> WorldModelBase:
    """Rebuild the model a checkpoint describes and load its weights (strictly)."""
    config = config_from_dict(checkpoint.config)
    model = build_model(config.model, checkpoint.spec)
    misfit = _weight_misfit(model.state_dict(), checkpoint.model)
    if misfit:
        raise WMError(
            f"checkpoint weights do not fit the {config.model.kind} model its config describes ({misfit}); "
            f"it was probably written by another version of wm"
        )
    model.load_state_dict(checkpoint.model, strict=True)
    return model.eval()


def _weight_misfit(expected: dict, found: dict) -> str:
    """A short account of missing, unexpected and wrongly shaped weights; "" when they fit."""
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    reshaped = [key for key in expected if key in found and found[key].shape != expected[key].shape]
    parts = [
        f"{label} {len(keys)}: {', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", reshaped))
        if keys
    ]
    return "; ".join(parts)


def resolve_checkpoint(ref: str, revision: str | None = None, *, hub: bool = False) -> Checkpoint:
    """Load the checkpoint behind ``ref``.

    An existing local path is a checkpoint file, a run folder (its checkpoints/last.pt, else
    final.pt) or a folder in the Hub format (config.json + model.safetensors, e.g. from
    ``wm hub pull -o``). Anything else, or any ``ref`` when ``hub`` is set, is a Hub id
    ``user/name[@revision]``, fetched through the Hugging Face cache; ``revision`` pins it too.
    """
    from wm.core.hub.ids import looks_like_hub_id

    path = Path(ref)
    if not hub and (path.exists() or not looks_like_hub_id(ref)):
        if revision:
            raise WMError(f"{ref}: a revision applies to Hub ids, not to a local path")
        return local_checkpoint(path)
    from wm.core.hub.api import download
    from wm.core.hub.format import read_folder

    return read_folder(download(ref, revision), source=ref)


def local_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint in a local file, run folder or Hub-format folder (a run's checkpoints come first)."""
    from wm.core.hub.format import is_hub_folder, read_folder

    if not path.exists():
        raise WMError(f"{path}: no such checkpoint file or folder (nor a Hub id user/name[@revision])")
    if path.is_dir():
        candidates = [path / "checkpoints" / "last.pt", path / "checkpoints" / "final.pt"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None and is_hub_folder(path):
            return read_folder(path)
        if found is None:
            raise WMError(
                f"{path}: no checkpoint found (looked for {', '.join(str(c) for c in candidates)} "
                "and for a pulled Hub folder with config.json + model.safetensors)"
            )
        path = found
    return load_checkpoint(path)


def load_model(ref: str, revision: str | None = None, *, hub: bool = False) -> tuple[WorldModelBase, Checkpoint]:
    """The model and checkpoint behind a MODEL argument (see ``resolve_checkpoint``)."""
    checkpoint = resolve_checkpoint(ref, revision, hub=hub)
    return model_from_checkpoint(checkpoint), checkpoint

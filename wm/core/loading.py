"""Turn a MODEL reference (as every command takes it) into a ready model: the one place it happens."""

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
    try:
        model.load_state_dict(checkpoint.model, strict=True)
    except RuntimeError as err:
        raise WMError(f"checkpoint weights do not fit the model they describe: {str(err).splitlines()[0]}") from err
    return model.eval()


def resolve_checkpoint(ref: str) -> Checkpoint:
    """Load the checkpoint behind ``ref``: a checkpoint file or a run folder."""
    path = Path(ref)
    if path.is_dir():
        last = path / "checkpoints" / "last.pt"
        candidates = [last, path / "checkpoints" / "final.pt"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise WMError(f"{path}: no checkpoint found (looked for {', '.join(str(c) for c in candidates)})")
        path = found
    return load_checkpoint(path)


def load_model(ref: str) -> tuple[WorldModelBase, Checkpoint]:
    """The model and checkpoint behind a MODEL argument."""
    checkpoint = resolve_checkpoint(ref)
    return model_from_checkpoint(checkpoint), checkpoint

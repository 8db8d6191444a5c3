"""Turn a MODEL reference (as every command takes it) into a ready model: the one place it happens.

A MODEL is a checkpoint file, a run folder, a pulled Hub folder or a Hub id ``user/name[@rev]``;
a reference that names a local path never goes to the Hub, ``hf://user/name`` (or ``hub=True``)
forces the Hub (see ``wm.core.hub.ids``). A loaded model may come from a stranger, so loading
imports no code the config names unless it is a registered plug-in (or ``trust_remote_code``),
downloads nothing the config names (pretrained parts are rebuilt from the stored config), refuses
keys its model kind does not read, and compares the weights with a meta-device build of the
config before allocating the model. Downloads are reported through ``log`` (default: the ``wm``
logger at INFO).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from wm.core.checkpoint import Checkpoint, load_checkpoint
from wm.core.config import config_from_dict
from wm.core.config.schema import ModelConfig
from wm.core.errors import WMError
from wm.core.models import WorldModelBase, build_model
from wm.core.models.fit import count, summary, weight_misfit

Log = Callable[[str], None]
PRETRAINED_PARTS = ("vision", "backbone", "decoder")


def stored_model_config(checkpoint: Checkpoint, source: str = "checkpoint") -> ModelConfig:
    """The model config of a checkpoint, refused when a pretrained part names something to fetch.

    wm writes a checkpoint's pretrained parts as their full config (``name_or_path`` emptied), so a
    ``name_or_path`` in a stored config can only make loading download what the user did not name.
    """
    config = config_from_dict(checkpoint.config).model
    for part in PRETRAINED_PARTS:
        name = getattr(config, part).name_or_path
        if name:
            raise WMError(
                f"{source}: config key 'model.{part}.name_or_path' is '{name}', but a stored model is rebuilt "
                f"offline from model.{part}.config and never fetches what its config names (wm never writes this)"
            )
    return config


def check_checkpoint(checkpoint: Checkpoint, *, trust_remote_code: bool = False, source: str = "checkpoint") -> ModelConfig:
    """Check that a checkpoint's config builds a model its weights fit, allocating nothing; its model config.

    The model is built on the meta device (plug-ins resolved, unused keys refused) and the names
    and shapes of its weights compared with ``checkpoint.model``.
    """
    config = stored_model_config(checkpoint, source)
    with torch.device("meta"):
        shell = build_model(config, checkpoint.spec, trust_remote_code=trust_remote_code)
    expected = shell.state_dict()
    misfit = weight_misfit(expected, checkpoint.model)
    if misfit:
        raise WMError(
            f"{source}: its config describes a {config.kind} model of {count(expected):,} weights, the checkpoint "
            f"holds {count(checkpoint.model):,} that do not fit ({summary(misfit)}); refused before building it "
            f"(a damaged file, or one written by another version of wm)"
        )
    return config


def model_from_checkpoint(
    checkpoint: Checkpoint, *, trust_remote_code: bool = False, source: str = "checkpoint"
) -> WorldModelBase:
    """Rebuild the model a checkpoint describes (checked first, see ``check_checkpoint``) with its weights."""
    config = check_checkpoint(checkpoint, trust_remote_code=trust_remote_code, source=source)
    model = build_model(config, checkpoint.spec, trust_remote_code=trust_remote_code)
    model.load_state_dict(checkpoint.model, strict=True)
    return model.eval()


def resolve_checkpoint(ref: str, revision: str | None = None, *, hub: bool = False, log: Log | None = None) -> Checkpoint:
    """Load the checkpoint behind ``ref``.

    A reference that names a local path (``wm.core.hub.ids.names_local_path``) is a checkpoint
    file, a run folder (its checkpoints/last.pt, else final.pt) or a folder in the Hub format
    (config.json + model.safetensors, e.g. from ``wm hub pull -o``), and a missing one is an
    error, never a Hub lookup. Otherwise, or with ``hub`` or an ``hf://`` prefix, ``ref`` is a
    Hub id ``user/name[@revision]``, fetched through the Hugging Face cache (said through ``log``).
    """
    from wm.core.hub.ids import HUB_SCHEME, names_local_path

    if not hub and names_local_path(ref):
        if revision:
            raise WMError(f"{ref}: a revision applies to Hub ids, not to a local path")
        return local_checkpoint(Path(ref).expanduser())
    from wm.core.hub.api import download
    from wm.core.hub.format import read_folder

    return read_folder(download(ref, revision, log=log), source=ref.removeprefix(HUB_SCHEME))


def local_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint in a local file, run folder or Hub-format folder (a run's checkpoints come first)."""
    from wm.core.hub.format import is_hub_folder, read_folder

    if not path.exists():
        raise WMError(
            f"{path}: no such checkpoint file or folder (a MODEL that looks like a path is never looked up "
            "on the Hub; for a Hub id write hf://user/name or pass --hub)"
        )
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


def load_model(
    ref: str, revision: str | None = None, *, hub: bool = False, trust_remote_code: bool = False, log: Log | None = None
) -> tuple[WorldModelBase, Checkpoint]:
    """The model and checkpoint behind a MODEL argument (see ``resolve_checkpoint``, ``model_from_checkpoint``).

    ``trust_remote_code`` lets the config's plug-in keys be import paths, whose code then runs.
    """
    checkpoint = resolve_checkpoint(ref, revision, hub=hub, log=log)
    return model_from_checkpoint(checkpoint, trust_remote_code=trust_remote_code, source=ref), checkpoint

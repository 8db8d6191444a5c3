"""The on-disk checkpoint: self-describing, atomic to write, never unpickles code to read.

A checkpoint is one ``torch.save`` file holding only tensors and JSON-able values:

    format: "wm-checkpoint", version: 1, wm_version
    config: the resolved Config as a dict (rebuilds the model with no flags)
    spec: DataSpec as a dict (frame shape, action count and names)
    model: state_dict
    context: {"frames": uint8 (K, T, C, H, W), "actions": (K, T[, A])[, "states": float32 (K, T, S)]}
             short clips for rollout/play (states when the model reads a state vector, spec.state_size = S)
    training: optional {"step", "epoch", "optimizer", "scheduler", "rng", ...} for exact resume

It is read with ``torch.load(weights_only=True)``: anything else is refused unread.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.files import atomic_path

FORMAT = "wm-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    config: dict[str, Any]
    spec: DataSpec
    model: dict[str, torch.Tensor]
    context: dict[str, torch.Tensor] = field(default_factory=dict)
    training: dict[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        from wm import __version__

        return {
            "format": FORMAT,
            "version": VERSION,
            "wm_version": __version__,
            "config": self.config,
            "spec": self.spec.to_dict(),
            "model": self.model,
            "context": self.context,
            "training": self.training,
        }


def save_checkpoint(path: str | Path, checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically: a temporary file, fsync, rename, fsync of the folder
    (``wm.core.files.atomic_path``), so a crash at any instant leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(checkpoint.to_payload(), tmp)
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint; a foreign, truncated or code-carrying file raises WMError."""
    path = Path(path)
    if not path.is_file():
        raise WMError(f"checkpoint {path} does not exist")
    with path.open("rb") as handle:
        magic = handle.read(2)
    if magic != b"PK" and magic[:1] != b"\x80":  # neither torch's zip format nor a raw pickle
        raise WMError(f"checkpoint {path}: truncated or not a torch file (it starts with {magic!r})")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise WMError(
            f"checkpoint {path}: refused, it holds Python objects beyond tensors and plain values "
            f"(only wm checkpoints are loaded, and never by running pickled code)"
        ) from err
    except Exception as err:  # torch's reader fails in many ways on foreign bytes (IndexError, KeyError, ...)
        raise WMError(f"checkpoint {path}: truncated or not a torch file ({str(err).splitlines()[0]})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WMError(f"checkpoint {path}: not a wm checkpoint (expected format '{FORMAT}')")
    if payload.get("version", 0) > VERSION:
        raise WMError(
            f"checkpoint {path}: format version {payload['version']} is newer than this wm supports ({VERSION}); upgrade wm"
        )
    missing = [key for key in ("config", "spec", "model") if key not in payload]
    if missing:
        raise WMError(f"checkpoint {path}: missing field(s) {', '.join(missing)}")
    return Checkpoint(
        config=payload["config"],
        spec=DataSpec.from_dict(payload["spec"]),
        model=payload["model"],
        context=payload.get("context") or {},
        training=payload.get("training"),
    )

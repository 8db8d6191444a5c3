"""The run folder: runs/NAME/{config.yaml, metrics.jsonl, samples/, checkpoints/} (tensorboard/, wandb/ with those loggers).

``checkpoints/last.pt`` is a relative symlink to the newest checkpoint, replaced atomically
(a new link under a temporary name, then renamed: ``wm.core.files.atomic_path``) so it never dangles mid-update.

A run killed at any instant (SIGKILL, power loss) leaves complete files under their names and at
most some temporary files of unfinished writes: those are ignored and removed when the folder is
opened again, and a run with no complete checkpoint starts again from step 0.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import yaml

from wm.core.config import Config, config_to_yaml
from wm.core.errors import WMError
from wm.core.files import atomic_path, remove_leftovers, write_text_atomic

LAST = "last.pt"


def default_run_name(data_path: str | None) -> str:
    """``<data file stem>-<YYYYmmdd-HHMMSS>``; ``builtin`` when training on the built-in source."""
    stem = Path(data_path).stem if data_path else "builtin"
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


class RunFolder:
    """Paths of one run and the few writes that belong to the folder itself."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config_file = self.path / "config.yaml"
        self.metrics_file = self.path / "metrics.jsonl"
        self.samples = self.path / "samples"
        self.tensorboard = self.path / "tensorboard"
        self.checkpoints = self.path / "checkpoints"
        self.last = self.checkpoints / LAST

    @classmethod
    def for_config(cls, config: Config) -> RunFolder:
        name = config.run.name or default_run_name(config.data.path)
        return cls(Path(config.run.dir) / name)

    def create(self, config: Config, *, resume: bool = False, note: str = "") -> None:
        """Make the folders and write config.yaml (``note`` as a comment line above it, e.g. what
        ``auto`` settings chose here), dropping what killed writes left; a fresh run refuses a folder
        that has complete checkpoints."""
        if not resume and self.checkpoint_files():
            raise WMError(
                f"run folder {self.path} already holds checkpoints; continue it with "
                f"`wm train --resume {self.path}` or choose another run.name"
            )
        for folder in (self.path, self.samples, self.checkpoints):
            remove_leftovers(folder)
        self.path.mkdir(parents=True, exist_ok=True)
        comment = "".join(f"# {line}\n" for line in note.splitlines())
        write_text_atomic(self.config_file, comment + config_to_yaml(config))  # first: a folder with files has its config
        self.samples.mkdir(exist_ok=True)
        self.checkpoints.mkdir(exist_ok=True)

    def saved_config(self) -> dict[str, Any] | None:
        """The config.yaml the run was started with, as a dict; None when it was never written."""
        if not self.config_file.is_file():
            return None
        data = yaml.safe_load(self.config_file.read_text())
        if not isinstance(data, dict):
            raise WMError(f"{self.config_file}: expected a mapping of config keys (written by wm train)")
        return data

    def checkpoint_files(self) -> list[Path]:
        """The complete checkpoints in checkpoints/ (not ``last.pt``, not temporary files)."""
        if not self.checkpoints.is_dir():
            return []
        return sorted(
            p for p in self.checkpoints.glob("*.pt")
            if not p.name.startswith(".") and p.name != LAST and p.is_file() and not p.is_symlink()
        )  # fmt: skip

    def epoch_checkpoint(self, epoch: int) -> Path:
        return self.checkpoints / f"epoch_{epoch}.pt"

    def step_checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step_{step}.pt"

    def final_checkpoint(self) -> Path:
        return self.checkpoints / "final.pt"

    def link_last(self, target: Path) -> None:
        """Point ``last.pt`` at ``target`` (a file in checkpoints/) atomically."""
        with atomic_path(self.last) as tmp:
            tmp.unlink()  # the helper's placeholder file: the link takes its name
            os.symlink(target.name, tmp)

    def newest_checkpoint(self) -> Path | None:
        """The checkpoint to continue from: the one ``last.pt`` points at; without it (a run killed
        between writing its first checkpoint and linking it) the newest complete one; else None."""
        if self.last.is_file():
            return self.last.resolve()
        return max(self.checkpoint_files(), key=lambda p: p.stat().st_mtime_ns, default=None)



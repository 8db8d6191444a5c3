"""The run folder: runs/NAME/{config.yaml, metrics.jsonl, samples/, checkpoints/}.

``checkpoints/last.pt`` is a relative symlink to the newest checkpoint, replaced atomically
(a new link under a temporary name, then renamed: ``wm.core.files.atomic_path``) so it never dangles mid-update.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from wm.core.config import Config, config_to_yaml
from wm.core.errors import WMError
from wm.core.files import atomic_path, write_text_atomic

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

    def create(self, config: Config, *, resume: bool = False) -> None:
        """Make the folders and write config.yaml; a fresh run refuses a folder that has checkpoints."""
        if not resume and self.checkpoints.is_dir() and any(self.checkpoints.glob("*.pt")):
            raise WMError(
                f"run folder {self.path} already holds checkpoints; continue it with "
                f"`wm train --resume {self.path}` or choose another run.name"
            )
        self.samples.mkdir(parents=True, exist_ok=True)
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.config_file, config_to_yaml(config))

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

    def last_good(self) -> Path | None:
        """The file ``last.pt`` points at, when there is one."""
        return self.last.resolve() if self.last.exists() else None



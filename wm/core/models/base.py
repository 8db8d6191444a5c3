"""The one interface every world model family implements.

Trainer, checkpoints, hub, rollout, play and eval only use what is defined here, so
they never ask whether they hold the RSSM ``WorldModel`` or the ``FlexibleWorldModel``.

Tensor conventions (B batch, T time, C/H/W frame, A action size):
- frames in: uint8 (B, T, C, H, W) in [0, 255] (float in [0, 255] is accepted too);
- frames out: float32 (B, T, C, H, W) in [0, 1];
- actions: int64 (B, T) for discrete spaces, float32 (B, T, A) for continuous ones;
  ``actions[:, t]`` is taken at ``frames[:, t]`` and produces ``frames[:, t + 1]``;
- states (when ``spec.state_size`` = S > 0): float32 (B, T, S), the vector recorded at ``frames[:, t]``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError

State = Any  # model-specific recurrent state (a tensor dataclass); opaque to callers


@dataclass
class Imagined:
    """The result of imagining H steps: the state after the last step and its outputs."""

    state: State
    frames: torch.Tensor | None  # (B, H, C, H, W) float in [0, 1], None when decode=False
    rewards: torch.Tensor | None = None  # (B, H) when the model has a reward head
    continues: torch.Tensor | None = None  # (B, H) probability of not terminating
    states: torch.Tensor | None = None  # (B, H, S) predicted state vectors when spec.state_size > 0


class WorldModelBase(nn.Module, ABC):
    """Base class: a loss on sequences, observe, imagine, decode and the module API."""

    def __init__(self, config: ModelConfig, spec: DataSpec) -> None:
        super().__init__()
        self.config = config
        self.spec = spec
        self.context_clips: dict[str, torch.Tensor] = {}  # {"frames", "actions"[, "states"]} kept by from_pretrained

    # -- sharing, with huggingface_hub ModelHubMixin's names -------------------------
    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | Path, *, revision: str | None = None, trust_remote_code: bool = False
    ) -> WorldModelBase:
        """The model behind any MODEL reference (checkpoint file, run folder, saved or pulled folder, Hub id
        ``user/name[@rev]``, see ``wm.core.loading.load_model``), in eval mode, with the reference's
        context clips in ``context_clips``. It is the family the checkpoint holds, which may not be ``cls``."""
        from wm.core.loading import load_model

        model, checkpoint = load_model(str(pretrained_model_name_or_path), revision, trust_remote_code=trust_remote_code)
        model.context_clips = dict(checkpoint.context)
        return model

    def save_pretrained(self, save_directory: str | Path) -> list[Path]:
        """Write this model and its ``context_clips`` into ``save_directory`` in the Hub format (config.json,
        model.safetensors, context clips, card, sample), which ``from_pretrained`` and every command read;
        the paths written (see ``wm.core.hub.api.save_pretrained``)."""
        from wm.core.hub.api import save_pretrained

        return save_pretrained(self, save_directory, context=self.context_clips or None)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        token: str | None = None,
        private: bool | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        create_pr: bool = False,
    ) -> str:
        """Upload this model and its ``context_clips`` as the Hub repo ``repo_id`` (created when missing);
        the commit or pull request URL (see ``wm.core.hub.api.push_to_hub``)."""
        from wm.core.hub.api import push_to_hub

        return push_to_hub(
            self, repo_id, token=token, private=private, revision=revision, commit_message=commit_message,
            create_pr=create_pr, context=self.context_clips or None,
        )  # fmt: skip

    # -- learning --------------------------------------------------------------------
    @abstractmethod
    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Scalar loss and its named parts (detached) for a batch of sequences.

        ``batch``: ``frames`` (B, T, C, H, W), ``actions`` (B, T[, A]), optional
        ``rewards`` (B, T) and ``terminals`` (B, T); ``states`` (B, T, S) when ``spec.state_size`` > 0.
        """

    # -- imagination -----------------------------------------------------------------
    @abstractmethod
    def observe(self, frames: torch.Tensor, actions: torch.Tensor, states: torch.Tensor | None = None) -> State:
        """Belief state after seeing ``frames`` (B, T, ...) with ``actions`` (B, T-1[, A]) between them and,
        when ``spec.state_size`` > 0, the ``states`` (B, T, S) recorded with the frames (required then)."""

    @abstractmethod
    def imagine(self, state: State, actions: torch.Tensor, decode: bool = True) -> Imagined:
        """Step ``state`` forward through ``actions`` (B, H[, A]); frame h (and state vector h, when
        ``spec.state_size`` > 0) is the result of action h."""

    @abstractmethod
    def decode(self, state: State) -> torch.Tensor:
        """The frame (B, C, H, W) in [0, 1] that ``state`` stands for."""

    def set_fast_decode(self, fast: bool) -> bool:
        """Switch the family's faster, slightly inexact inference decoding on or off; returns whether
        it is now on. Families that offer none keep exact decoding and return False."""
        return False

    # -- modules ---------------------------------------------------------------------
    @abstractmethod
    def module_names(self) -> list[str]:
        """Names of the replaceable parts, e.g. ``["encoder", "dynamics", "decoder"]``."""

    def get_module(self, name: str) -> nn.Module:
        self._check_name(name)
        return getattr(self, name)

    def set_module(self, name: str, module: nn.Module) -> None:
        """Replace a named part; subclasses check that the replacement fits."""
        self._check_name(name)
        setattr(self, name, module)

    def freeze_module(self, name: str) -> None:
        for param in self.get_module(name).parameters():
            param.requires_grad_(False)

    def unfreeze_module(self, name: str) -> None:
        for param in self.get_module(name).parameters():
            param.requires_grad_(True)

    def _check_name(self, name: str) -> None:
        names = self.module_names()
        if name not in names:
            raise WMError(f"model has no module '{name}'; its modules are: {', '.join(names)}")

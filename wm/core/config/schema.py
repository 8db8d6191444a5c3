"""Typed configuration: one dataclass per section, defaults are the one set of defaults.

Presets in ``presets/`` are named blocks of overrides over these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class DataConfig:
    """Where training data comes from and how frames are shaped."""

    path: str | None = None  # HDF5 file or npz directory; None = the built-in ALE source
    image_size: int = 64  # frames are resized to image_size x image_size when they differ
    holdout_episodes: int = 1  # episodes kept out of training for samples and eval
    num_workers: int = 0  # DataLoader worker processes
    context_clips: int = 4  # clips stored in checkpoints so rollout/play need no dataset
    context_len: int = 8  # frames per stored context clip


@dataclass
class VisionConfig:
    """Pretrained vision encoder of the FlexibleWorldModel."""

    name_or_path: str = ""  # Hub id or local folder; "" = tiny random model built from `config`
    config: dict[str, Any] = field(default_factory=dict)  # transformers config kwargs for random init
    features: Literal["pooled", "patches"] = "pooled"
    freeze: bool = True
    hook_layers: list[Any] = field(default_factory=list)


@dataclass
class LoraConfig:
    r: int = 0  # 0 = no LoRA
    alpha: int = 16
    dropout: float = 0.0
    targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])


@dataclass
class BackboneConfig:
    """Pretrained decoder-only language model used as the dynamics backbone."""

    name_or_path: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    freeze: bool = False
    hook_layers: list[Any] = field(default_factory=list)
    lora: LoraConfig = field(default_factory=LoraConfig)
    gradient_checkpointing: bool = False


@dataclass
class VideoDecoderConfig:
    kind: Literal["conv", "vae", "module"] = "conv"
    name_or_path: str = ""
    module: str = ""  # import path "pkg.mod:Class" when kind == "module"


@dataclass
class ModelConfig:
    """World model architecture. `kind` picks the family; size fields left None follow `size`."""

    kind: Literal["rssm", "flexible"] = "rssm"
    size: Literal["xs", "s", "m", "l"] = "s"
    deter: int | None = None  # GRU state size
    hidden: int | None = None  # MLP width
    stoch: int | None = None  # number of categorical latents
    classes: int | None = None  # classes per latent
    depth: int | None = None  # CNN channel multiplier
    unimix: float = 0.01
    free_nats: float = 1.0
    kl_dyn: float = 0.5
    kl_rep: float = 0.1
    reward_head: bool | None = None  # None = on when the data has rewards
    continue_head: bool | None = None  # None = on when the data has terminals
    vision: VisionConfig = field(default_factory=VisionConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    decoder: VideoDecoderConfig = field(default_factory=VideoDecoderConfig)
    manipulator: str = ""  # import path "pkg.mod:Class" of a LayerManipulator
    manipulator_kwargs: dict[str, Any] = field(default_factory=dict)
    loss_weights: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Optimisation and the training loop."""

    epochs: int = 10
    steps_per_epoch: int = 0  # 0 = about one pass over the training frames
    batch_size: int = 16
    seq_len: int = 64
    lr: float = 1e-4
    warmup_steps: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 1000.0
    precision: Literal["fp32", "bf16"] = "fp32"
    compile: bool = False
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    log_every: int = 10
    save_every: int = 1  # epochs between epoch_{N}.pt checkpoints
    sample_steps: int = 16  # imagined frames in each sample GIF
    eval_at_end: bool = True


@dataclass
class RunConfig:
    dir: str = "runs"
    name: str | None = None  # None = derived from the data and the time


@dataclass
class FinetuneConfig:
    pretrained_path: str | None = None  # checkpoint path, pulled folder or Hub id
    freeze_modules: list[str] = field(default_factory=list)
    reinit_modules: list[str] = field(default_factory=list)


@dataclass
class Config:
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    run: RunConfig = field(default_factory=RunConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

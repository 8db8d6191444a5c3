"""Typed configuration: one dataclass per section, defaults are the one set of defaults.

Presets in ``presets/`` are named blocks of overrides over these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class DataConfig:
    """Where training data comes from and how frames are shaped."""

    path: str | None = None  # HDF5 file, npz directory, LeRobot folder or hf://datasets/USER/NAME; None = built-in ALE
    camera: list[str] | str | None = None  # LeRobot: video feature(s), "a,b" tiles side by side; None = the first
    states: bool = True  # feed the data's per-step state vectors (LeRobot observation.state) to the model; false: pixels only
    image_size: int = 64  # frames are resized to image_size x image_size when they differ
    holdout_episodes: int = 1  # episodes kept out of training for samples and eval
    num_workers: int = 0  # DataLoader worker processes
    context_clips: int = 4  # clips stored in checkpoints so rollout/play need no dataset
    context_len: int = 8  # frames per stored context clip


@dataclass
class VisionConfig:
    """Vision encoder of the FlexibleWorldModel, from one source (see wm.core.models.backbones).

    ``name_or_path`` set: transformers ``from_pretrained`` (Hub id or local folder; ``config`` is
    not used). Else ``module`` set: a user nn.Module class. Else: random weights on the
    architecture ``config`` describes (a transformers config dict with ``model_type``). Once built
    from ``name_or_path``, the model rewrites this section to the last form (full config, image
    size, mean, std) so a checkpoint rebuilds with no network.
    """

    name_or_path: str = ""  # Hub id or local folder
    config: dict[str, Any] = field(default_factory=dict)  # transformers config of a randomly initialised part
    module: str = ""  # import path "pkg.mod:Class" of a user nn.Module
    module_kwargs: dict[str, Any] = field(default_factory=dict)
    features: Literal["pooled", "patches"] = "pooled"  # one vector per frame, or the patch tokens
    image_size: int = 0  # 0 = from the image processor or the model config
    mean: list[float] = field(default_factory=list)  # [] = from the image processor, else ImageNet's
    std: list[float] = field(default_factory=list)
    freeze: bool = True
    dtype: Literal["float32", "bfloat16"] = "float32"
    hook_layers: list[Any] = field(default_factory=list)  # block indices (negative allowed) or module names


@dataclass
class LoraConfig:
    r: int = 0  # 0 = no LoRA
    alpha: int = 16
    dropout: float = 0.0
    targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])


@dataclass
class BackboneConfig:
    """Decoder-only language model used as the dynamics backbone; sources as in VisionConfig."""

    name_or_path: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    module: str = ""
    module_kwargs: dict[str, Any] = field(default_factory=dict)
    freeze: bool = False  # with lora.r > 0 the base weights are frozen and only adapters train
    dtype: Literal["float32", "bfloat16"] = "float32"
    hook_layers: list[Any] = field(default_factory=list)
    lora: LoraConfig = field(default_factory=LoraConfig)
    gradient_checkpointing: bool = False
    window: int = 16  # timesteps the backbone attends to while imagining (older ones drop off)


@dataclass
class VideoDecoderConfig:
    """Latent features -> frames: a trainable conv decoder, a pretrained VAE's decoder, or a user module."""

    kind: Literal["conv", "vae", "module"] = "conv"
    depth: int = 32  # conv (and the vae's adapter): channels of the last stage, doubling towards the input
    name_or_path: str = ""  # vae: diffusers AutoencoderKL Hub id or folder (needs the `vae` extra)
    subfolder: str = ""  # vae: folder inside the repo, e.g. "vae" in a Stable Diffusion repo
    config: dict[str, Any] = field(default_factory=dict)  # vae: AutoencoderKL config when name_or_path is ""
    module: str = ""  # import path "pkg.mod:Class" when kind == "module"
    module_kwargs: dict[str, Any] = field(default_factory=dict)


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
    blend_reference: bool = True  # rssm: blend decoded frames with the last observed one (wm.core.models.blend)
    change_map: bool = False  # rssm, with blend_reference: the decoder also draws where the frame changes; the blend reads it
    reward_head: bool | None = None  # None = on when the data has rewards
    continue_head: bool | None = None  # None = on when the data has terminals
    vision: VisionConfig = field(default_factory=VisionConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    decoder: VideoDecoderConfig = field(default_factory=VideoDecoderConfig)
    manipulator: str = ""  # import path "pkg.mod:Class" of a LayerManipulator; "" = none
    manipulator_kwargs: dict[str, Any] = field(default_factory=dict)
    loss_weights: dict[str, float] = field(default_factory=dict)  # flexible: latent, pixel, aux names; default 1


@dataclass
class TrainConfig:
    """Optimisation and the training loop."""

    epochs: int = 10
    steps_per_epoch: int = 0  # 0 = about one pass over the training frames
    max_minutes: float = 0.0  # > 0: finish (final checkpoint, sample, eval) after this much training wall time
    batch_size: int = 16
    seq_len: int = 64
    lr: float = 1e-4
    warmup_steps: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 1000.0
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 autocast where it is native (wm.core.training.precision)
    compile: bool = False
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"  # auto: CUDA, then MPS, then the CPU
    log_every: int = 10
    loggers: list[Literal["jsonl", "tensorboard", "wandb"]] = field(default_factory=lambda: ["jsonl"])
    save_every: int = 1  # epochs between epoch_{N}.pt checkpoints
    sample_steps: int = 16  # imagined frames in each sample GIF
    eval_at_end: bool = True
    push_to_hub: str | None = None  # user/name: push the final model there when training ends


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

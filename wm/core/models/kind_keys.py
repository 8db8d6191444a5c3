"""Which config keys a model kind reads: a key set away from its default that the kind ignores is an error.

An RSSM config naming a manipulator, or a flexible one setting ``model.deter``, would otherwise
be silently ignored (and a checkpoint could carry keys that look meaningful and are not).
Inside the flexible sections, each part reads one source (see VisionConfig, VideoDecoderConfig):
the keys of the other sources count as unused too.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from wm.core.config.schema import BackboneConfig, ModelConfig, VideoDecoderConfig, VisionConfig
from wm.core.errors import WMError

SHARED = ("kind", "loss_weights")
FLEXIBLE_ONLY = ("vision", "backbone", "decoder", "manipulator", "manipulator_kwargs")
RSSM_ONLY = tuple(f.name for f in fields(ModelConfig) if f.name not in (*SHARED, *FLEXIBLE_ONLY))  # new fields: RSSM's
DECODER_READS = {
    "conv": ("kind", "depth"),
    "vae": ("kind", "depth", "name_or_path", "subfolder", "config"),
    "module": ("kind", "module", "module_kwargs"),
}


def unused_keys(config: ModelConfig) -> list[str]:
    """Dotted keys (``model.vision.module``) set away from their default that ``config.kind`` never reads."""
    default = ModelConfig()
    if config.kind != "flexible":
        return [f"model.{name}" for name in FLEXIBLE_ONLY if getattr(config, name) != getattr(default, name)]
    unused = [f"model.{name}" for name in RSSM_ONLY if getattr(config, name) != getattr(default, name)]
    for name, section, base in (("vision", config.vision, VisionConfig()), ("backbone", config.backbone, BackboneConfig())):
        unused += _changed(f"model.{name}", section, base, _source_ignores(section))
    reads = DECODER_READS[config.decoder.kind]
    decoder_ignores = [f.name for f in fields(VideoDecoderConfig) if f.name not in reads]
    unused += _changed("model.decoder", config.decoder, VideoDecoderConfig(), decoder_ignores)
    if config.manipulator_kwargs and not config.manipulator:
        unused.append("model.manipulator_kwargs")
    return unused


def check_used(config: ModelConfig) -> None:
    """Refuse a config that sets keys its model kind does not read (one line naming them)."""
    unused = unused_keys(config)
    if unused:
        raise WMError(
            f"config key(s) {', '.join(unused)}: not used by a '{config.kind}' model "
            f"(it would silently ignore them); remove them or change model.kind"
        )


def _source_ignores(section: VisionConfig | BackboneConfig) -> tuple[str, ...]:
    """The source keys a vision / backbone section does not read, given the source it names."""
    if section.name_or_path:
        return ("config", "module", "module_kwargs")
    if section.module:
        return ("config",)
    return ("module_kwargs",)


def _changed(prefix: str, section: Any, base: Any, names: tuple[str, ...] | list[str]) -> list[str]:
    return [f"{prefix}.{name}" for name in names if getattr(section, name) != getattr(base, name)]

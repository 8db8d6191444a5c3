"""Crafted model files for the security tests: real tiny checkpoints, then edited as an attacker would.

``flexible_config`` is a FlexibleWorldModel over tiny random transformers configs (no download);
``save`` writes a checkpoint file the way the trainer does; ``one_line_error`` runs the CLI and
expects exit 1 with a single line and no traceback.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from wm.core.checkpoint import Checkpoint, save_checkpoint
from wm.core.config import Config, config_to_dict
from wm.core.data.spec import DataSpec

SPEC = DataSpec(channels=3, height=16, width=16, num_actions=3, action_names=("stay", "left", "right"))
VISION = {"model_type": "dinov2", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
          "intermediate_size": 32, "patch_size": 8, "image_size": 16}  # fmt: skip
BACKBONE = {"model_type": "llama", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
            "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 4}  # fmt: skip


def flexible_config(**model: object) -> Config:
    """A resolved flexible config over tiny random transformers parts, with ``model`` fields set."""
    config = Config()
    config.model.kind = "flexible"
    config.model.vision.config, config.model.vision.features = dict(VISION), "patches"
    config.model.backbone.config, config.model.backbone.window = dict(BACKBONE), 4
    config.model.decoder.depth = 4
    config.data.image_size = 16
    for key, value in model.items():
        setattr(config.model, key, value)
    return config


def checkpoint_of(config: Config, weights: dict, spec: DataSpec = SPEC) -> Checkpoint:
    return Checkpoint(config=config_to_dict(config), spec=spec, model=weights)


def save(path: Path, checkpoint: Checkpoint) -> str:
    return str(save_checkpoint(path, checkpoint))


def one_line_error(args: list[str]) -> str:
    """Run the CLI, expect exit 1 with one error line and no traceback; returns the output."""
    from wm.cli.app import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.strip().count("\n") == 0, result.output
    return result.output

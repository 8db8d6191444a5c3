"""Finetuning: pretrained weights in, frozen parts unchanged, misfits named, reinit of just those parts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.core.training.conftest import tiny_overrides
from wm.core.checkpoint import load_checkpoint
from wm.core.config import Config, load_config
from wm.core.errors import WMError
from wm.core.training import Trainer, pretrained_overrides


def _finetune(pretrained: Path, data: Path, run_dir: Path, *extra: str) -> tuple[Config, dict]:
    """The config `wm finetune` resolves: the finetune preset over the pretrained model's architecture."""
    checkpoint = load_checkpoint(pretrained)
    overrides = [*tiny_overrides(data, run_dir, "ft", "train.eval_at_end=false", "train.epochs=1"), *extra]
    config = load_config(["finetune"], overrides, base=pretrained_overrides(checkpoint))
    return config, {"pretrained": checkpoint, "source": str(pretrained)}


def _weights(path: Path, part: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in load_checkpoint(path).model.items() if k.startswith(part + ".")}


def test_frozen_parts_do_not_change(pong: Path, pong_run: Path, tmp_path: Path) -> None:
    pretrained = pong_run / "checkpoints" / "final.pt"
    config, kwargs = _finetune(pretrained, pong, tmp_path, "finetune.freeze_modules=[encoder,decoder]")
    assert config.train.lr == 1e-3 and config.finetune.freeze_modules == ["encoder", "decoder"]
    trainer = Trainer(config, **kwargs)
    trained_ids = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert not trained_ids & {id(p) for p in trainer.model.encoder.parameters()}
    trainer.fit()

    final = tmp_path / "ft" / "checkpoints" / "final.pt"
    for part in ("encoder", "decoder"):
        before, after = _weights(pretrained, part), _weights(final, part)
        assert before and all(torch.equal(before[k], after[k]) for k in before), part
    before, after = _weights(pretrained, "dynamics"), _weights(final, "dynamics")
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_new_action_count_names_misfits_and_reinit_fixes_them(breakout: Path, pong_run: Path, tmp_path: Path) -> None:
    pretrained = pong_run / "checkpoints" / "final.pt"
    config, kwargs = _finetune(pretrained, breakout, tmp_path)
    with pytest.raises(WMError) as err:
        Trainer(config, **kwargs)
    message = str(err.value)
    assert "actions 6 discrete -> 4 discrete" in message and "dynamics (" in message
    assert "encoder" not in message.split("):", 1)[1] and "finetune.reinit_modules=[dynamics]" in message

    config, kwargs = _finetune(pretrained, breakout, tmp_path, "finetune.reinit_modules=[dynamics]")
    Trainer(config, **kwargs).fit()  # the finetune preset freezes the encoder
    final = tmp_path / "ft" / "checkpoints" / "final.pt"
    before, after = _weights(pretrained, "encoder"), _weights(final, "encoder")
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert load_checkpoint(final).spec.num_actions == 4


def test_new_image_size_names_encoder_and_decoder(pong: Path, pong_run: Path, tmp_path: Path) -> None:
    pretrained = pong_run / "checkpoints" / "final.pt"
    config, kwargs = _finetune(pretrained, pong, tmp_path, "data.image_size=64")
    with pytest.raises(WMError, match=r"frames 3x32x32 -> 3x64x64\): encoder \(.*decoder \(") as err:
        Trainer(config, **kwargs)
    assert "\n" not in str(err.value)
    config, kwargs = _finetune(pretrained, pong, tmp_path, "finetune.reinit_modules=[encodr]")
    with pytest.raises(WMError, match="model has no module 'encodr'"):
        Trainer(config, **kwargs)

"""The model card's metadata, as the Hub indexes it: library, task, tags, datasets, base models."""

from __future__ import annotations

import copy

from huggingface_hub import ModelCard

from wm import DISTRIBUTION
from wm.core.checkpoint import Checkpoint
from wm.core.hub.card import model_card
from wm.core.hub.format import CONFIG, WEIGHTS
from wm.core.hub.privacy import public_checkpoint


def card_of(checkpoint: Checkpoint, **config: dict) -> ModelCard:
    """The card ``push_to_hub`` writes for ``checkpoint`` with its config's sections updated by ``config``."""
    edited = copy.deepcopy(checkpoint.config)
    for section, values in config.items():
        edited[section].update(values)
    public = public_checkpoint(Checkpoint(edited, checkpoint.spec, checkpoint.model, checkpoint.context))
    return ModelCard(model_card("alice/tiny", public, files=[CONFIG, WEIGHTS]))


def test_library_task_tags_and_install_line(checkpoint: Checkpoint) -> None:
    card = card_of(checkpoint)
    assert (card.data.library_name, card.data.pipeline_tag) == ("wm", "image-to-video")
    assert {"world-model", "action-conditioned", "rssm"} <= set(card.data.tags)
    assert card.data.datasets is None and card.data.base_model is None  # trained from scratch on a local file
    assert f"pip install {DISTRIBUTION}\n" in card.text and 'WorldModel.from_pretrained("alice/tiny")' in card.text


def test_hub_dataset_and_base_models(checkpoint: Checkpoint) -> None:
    vision = {"config": {"model_type": "dinov2", "_name_or_path": "facebook/dinov2-small"}}
    backbone = {"config": {"model_type": "llama", "_name_or_path": "/home/someone/llama-local"}}
    card = card_of(
        checkpoint, data={"path": "hf://datasets/lerobot/pusht@v3"}, finetune={"pretrained_path": "alice/base"},
        model={"vision": vision, "backbone": backbone},
    )  # fmt: skip
    assert card.data.datasets == ["lerobot/pusht"]
    assert card.data.base_model == ["alice/base", "facebook/dinov2-small"]  # a local folder is no base model
    local = card_of(checkpoint, data={"path": "/data/pong.h5"}, finetune={"pretrained_path": "/runs/pong/final.pt"})
    assert local.data.datasets is None and local.data.base_model is None

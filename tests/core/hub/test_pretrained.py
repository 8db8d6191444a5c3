"""``from wm import WorldModel``: from_pretrained / save_pretrained / push_to_hub on both model families."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.security.model_files import SPEC as FLEX_SPEC
from tests.security.model_files import flexible_config
from wm.core.checkpoint import Checkpoint, save_checkpoint
from wm.core.models import build_model


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    left, right = a.state_dict(), b.state_dict()
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def test_every_model_reference_and_a_saved_folder(checkpoint: Checkpoint, tmp_path: Path) -> None:
    from wm import FlexibleWorldModel, WorldModel

    file = save_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt", checkpoint)
    from_file, from_run = WorldModel.from_pretrained(file), WorldModel.from_pretrained(tmp_path / "run")
    assert isinstance(from_file, WorldModel) and not from_file.training and same_weights(from_file, from_run)
    assert torch.equal(from_file.context_clips["frames"], checkpoint.context["frames"])
    written = from_file.save_pretrained(tmp_path / "saved")
    assert {p.name for p in written} == {"config.json", "model.safetensors", "context.safetensors", "README.md",
                                         "sample.gif"}  # fmt: skip
    back = FlexibleWorldModel.from_pretrained(str(tmp_path / "saved"))  # the family the folder holds
    assert type(back) is WorldModel and same_weights(back, from_file)
    assert torch.equal(back.context_clips["actions"], checkpoint.context["actions"])
    assert json.loads((tmp_path / "saved" / "config.json").read_text())["format"] == "wm-hub"


def test_push_to_hub_and_back_for_both_families(hub, checkpoint: Checkpoint) -> None:
    from wm import FlexibleWorldModel, WorldModel

    rssm = WorldModel.from_pretrained(save_checkpoint(hub.root.parent / "tiny.pt", checkpoint))
    url = rssm.push_to_hub(repo_id="alice/rssm", private=True, commit_message="from python")
    assert url.startswith(f"{hub.url}/alice/rssm/commit/")
    state = json.loads((hub.root / "alice/rssm/repo.json").read_text())
    assert state["private"] and state["commits"][state["refs"]["main"]]["message"] == "from python"
    pulled = WorldModel.from_pretrained("alice/rssm")
    assert same_weights(pulled, rssm) and pulled.context_clips["frames"].shape == checkpoint.context["frames"].shape

    config = flexible_config()
    torch.manual_seed(0)
    flexible = build_model(config.model, FLEX_SPEC)
    flexible.push_to_hub("alice/flexible", revision="exp")
    back = WorldModel.from_pretrained("alice/flexible@exp")
    assert isinstance(back, FlexibleWorldModel) and same_weights(back, flexible)

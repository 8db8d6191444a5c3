"""push_to_hub / pull / create_from_pretrained through the real huggingface_hub client and the stand-in Hub."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import pytest
import torch
from huggingface_hub import HfApi, ModelCard

from tests.hub_server import set_offline, set_token
from wm import create_from_pretrained, push_to_hub
from wm.core.errors import WMError
from wm.core.hub import pull
from wm.core.hub.format import read_folder
from wm.core.loading import load_model, model_from_checkpoint


def server_files(hub, repo_id: str, revision: str = "main") -> set[str]:
    state = json.loads((hub.root / repo_id / "repo.json").read_text())
    return set(state["commits"][state["refs"][revision]]["files"])


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)


def test_push_then_pull_round_trip(hub, checkpoint) -> None:
    url = push_to_hub(checkpoint, "alice/tiny")
    assert url.startswith(f"{hub.url}/alice/tiny/commit/")
    assert server_files(hub, "alice/tiny") == {
        ".gitattributes", "config.json", "model.safetensors", "context.safetensors", "README.md", "sample.gif"
    }  # fmt: skip
    folder = pull("alice/tiny")
    assert Path(hub.root).parent / "hf-home" in folder.parents  # the standard cache, under HF_HOME
    back = read_folder(folder)
    assert back.config == checkpoint.config and back.spec == checkpoint.spec and back.training is None
    assert_same_weights(back.model, checkpoint.model)
    assert_same_weights(back.context, checkpoint.context)
    card = ModelCard.load(folder / "README.md")
    assert card.data.library_name == "wm" and card.data.license == "mit"
    assert "world-model" in card.data.tags and card.data.wm_data["num_actions"] == 3
    assert "![sample rollout](sample.gif)" in card.text and "wm rollout alice/tiny" in card.text
    gif = iio.imread(folder / "sample.gif", index=None)
    assert gif.shape[0] == 4 + 24  # 4 real context frames, then 24 imagined ones


def test_training_state_on_request_and_removed_by_a_later_push(hub, checkpoint) -> None:
    push_to_hub(checkpoint, "alice/tiny", include_training_state=True)
    assert {"training_state.safetensors", "training_state.json"} <= server_files(hub, "alice/tiny")
    back = read_folder(pull("alice/tiny", include_training_state=True))
    assert back.training["step"] == 2
    assert_same_weights(back.training["optimizer"]["state"][0], checkpoint.training["optimizer"]["state"][0])
    push_to_hub(checkpoint, "alice/tiny")
    assert "training_state.safetensors" not in server_files(hub, "alice/tiny")


def test_revisions_are_branches(hub, checkpoint) -> None:
    push_to_hub(checkpoint, "alice/tiny")
    changed = {k: v + 1 if v.is_floating_point() else v for k, v in checkpoint.model.items()}
    push_to_hub(type(checkpoint)(**{**vars(checkpoint), "model": changed}), "alice/tiny", revision="exp")
    assert_same_weights(load_model("alice/tiny@exp")[1].model, changed)
    assert_same_weights(load_model("alice/tiny", revision="exp")[1].model, changed)
    assert_same_weights(load_model("alice/tiny")[1].model, checkpoint.model)
    with pytest.raises(WMError, match=r"alice/tiny: revision 'nope' not found on the Hub"):
        load_model("alice/tiny@nope")
    with pytest.raises(WMError, match=r"revision @exp disagrees with --revision main"):
        load_model("alice/tiny@exp", revision="main")


def test_private_repo_needs_the_owners_token(hub, checkpoint, monkeypatch) -> None:
    push_to_hub(checkpoint, "alice/secret", private=True)
    set_token(monkeypatch, None)
    with pytest.raises(WMError, match=r"alice/secret: repository not found on the Hub .*hf auth login"):
        pull("alice/secret")
    set_token(monkeypatch, "hf_standin_alice")
    assert_same_weights(read_folder(pull("alice/secret")).model, checkpoint.model)


def test_push_needs_a_login_and_write_access(hub, checkpoint, monkeypatch) -> None:
    with pytest.raises(WMError, match=r"bob/tiny: no write access \(403\)"):
        push_to_hub(checkpoint, "bob/tiny")
    set_token(monkeypatch, None)
    with pytest.raises(WMError, match=r"not logged in to the Hugging Face Hub: run `hf auth login`"):
        push_to_hub(checkpoint, "alice/tiny")
    set_token(monkeypatch, "hf_wrong")
    with pytest.raises(WMError, match=r"the Hub rejected your token .*\(401\): run `hf auth login`"):
        push_to_hub(checkpoint, "alice/tiny")
    assert not (hub.root / "alice" / "tiny").exists() and not (hub.root / "bob").exists()


def test_a_repo_that_is_not_a_wm_model(hub, tmp_path) -> None:
    api = HfApi()
    api.create_repo("alice/gpt")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (foreign / "model.safetensors").write_bytes(b"\0" * 64)
    api.upload_folder(repo_id="alice/gpt", folder_path=foreign)
    with pytest.raises(WMError, match=r"alice/gpt: not a wm model \(config.json has format None"):
        pull("alice/gpt")
    assert not list((tmp_path / "hf-home").rglob("model.safetensors"))  # the weights were never fetched
    api.create_repo("alice/empty")
    with pytest.raises(WMError, match=r"alice/empty: not a wm model \(no config.json"):
        load_model("alice/empty")


def test_server_error_mid_upload_commits_nothing(hub, checkpoint, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("huggingface_hub.utils._http.time.sleep", lambda seconds: None)  # skip the retry backoff
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    push_to_hub(checkpoint, "alice/tiny")
    before = json.loads((hub.root / "alice/tiny/repo.json").read_text())["refs"]
    hub.fail("commit", times=10)
    with pytest.raises(WMError, match=r"the Hub answered 500 while writing alice/tiny; nothing was committed"):
        push_to_hub(checkpoint, "alice/tiny", include_training_state=True)
    assert json.loads((hub.root / "alice/tiny/repo.json").read_text())["refs"] == before
    assert not list((tmp_path / "tmp").iterdir())  # the staging folder is gone


def test_server_error_mid_download_leaves_nothing_half_written(hub, checkpoint, monkeypatch, tmp_path) -> None:
    push_to_hub(checkpoint, "alice/tiny")
    hub.fail("download", times=1)
    output = tmp_path / "pulled"
    with pytest.raises(WMError, match=r"the Hub answered 500 while reading alice/tiny; try again later"):
        pull("alice/tiny", output=output)
    assert not output.exists() and not list(tmp_path.glob(".pulled*"))
    assert not list((tmp_path / "hf-home").rglob("*.incomplete"))
    set_offline(monkeypatch, True)
    with pytest.raises(WMError, match=r"alice/tiny: not in the local Hugging Face cache and HF_HUB_OFFLINE=1"):
        load_model("alice/tiny")
    set_offline(monkeypatch, False)
    assert_same_weights(read_folder(pull("alice/tiny", output=output)).model, checkpoint.model)


def test_second_use_is_offline(hub, checkpoint, monkeypatch) -> None:
    push_to_hub(checkpoint, "alice/tiny")
    pull("alice/tiny")
    set_offline(monkeypatch, True)
    seen = len(hub.requests)
    model = create_from_pretrained("alice/tiny")
    assert_same_weights(model.state_dict(), checkpoint.model)
    assert len(hub.requests) == seen  # nothing asked of the Hub


def test_network_down(hub, checkpoint, monkeypatch) -> None:
    from huggingface_hub import constants

    push_to_hub(checkpoint, "alice/cached")
    pull("alice/cached")
    dead = "http://127.0.0.1:9"
    monkeypatch.setattr(constants, "ENDPOINT", dead)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", dead + "/{repo_id}/resolve/{revision}/{filename}")
    with pytest.raises(WMError, match=r"alice/tiny: cannot reach the Hugging Face Hub at http://127.0.0.1:9 and it"):
        pull("alice/tiny")
    with pytest.raises(WMError, match=r"cannot reach the Hugging Face Hub at http://127.0.0.1:9 while writing"):
        push_to_hub(checkpoint, "alice/tiny")
    assert_same_weights(load_model("alice/cached")[1].model, checkpoint.model)  # a pulled model still loads


def test_hub_flag_forces_the_hub_reading(hub, checkpoint, monkeypatch, tmp_path) -> None:
    push_to_hub(checkpoint, "alice/tiny")
    (tmp_path / "alice" / "tiny").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WMError, match=r"alice/tiny: no checkpoint found"):
        load_model("alice/tiny")  # an existing local path wins
    assert_same_weights(load_model("alice/tiny", hub=True)[1].model, checkpoint.model)
    with pytest.raises(WMError, match=r"runs/x.pt: no such checkpoint file or folder"):
        load_model("runs/x.pt")


def test_pull_into_a_folder(hub, checkpoint, tmp_path) -> None:
    push_to_hub(checkpoint, "alice/tiny")
    output = pull("alice/tiny", output=tmp_path / "tiny")
    assert not any(p.is_symlink() for p in output.iterdir())
    assert_same_weights(load_model(str(output))[1].model, checkpoint.model)
    pull("alice/tiny", output=output)  # a pulled folder is replaced
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(WMError, match=r"busy: exists and is not a pulled wm model"):
        pull("alice/tiny", output=tmp_path / "busy")


def test_push_a_bare_model(hub, checkpoint) -> None:
    model = model_from_checkpoint(checkpoint)
    push_to_hub(model, "alice/bare", context=checkpoint.context)
    loaded, pushed = load_model("alice/bare")
    assert_same_weights(loaded.state_dict(), checkpoint.model)
    assert loaded.config == model.config and loaded.spec == model.spec
    assert pushed.config["data"]["image_size"] == 16  # what `wm finetune` takes over from a pretrained model

"""`wm hub pull -o DIR` replaces only a folder it wrote; nothing pushed names a local path or the user.

Pushes go to the loopback stand-in Hub, whose stored objects are exactly the uploaded bytes.
"""

from __future__ import annotations

import getpass
import json
import re
from pathlib import Path

import pytest

from tests.core.hub.tiny import tiny_checkpoint
from tests.hub_server import hub  # noqa: F401 - the stand-in Hub fixture
from wm import push_to_hub
from wm.core.checkpoint import Checkpoint
from wm.core.errors import WMError
from wm.core.hub import pull
from wm.core.hub.format import write_folder


@pytest.fixture(scope="module")
def checkpoint() -> Checkpoint:
    return tiny_checkpoint()


def test_pull_never_replaces_a_folder_it_did_not_write(hub, checkpoint, tmp_path: Path) -> None:
    push_to_hub(checkpoint, "alice/tiny")
    mine = tmp_path / "mine"
    mine.mkdir()
    write_folder(checkpoint, mine)  # config.json + model.safetensors, but not written by pull
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(WMError, match=r"mine: exists and is not a pulled wm model \(no \.wm-pull\.json"):
        pull("alice/tiny", output=mine)
    assert (mine / "notes.txt").read_text() == "my notes"
    pulled = pull("alice/tiny", output=tmp_path / "pulled")
    assert json.loads((pulled / ".wm-pull.json").read_text())["repo"] == "alice/tiny"
    pull("alice/tiny", output=pulled)  # its own folder is replaced
    (pulled / "notes.txt").write_text("added later")
    with pytest.raises(WMError, match=r"pulled: exists and is not a pulled wm model alone \(it also holds notes.txt\)"):
        pull("alice/tiny", output=pulled)
    assert (pulled / "notes.txt").is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(WMError, match="not a folder"):
        pull("alice/tiny", output=tmp_path / "file")


def test_nothing_pushed_names_a_local_path_or_the_user(hub, checkpoint, tmp_path: Path) -> None:
    config = json.loads(json.dumps(checkpoint.config))
    config["data"]["path"] = str(tmp_path / "data" / "pong.h5")
    config["run"]["dir"] = str(tmp_path / "runs")
    config["finetune"]["pretrained_path"] = str(tmp_path / "runs" / "old" / "checkpoints" / "final.pt")
    private = Checkpoint(config, checkpoint.spec, checkpoint.model, checkpoint.context, checkpoint.training)
    evaluation = {"format": "wm-eval", "dataset": str(tmp_path / "data" / "held_out.h5"), "model": str(tmp_path / "runs")}
    push_to_hub(private, "alice/private-paths", include_training_state=True, evaluation=evaluation)
    objects = sorted((hub.root / "alice" / "private-paths" / "objects").iterdir())
    uploaded = [path.read_bytes() for path in objects]
    assert len(uploaded) >= 6  # .gitattributes, config, weights, context, card, sample, training state
    user = getpass.getuser().encode()
    for needle in (str(tmp_path).encode(), str(Path.home()).encode() + b"/", b"pytest-of-" + user):
        assert not any(needle in content for content in uploaded), needle
    texts = [content.decode() for content in uploaded if content[:1] in (b"{", b"-", b"*")]
    assert len(texts) >= 3 and not any(re.search(rf"\b{re.escape(user.decode())}\b", text) for text in texts)
    published = json.loads(next(t for t in texts if '"format": "wm-hub"' in t))
    assert published["config"]["data"]["path"] == "pong.h5" and published["config"]["run"]["dir"] == "runs"
    assert published["config"]["finetune"]["pretrained_path"] == "final.pt"
    assert published["evaluation"]["dataset"] == "held_out.h5"

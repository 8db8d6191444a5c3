"""train.loggers: a tiny real run read back from each logger's own files (TensorBoard events, a W&B offline run)."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.core.training.conftest import tiny_config
from wm.core.errors import WMError
from wm.core.training import Trainer

RUN = ("train.epochs=1", "train.steps_per_epoch=4", "train.log_every=2")  # logs at steps 2 and 4, evaluates at 4


def test_tensorboard_holds_the_scalars_sample_and_eval_table(pong: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = Trainer(tiny_config(pong, tmp_path, "tb", *RUN, "train.loggers=[tensorboard]")).fit()
    run = tmp_path / "tb"
    assert not (run / "metrics.jsonl").exists()  # jsonl is a logger like the others, here not chosen
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    losses = events.Scalars("train/loss")
    assert [e.step for e in losses] == [2, 4] and losses[-1].value == pytest.approx(result.metrics["loss"])
    assert events.Scalars("eval/model/psnr@1")[0].value == pytest.approx(result.evaluation["model/psnr@1"])
    table = events.Tensors("eval/text_summary")[0]
    markdown = table.tensor_proto.string_val[0].decode()
    psnr = result.evaluation["model/psnr@1"]
    assert table.step == 4 and "| horizon | method |" in markdown and f"| 1 | model | {psnr:.2f} [" in markdown
    (sample,) = events.Images("sample")
    assert sample.step == 4 and sample.encoded_image_string.startswith(b"GIF8")
    assert sample.encoded_image_string == (run / "samples" / "epoch_1.gif").read_bytes()


def wandb_records(run_file: Path) -> list[Any]:
    """The protobuf records of a ``.wandb`` transaction log (LevelDB log format: 32 KiB blocks of
    chunks, each ``<crc32 u32, length u16, type u8>`` then data; type 1 full, 2 first, 3 middle, 4 last)."""
    from wandb.proto import wandb_internal_pb2

    raw, block, position, pieces, records = run_file.read_bytes(), 32768, 7, b"", []
    assert raw[:4] == b":W&B"
    while position + 7 <= len(raw):
        if block - position % block < 7:  # a block's tail too short for a header is padding
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", raw[position : position + 7])
        if kind == 0:
            break
        pieces += raw[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pieces)
            records.append(record)
            pieces = b""
    return records


def test_wandb_offline_run_is_written_under_the_run_folder(pong: Path, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    result = Trainer(tiny_config(pong, tmp_path, "wb", *RUN, "train.loggers=[jsonl, wandb]")).fit()
    (offline,) = (tmp_path / "wb" / "wandb").glob("offline-run-*")
    (run_file,) = offline.glob("run-*.wandb")
    records = wandb_records(run_file)
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run.display_name == "wb" and run.project == "wm" and run.run_id.startswith("wb-")
    rows = [
        {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
        for r in records if r.WhichOneof("record_type") == "history"
    ]  # fmt: skip
    losses = [(row["_step"], row["train/loss"]) for row in rows if "train/loss" in row]
    assert [step for step, _ in losses] == [2, 4] and losses[-1][1] == pytest.approx(result.metrics["loss"])
    last = rows[-1]
    assert last["eval/model/psnr@1"] == pytest.approx(result.evaluation["model/psnr@1"])
    assert last["sample/_type"] == "video-file" and last["eval/held-out imagination/_type"] == "table-file"
    table = json.loads((offline / "files" / last["eval/held-out imagination/path"]).read_text())
    assert table["columns"][:2] == ["horizon", "method"] and ["1", "model"] == table["data"][0][:2]
    assert (tmp_path / "wb" / "metrics.jsonl").is_file()


def test_a_logger_that_is_not_installed_is_named_before_training(pong: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb raises ImportError
    with pytest.raises(WMError, match=r"train.loggers: 'wandb' needs the wandb package; install it with pip install "
                                      r"'wm-world-models\[wandb\]'"):  # fmt: skip
        Trainer(tiny_config(pong, tmp_path, "none", "train.loggers=[wandb]")).fit()
    assert not list((tmp_path / "none" / "checkpoints").iterdir())

"""evaluate: open-loop scores of a trained model beside its baselines, in the documented JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from squares import ShiftModel

from wm.core.errors import WMError
from wm.core.imagine import evaluate, plot_report
from wm.core.imagine.evaluate import frame_scores, save_json
from wm.core.loading import load_model

ROW_KEYS = {"method", "horizon", "mse", "psnr", "ssim"}
TOP_KEYS = {"format", "version", "model", "dataset", "context", "horizons", "seed", "num_windows", "windows", "methods", "metrics", "results"}


def test_trained_model_report_schema_and_baselines(trained_checkpoint: Path, square_data: Path, tmp_path: Path) -> None:
    model, _ = load_model(str(trained_checkpoint))
    report = evaluate(model, square_data, context=4, horizons=[5, 1, 10], episodes=6, seed=1)
    data = json.loads(save_json(report, tmp_path / "r.json").read_text())
    assert set(data) == TOP_KEYS
    assert data["format"] == "wm-eval" and data["version"] == 1 and data["horizons"] == [1, 5, 10]
    assert data["methods"] == ["model", "copy_last", "shuffled_actions"] and data["metrics"] == ["mse", "psnr", "ssim"]
    assert data["num_windows"] == 6 and len({w["episode"] for w in data["windows"]}) == 6
    assert len(data["results"]) == 9 and all(set(row) == ROW_KEYS for row in data["results"])
    assert all(np.isfinite(row[m]) for row in data["results"] for m in ("mse", "psnr", "ssim"))
    # copy_last, recomputed by hand on the same windows
    with h5py.File(square_data) as f:
        frames = torch.from_numpy(f["frames"][()]).float() / 255
    for i, horizon in enumerate(report.horizons):
        errors = [((frames[e, s + 3] - frames[e, s + 3 + horizon]) ** 2).mean().item() for e, s in report.windows]
        assert report.scores["copy_last"]["mse"][i] == pytest.approx(np.mean(errors), rel=1e-5)
    again = evaluate(model, square_data, context=4, horizons=[1, 5, 10], episodes=6, seed=1)
    assert again.to_dict() == report.to_dict()  # windows and the model's sampling are reproducible
    assert plot_report(report, tmp_path / "r.png").stat().st_size > 1000


def test_an_exact_model_beats_both_baselines(square_data: Path) -> None:
    report = evaluate(ShiftModel(), square_data, context=2, horizons=[1, 8], episodes=4, seed=0, episode_indices=[6, 7])
    assert report.scores["model"]["mse"] == [0.0, 0.0] and report.scores["model"]["psnr"] == [100.0, 100.0]
    assert report.scores["model"]["ssim"] == pytest.approx([1.0, 1.0])
    assert min(report.scores["copy_last"]["mse"]) > 0
    # shuffling hurts the next frame; after all 8 shifts the square is back where the true order puts it,
    # since moves commute in this world
    assert report.scores["shuffled_actions"]["mse"][0] > 0 and report.scores["shuffled_actions"]["mse"][1] == 0
    assert {e for e, _ in report.windows} == {6, 7}


def test_scores_of_identical_and_different_frames() -> None:
    frames = torch.rand(2, 3, 3, 16, 16)
    same = frame_scores(frames, frames)
    assert same["mse"].shape == (2, 3) and (same["mse"] == 0).all() and (same["psnr"] == 100).all()
    other = frame_scores(frames, 1 - frames)
    assert (other["mse"] > 0.1).all() and (other["ssim"] < 0.5).all()


def test_too_short_data_and_bad_arguments(square_data: Path) -> None:
    with pytest.raises(WMError, match="no episode has the 44 frames a window needs .* the longest has 40"):
        evaluate(ShiftModel(), square_data, context=4, horizons=[40], episodes=2, seed=0)
    with pytest.raises(WMError, match="horizons >= 1"):
        evaluate(ShiftModel(), square_data, context=4, horizons=[0], episodes=2, seed=0)

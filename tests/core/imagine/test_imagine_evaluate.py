"""evaluate: pooled, moving-pixel and action figures with bootstrap intervals, in the documented JSON schema."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from squares import NAMES, SPEC, ShiftModel

from wm.core.data.spec import DataSpec
from wm.core.errors import WMError
from wm.core.imagine import evaluate, plot_report
from wm.core.imagine.eval_table import eval_tables, notes, verdict
from wm.core.imagine.evaluate import frame_scores, moving_mask
from wm.core.imagine.report import EvalReport, load_json, save_json
from wm.core.imagine.spread import action_set
from wm.core.imagine.stats import estimate, pooled, psnr, resample
from wm.core.loading import load_model
from wm.core.models.base import Imagined

ROW_KEYS = {"method", "metric", "horizon", "value", "low", "high"}


class StillModel(ShiftModel):
    """Ignores its actions: each step adds fresh noise (torch's RNG, ``noise`` std) to the frame it holds as its state."""

    def __init__(self, noise: float) -> None:
        super().__init__()
        self.noise = noise

    def imagine(self, state: torch.Tensor, actions: torch.Tensor, decode: bool = True) -> Imagined:
        frames = []
        for _ in range(actions.shape[1]):
            state = (state + self.noise * torch.randn_like(state)).clamp(0, 1)
            frames.append(state)
        return Imagined(state, torch.stack(frames, 1) if decode else None, None, None)


def rows(report: EvalReport, method: str, metric: str) -> list[dict]:
    return [r for r in report.results if r["method"] == method and r["metric"] == metric]


def test_pooled_psnr_is_the_psnr_of_the_mean_mse() -> None:
    truth = torch.zeros(2, 1, 3, 16, 16)
    predictions = truth.clone()
    predictions[1] = 0.1  # window 0 exact, window 1 off by 0.1 everywhere: MSE 0 and 0.01
    mask = torch.ones(2, 1, 1, 16, 16, dtype=torch.bool)
    sums = frame_scores(predictions, truth, mask)
    assert sums["sse"][:, 0] == pytest.approx([0.0, 0.01 * 768]) and sums["moving_sse"][:, 0] == pytest.approx(sums["sse"][:, 0])
    mse = pooled(sums["sse"], np.full((2, 1), 768.0))(np.arange(2)[None])[0]
    assert mse == pytest.approx([0.005]) and psnr(mse) == pytest.approx([10 * math.log10(200)])  # 23.0 dB
    # a mean of capped per-frame PSNRs would say (100 + 20) / 2 = 60 dB
    assert psnr(np.array([0.0, np.nan])).tolist()[0] == 100.0 and math.isnan(psnr(np.array([np.nan]))[0])


def test_moving_mask_is_any_channel_that_differs_from_the_last_context_frame() -> None:
    last = np.zeros((3, 16, 16), np.uint8)
    truth = last.copy()
    truth[2, 1, 2] = 1  # one level in one channel is a move
    truth[0, 0, 0] = 255
    mask = moving_mask(torch.from_numpy(truth)[None, None], torch.from_numpy(last)[None])
    assert mask.shape == (1, 1, 1, 16, 16) and {tuple(i) for i in mask[0, 0, 0].nonzero().tolist()} == {(1, 2), (0, 0)}
    copy = torch.from_numpy(last).float()[None, None] / 255
    sums = frame_scores(copy, torch.from_numpy(truth).float()[None, None] / 255, mask)
    assert sums["moving_sse"][0, 0] == pytest.approx((1 / 255) ** 2 + 1.0)  # the error sits on the moving pixels


def test_scores_of_the_trained_model_are_pooled_over_the_windows(trained_checkpoint: Path, square_data: Path) -> None:
    model, _ = load_model(str(trained_checkpoint))
    report = evaluate(model, square_data, context=4, horizons=[5, 1, 10], episodes=6, seed=1, spread_steps=3)
    assert report.horizons == [1, 5, 10] and len({e for e, _ in report.windows}) == 6
    assert all(set(r) == ROW_KEYS for r in report.results)
    with h5py.File(square_data) as f:
        frames = f["frames"][()]
    for i, horizon in enumerate(report.horizons):  # copy_last and the moving pixels, recomputed by hand
        last = np.stack([frames[e, s + 3] for e, s in report.windows]).astype(np.float64) / 255
        truth = np.stack([frames[e, s + 3 + horizon] for e, s in report.windows]).astype(np.float64) / 255
        moving = np.broadcast_to((truth != last).any(1, keepdims=True), truth.shape)
        mse, moving_mse = ((last - truth) ** 2).mean(), ((last - truth) ** 2)[moving].mean()
        assert report.scores["copy_last"]["mse"][i] == pytest.approx(mse, rel=1e-5)
        assert report.scores["copy_last"]["psnr"][i] == pytest.approx(10 * math.log10(1 / mse), rel=1e-5)
        assert report.scores["copy_last"]["moving_psnr"][i] == pytest.approx(10 * math.log10(1 / moving_mse), rel=1e-5)
        assert report.series("truth", "moving_fraction")[i] == pytest.approx(moving[:, 0].mean())
    assert [r["horizon"] for r in rows(report, "action_spread", "mean_abs")] == [1, 3]  # horizons up to the held steps
    again = evaluate(model, square_data, context=4, horizons=[1, 5, 10], episodes=6, seed=1, spread_steps=3)
    assert again.to_dict() == report.to_dict()  # windows, sampling and bootstrap are reproducible


def test_a_model_that_follows_the_actions_gets_a_positive_gap_and_spread(square_data: Path) -> None:
    report = evaluate(ShiftModel(), square_data, context=2, horizons=[1, 2, 4], episodes=16, seed=0, episode_indices=[6, 7])
    assert report.scores["model"]["mse"] == [0.0] * 3 and report.scores["model"]["psnr"] == [100.0] * 3
    assert min(report.scores["copy_last"]["mse"]) > 0 and {e for e, _ in report.windows} == {6, 7}
    gap, spread = rows(report, "action_gap", "moving_psnr"), rows(report, "action_spread", "mean_abs")
    assert gap[0]["low"] > 0 and gap[1]["low"] > 0 and all(r["low"] > 0 for r in spread)
    # after all 4 shuffled moves the square is where the true order puts it: moves commute in this world
    assert gap[2]["value"] == 0
    assert all(r["value"] == 0 for r in rows(report, "sampling_spread", "mean_abs"))  # a deterministic model
    assert report.spread_actions == list(NAMES) and report.spread_note == "all 6 actions"
    assert report.verdict == (
        "actions: true actions predict the moving pixels better than shuffled ones (gap interval above 0 at horizon 1, 2)"
    )


def test_a_model_that_ignores_the_actions_is_reported_as_such(square_data: Path) -> None:
    report = evaluate(StillModel(noise=0.0), square_data, context=2, horizons=[1, 4], episodes=32, seed=0)
    assert all(r["low"] <= 0 <= r["high"] for r in rows(report, "action_gap", "moving_psnr"))
    assert all(r["value"] == r["high"] == 0 for r in rows(report, "action_spread", "mean_abs"))
    assert report.verdict == "actions: no measurable effect (gap interval includes 0 at every horizon)"
    noisy = evaluate(StillModel(noise=0.02), square_data, context=2, horizons=[4], episodes=32, seed=0)
    spread, sampling = rows(noisy, "action_spread", "mean_abs")[0], rows(noisy, "sampling_spread", "mean_abs")[0]
    assert spread["value"] > 0 and sampling["low"] <= spread["value"] <= sampling["high"]  # its spread is noise alone


def test_intervals_hold_the_estimate_and_shrink_with_more_windows(square_data: Path) -> None:
    report = evaluate(StillModel(noise=0.02), square_data, context=2, horizons=[1, 4], episodes=24, seed=3, spread_steps=2)
    assert all(r["low"] <= r["value"] <= r["high"] for r in report.results)
    values = np.random.default_rng(0).random((400, 1))
    width = {}
    for count in (25, 400):
        found = estimate(pooled(values[:count], np.ones((count, 1))), resample(count, seed=0))
        width[count] = float(found.high[0] - found.low[0])
        assert found.low[0] <= found.value[0] <= found.high[0]
    assert width[400] < width[25] / 2  # about 1/sqrt(16)


def test_json_round_trip_keeps_every_figure_and_the_undefined_ones(tmp_path: Path) -> None:
    still = tmp_path / "still.h5"  # NOOP only: nothing ever moves, so moving-pixel figures are undefined
    with h5py.File(still, "w") as f:
        f["frames"] = np.full((2, 12, 3, 16, 16), 90, np.uint8)
        f["actions"] = np.zeros((2, 12), np.int64)
    report = evaluate(ShiftModel(), still, context=2, horizons=[1, 3], episodes=4, seed=0)
    document = json.loads(save_json(report, tmp_path / "r.json").read_text())  # strict JSON: null, not NaN
    assert document["format"] == "wm-eval" and document["version"] == 2 and document["num_windows"] == 4
    assert {r["value"] for r in document["results"] if r["metric"] == "moving_psnr"} == {None}
    assert document["verdict"] == report.verdict and document["spread"]["steps"] == 3 and document["num_episodes"] == 2
    assert notes(report.flat()).startswith("4 held-out windows from 2 episode(s);") and "understate" in notes(report.flat())
    again = load_json(tmp_path / "r.json")
    assert again.to_dict() == report.to_dict() and math.isnan(again.scores["model"]["moving_mse"][0])
    assert "model/moving_psnr@1" not in report.flat() and report.flat()["model/psnr@1"] == 100.0
    assert plot_report(again, tmp_path / "r.png").stat().st_size > 1000
    (tmp_path / "v1.json").write_text(json.dumps({"format": "wm-eval", "version": 1, "results": []}))
    with pytest.raises(WMError, match="v1.json: wm-eval version 1, expected 2"):
        load_json(tmp_path / "v1.json")


def test_held_actions_for_large_and_continuous_spaces() -> None:
    many = DataSpec(3, 16, 16, num_actions=18)
    recorded = np.array([17] * 9 + [3] * 8 + [5] * 7 + [0, 1, 2, 4, 6, 7, 9] * 2 + [11])
    held = action_set(many, recorded)
    assert held.actions.tolist() == [0, 1, 2, 3, 4, 5, 6, 17] and held.note == "the 8 most frequent of 18 actions in the data"
    assert action_set(SPEC, recorded[:0]).actions.tolist() == list(range(6))
    continuous = DataSpec(3, 16, 16, action_kind="continuous", num_actions=2)
    steps = np.arange(40, dtype=np.float32).reshape(20, 2)
    held = action_set(continuous, steps, limit=3)
    assert held.actions.tolist() == [[0, 1], [20, 21], [38, 39]] and held.labels[0] == "(0, 1)"
    assert held.note == "3 recorded actions at evenly spaced steps of the data"


def test_tables_and_verdicts_from_flat_figures() -> None:
    flat = {"windows": 8, "model/psnr@1": 30.0, "model/psnr_low@1": 29.5, "model/psnr_high@1": 30.5, "model/mse@1": 0.001}
    quality = eval_tables(flat)
    assert len(quality) == 1 and quality[0].rows == [["1", "model", "30.00 [29.50, 30.50]", "-", "0.00100", "-"]]
    assert verdict(flat) == "actions: not measured" and notes(flat).startswith("8 held-out windows; PSNR from the MSE pooled")
    assert notes({"model/psnr@1": 30.0}).startswith("Figures from an older wm: PSNR is a mean of per-frame PSNRs")
    gap = {"action_gap/moving_psnr@1": -2.0, "action_gap/moving_psnr_low@1": -3.0, "action_gap/moving_psnr_high@1": -1.0}
    assert verdict(gap).startswith("actions: shuffled actions predict better")
    assert len(eval_tables({**flat, **gap})) == 2


def test_too_short_data_and_bad_arguments(square_data: Path) -> None:
    with pytest.raises(WMError, match="no episode has the 44 frames a window needs .* the longest has 40"):
        evaluate(ShiftModel(), square_data, context=4, horizons=[40], episodes=2, seed=0)
    with pytest.raises(WMError, match="horizons >= 1"):
        evaluate(ShiftModel(), square_data, context=4, horizons=[0], episodes=2, seed=0)
    with pytest.raises(WMError, match="spread actions >= 2"):
        evaluate(ShiftModel(), square_data, context=4, horizons=[1], episodes=2, seed=0, spread_actions=1)


class PushModel(ShiftModel):
    """Continuous actions (B, H, 2): each step shifts the frame by the rounded (rows, columns) of the action."""

    def __init__(self) -> None:
        super().__init__(DataSpec(3, 16, 16, action_kind="continuous", num_actions=2))

    def imagine(self, state: torch.Tensor, actions: torch.Tensor, decode: bool = True) -> Imagined:
        frames = []
        for t in range(actions.shape[1]):
            state = torch.stack([torch.roll(s, tuple(int(v) for v in a.round()), dims=(-2, -1)) for s, a in zip(state, actions[:, t])])
            frames.append(state)
        return Imagined(state, torch.stack(frames, 1) if decode else None, None, None)


def test_continuous_actions_hold_recorded_ones(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    actions = rng.integers(-1, 2, size=(4, 20, 2)).astype(np.float32)
    frames = np.zeros((4, 20, 3, 16, 16), np.uint8)
    for e in range(4):
        frame = np.zeros((3, 16, 16), np.uint8)
        frame[:, 6:10, 6:10] = 200
        for t in range(20):
            frames[e, t] = frame
            frame = np.roll(frame, tuple(int(v) for v in actions[e, t]), axis=(-2, -1))
    path = tmp_path / "push.h5"
    with h5py.File(path, "w") as f:
        f["frames"], f["actions"] = frames, actions
    report = evaluate(PushModel(), path, context=2, horizons=[1, 3], episodes=8, seed=0, spread_actions=4)
    assert report.scores["model"]["mse"] == [0.0, 0.0] and report.spread_note == "4 recorded actions at evenly spaced steps of the data"
    assert rows(report, "action_spread", "mean_abs")[0]["value"] > 0

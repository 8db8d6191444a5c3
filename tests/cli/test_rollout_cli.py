"""`wm rollout`, `wm play`, `wm eval` through the real CLI on a tiny trained checkpoint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from wm.cli.app import app

sys.path.insert(0, str(Path(__file__).parents[1] / "core" / "imagine"))  # the shared square world
from squares import train_tiny, write_square_data  # noqa: E402

runner = CliRunner(env={"COLUMNS": "300"})  # rich wraps long paths at narrower widths


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(dataset, checkpoint): 8 square-world episodes of 40 steps, a tiny model trained on them."""
    folder = tmp_path_factory.mktemp("cli")
    data = write_square_data(folder / "squares.h5", episodes=8, length=40)
    return data, train_tiny(data, folder / "tiny.pt")


def wm(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def gif_frames(path: Path, fps: int) -> int:
    """Frames of a GIF written at ``fps``, counting runs that Pillow merged into one longer frame."""
    durations = [iio.immeta(path, index=i)["duration"] for i in range(iio.improps(path, index=None).shape[0])]
    return round(sum(durations) * fps / 1000)


def test_rollout_gif_and_mp4_hold_every_step(files: tuple[Path, Path], tmp_path: Path) -> None:
    _, checkpoint = files
    out = wm("rollout", checkpoint, "--steps", 9, "-o", tmp_path / "d.gif", "--fps", 10, "--scale", 2)
    assert gif_frames(tmp_path / "d.gif", 10) == 9 and iio.imread(tmp_path / "d.gif", index=0).shape[:2] == (32, 32)
    for part in ("tiny.pt (WorldModel)", "checkpoint clip 0 (4 frames)", "9 x 1 future(s)", "frames/s", "d.gif"):
        assert part in out
    wm("rollout", checkpoint, "--steps", 7, "-o", tmp_path / "d.mp4", "--batch", 3, "--actions", "repeat:UP", "--seed", 2)
    assert iio.imread(tmp_path / "d.mp4", index=None).shape[:3] == (7, 2 * 64 + 2, 2 * 64 + 2)


def test_rollout_compare_puts_the_truth_beside_the_imagination(files: tuple[Path, Path], tmp_path: Path) -> None:
    data, checkpoint = files
    out = tmp_path / "c.gif"
    wm("rollout", checkpoint, "--data", data, "--episode", 3, "--start", 2, "--context", 4, "--steps", 6,
       "--compare", "--scale", 4, "-o", out, "--fps", 10)
    import h5py

    with h5py.File(data) as f:
        truth = f["frames"][3, 6:12].transpose(0, 2, 3, 1)
    video = iio.imread(out, index=None)[..., :3]  # label rows name each step, so no two frames merge
    assert video.shape == (6, 14 + 64, 64 + 2 + 64, 3)
    assert np.array_equal(video[:, 14:, :64][:, ::4, ::4], truth)  # real frame t is what recorded action t produced
    assert not np.array_equal(video[:, :14, :64], video[:, :14, 66:])  # "real #t" / "imagined #t  ACTION" labels


def test_rollout_each_action_tiles_the_truth_and_every_action(files: tuple[Path, Path], tmp_path: Path) -> None:
    data, checkpoint = files
    out = wm("rollout", checkpoint, "--each-action", "--data", data, "--episode", -1, "--start", 2, "--steps", 5,
             "--scale", 2, "-o", tmp_path / "g.gif")
    assert "episode 7, frames 2..5" in out and "5 x 7 future(s)" in out  # recorded + 6 actions imagined
    video = iio.imread(tmp_path / "g.gif", index=None)[..., :3]
    tile = 14 + 32
    assert video.shape == (5, 3 * tile + 2 * 2, 3 * 32 + 2 * 2, 3)  # truth, recorded, 6 actions: 3 x 3 tiles
    import h5py

    with h5py.File(data) as f:
        truth = f["frames"][7, 6:11].transpose(0, 2, 3, 1)
    assert np.array_equal(video[:, 14:tile:2, :32:2], truth)
    wm("rollout", checkpoint, "--each-action", "--steps", 2, "-o", tmp_path / "c.gif", "--scale", 1)
    assert iio.imread(tmp_path / "c.gif", index=0).shape[:2] == (2 * (14 + 16) + 2, 3 * 16 + 4)  # 6 actions, no truth


def test_eval_writes_table_json_and_plot(files: tuple[Path, Path], tmp_path: Path) -> None:
    data, checkpoint = files
    out = wm("eval", checkpoint, "--data", data, "--horizons", "1,3,8", "--episodes", 4, "--spread-steps", 2,
             "--json", tmp_path / "e.json", "--plot", tmp_path / "e.png")
    for part in ("copy_last", "shuffled_actions", "moving PSNR dB", "action gap dB (moving)", "action spread",
                 "[low, high]: 95% bootstrap interval", "spread actions: all 6 actions (NOOP, FIRE,", "e.json", "e.png"):
        assert part in out
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["context"] == 4 and report["horizons"] == [1, 3, 8] and report["num_windows"] == 4
    assert report["model"] == str(checkpoint) and report["version"] == 2 and report["spread"]["steps"] == 2
    assert report["verdict"] in out
    psnr = {r["horizon"]: r for r in report["results"] if r["method"] == "model" and r["metric"] == "psnr"}
    assert f"{psnr[3]['value']:.2f} [{psnr[3]['low']:.2f}, {psnr[3]['high']:.2f}]" in out  # the table shows the JSON
    assert {r["horizon"] for r in report["results"] if r["method"] == "action_spread"} == {1, 2}
    assert (tmp_path / "e.png").stat().st_size > 1000


def test_play_headless_records(files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    _, checkpoint = files
    out = wm("play", checkpoint, "--steps", 5, "--fps", 0, "--record", tmp_path / "p.mp4")
    assert "played 5 imagined frames" in out and "fast decoding" in out and "p.mp4" in out
    assert iio.imread(tmp_path / "p.mp4", index=None).shape[0] == 5
    assert "exact decoding" in wm("play", checkpoint, "--steps", 2, "--fps", 0, "--exact")


def test_play_from_a_recording(files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    data, checkpoint = files
    wm("play", checkpoint, "--steps", 3, "--fps", 0, "--data", data, "--episode", -1, "--start", 30, "--record", tmp_path / "p.gif")
    assert iio.imread(tmp_path / "p.gif", index=0).shape[:2] == (64 + 18 * 5, 256)  # two more HUD lines: the truth
    for args, message in [
        (["--episode", 2], "--episode and --start choose the context within --data; pass --data FILE"),
        (["--data", data, "--start", 38], "has 40 frames, expected start + context <= 40"),
    ]:
        result = runner.invoke(app, ["play", str(checkpoint), "--steps", "1", *map(str, args)])
        assert result.exit_code == 1 and message in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", 3, "-o", "x.avi"], "unknown video format '.avi', expected .gif or .mp4"),
        (["--steps", 3, "-o", "x.gif", "--actions", "repeat:99"], "action 99 is out of range, expected 0..5"),
        (["--steps", 3, "-o", "x.gif", "--actions", "JUMP"], "'JUMP' is not an action index or name"),
        (["--steps", 3, "-o", "x.gif", "--compare"], "pass --data FILE"),
        (["--steps", 3, "-o", "x.gif", "--each-action", "--batch", 2], "drop --compare, --actions and --batch"),
    ],
)
def test_rollout_mistakes_are_one_red_line(files: tuple[Path, Path], tmp_path: Path, args: list, message: str) -> None:
    _, checkpoint = files
    args = [tmp_path / a if str(a).startswith("x.") else a for a in args]
    result = runner.invoke(app, ["rollout", str(checkpoint), *map(str, args)])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_eval_on_too_short_data_is_a_user_error(files: tuple[Path, Path], tmp_path: Path) -> None:
    data, checkpoint = files
    result = runner.invoke(app, ["eval", str(checkpoint), "--data", str(data), "--horizons", "1,50", "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 1 and "no episode has the 54 frames" in result.output
    assert list(tmp_path.iterdir()) == []


def test_device_flag_of_rollout_eval_and_play(files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    import torch

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    data, checkpoint = files
    auto = "cuda:0" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    for device, shown in (("cpu", "cpu"), ("auto", auto)):
        assert f"(WorldModel) on {shown}" in wm("rollout", checkpoint, "--steps", 2, "-o", tmp_path / "r.gif", "--device", device)
        out = wm("eval", checkpoint, "--data", data, "--horizons", "1", "--episodes", 2, "--spread-steps", 0, "--device", device)
        assert f"open loop, on {shown}" in out
    if torch.cuda.is_available():
        return
    commands = [["rollout", checkpoint, "--steps", 2, "-o", tmp_path / "cuda.gif"], ["eval", checkpoint, "--data", data]]
    if importlib.util.find_spec("pygame") is not None:
        commands.append(["play", checkpoint, "--steps", 1, "--fps", 0])
    for command in commands:
        result = runner.invoke(app, [*map(str, command), "--device", "cuda"])
        assert result.exit_code == 1, result.output
        assert result.output.startswith("error: --device=cuda: CUDA is not available on this machine (")
        assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "cuda.gif").exists()

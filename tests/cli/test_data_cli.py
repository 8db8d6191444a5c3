"""`wm data convert | inspect | collect` through Typer's test runner."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
from typer.testing import CliRunner

from tests.conftest import square_world, write_npz_dir, write_padded_h5
from wm.cli.app import app
from wm.core.data import open_dataset

runner = CliRunner()


def test_convert_then_inspect_with_grid(tmp_path) -> None:
    src = write_npz_dir(tmp_path / "eps", square_world(lengths=(20, 25), size=32))
    out = tmp_path / "out.h5"
    result = runner.invoke(app, ["data", "convert", str(src), str(out), "--resize", "16",
                                 "--action-names", "NOOP,LEFT,RIGHT,UP,DOWN", "--fps", "10"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    assert open_dataset(out).spec.height == 16
    result = runner.invoke(app, ["data", "inspect", str(out), "--grid", str(tmp_path / "sheet.png")])
    assert result.exit_code == 0, result.output
    for text in ("episodes", "20 / 22.5 / 25", "NOOP", "gzip (level 1)", "compression", "terminal steps"):
        assert text in result.output
    assert iio.imread(tmp_path / "sheet.png").shape[2] == 3


def test_convert_other_hdf5_layout_with_offset(tmp_path) -> None:
    src = write_padded_h5(tmp_path / "other.h5", square_world(lengths=(10, 12)), channels_last=True, float_frames=True)
    out = tmp_path / "out.h5"
    result = runner.invoke(app, ["data", "convert", str(src), str(out), "--action-offset", "1"])
    assert result.exit_code == 0, result.output
    assert open_dataset(out).lengths.tolist() == [9, 11]


def test_user_errors_exit_1_with_one_line(tmp_path) -> None:
    src = write_npz_dir(tmp_path / "eps", square_world(lengths=(5,)))
    out = tmp_path / "out.h5"
    out.write_bytes(b"keep")
    result = runner.invoke(app, ["data", "convert", str(src), str(out)])
    assert result.exit_code == 1
    assert "already exists" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["data", "convert", str(src), str(tmp_path / "x.h5"), "--resize", "big"])
    assert result.exit_code == 1 and "size 'big' is not understood" in result.output
    result = runner.invoke(app, ["data", "collect", "ale:pong", str(tmp_path / "p.h5")])
    assert result.exit_code == 1 and "exactly one of --steps N or --episodes N" in result.output
    result = runner.invoke(app, ["data", "inspect", str(tmp_path / "missing.h5")])
    assert result.exit_code == 1 and "no such file or directory" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eps", "out.h5"]


def test_collect_short_ale_name(tmp_path) -> None:
    out = tmp_path / "pong.h5"
    result = runner.invoke(app, ["data", "collect", "ale:pong", str(out), "--steps", "200", "--size", "32",
                                 "--policy", "random", "--seed", "3"])
    assert result.exit_code == 0, result.output
    dataset = open_dataset(out)
    assert dataset.total_steps == 200 and dataset.spec.height == 32
    assert np.isin(dataset.all_steps("actions"), np.arange(6)).all()

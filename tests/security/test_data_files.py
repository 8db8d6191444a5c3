"""Untrusted data files: crafted HDF5, npz, image and video files that would read other files,
allocate unbounded memory or end in a traceback if a guard failed. Each is refused with one line."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import square_world, write_padded_h5
from wm.cli.app import app
from wm.core.data import open_dataset
from wm.core.errors import WMError

runner = CliRunner()


def one_line_error(args: list[str]) -> str:
    """Run the CLI, expect exit 2 with one error line and no traceback; returns the output."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.strip().count("\n") == 0, result.output
    return result.output


def small_h5(path: Path, skip: tuple[str, ...] = ()) -> Path:
    """A valid 2-episode file without the keys in ``skip`` (a test adds them its own way)."""
    write_padded_h5(path, square_world(lengths=(6, 8), size=8), keys=())
    with h5py.File(path, "a") as f:
        for key in skip:
            del f[key]
    return path


def secret_h5(path: Path) -> Path:
    """Another file holding data the user never named."""
    with h5py.File(path, "w") as f:
        f["actions"] = np.full((2, 8), 3, dtype=np.int64)
        f["frames"] = np.full((2, 8, 3, 8, 8), 7, dtype=np.uint8)
        f.create_group("g")["frames"] = np.full((2, 8, 3, 8, 8), 7, dtype=np.uint8)
    return path


# 1. HDF5 objects that read other files are refused, naming the file and the key.


def test_external_link_refused(tmp_path) -> None:
    secret_h5(tmp_path / "secret.h5")
    path = small_h5(tmp_path / "data.h5", skip=("actions",))
    with h5py.File(path, "a") as f:
        f["actions"] = h5py.ExternalLink("secret.h5", "/actions")
    with pytest.raises(WMError, match=r"data\.h5: 'actions' is reached through an external link to 'secret\.h5' at '/actions'"):
        open_dataset(path)


def test_soft_link_through_an_external_group_refused(tmp_path) -> None:
    secret_h5(tmp_path / "secret.h5")
    path = small_h5(tmp_path / "data.h5", skip=("frames",))
    with h5py.File(path, "a") as f:
        f["outside"] = h5py.ExternalLink("secret.h5", "/g")
        f["frames"] = h5py.SoftLink("/outside/frames")
    with pytest.raises(WMError, match=r"'frames' is reached through an external link to 'secret\.h5' at '/outside'"):
        open_dataset(path)


def test_soft_link_inside_the_file_still_opens(tmp_path) -> None:
    path = small_h5(tmp_path / "data.h5")
    with h5py.File(path, "a") as f:
        f.move("actions", "stored/actions")
        f["actions"] = h5py.SoftLink("stored/actions")
    assert open_dataset(path).total_steps == 14


def test_external_storage_refused(tmp_path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.full((2, 8), 3, dtype=np.int64).tobytes())
    path = small_h5(tmp_path / "data.h5", skip=("actions",))
    with h5py.File(path, "a") as f:
        f.create_dataset("actions", shape=(2, 8), dtype=np.int64, external=[(str(secret), 0, 128)])
    with pytest.raises(WMError, match=r"'actions' keeps its data in external file .*secret\.bin"):
        open_dataset(path)


def test_virtual_dataset_refused_through_cli(tmp_path) -> None:
    secret_h5(tmp_path / "secret.h5")
    path = small_h5(tmp_path / "data.h5", skip=("frames",))
    layout = h5py.VirtualLayout(shape=(2, 8, 3, 8, 8), dtype=np.uint8)
    layout[:] = h5py.VirtualSource(str(tmp_path / "secret.h5"), "frames", shape=(2, 8, 3, 8, 8))
    with h5py.File(path, "a") as f:
        f.create_virtual_dataset("frames", layout)
    out = one_line_error(["data", "convert", str(path), str(tmp_path / "out.h5")])
    assert "'frames' is a virtual dataset" in out and "data.h5" in out
    assert "'frames' is a virtual dataset" in one_line_error(["data", "inspect", str(path)])
    assert not (tmp_path / "out.h5").exists() and not list(tmp_path.glob(".out*"))


def test_filter_plugin_refused_before_any_read(tmp_path) -> None:
    path = small_h5(tmp_path / "data.h5", skip=("actions",))
    with h5py.File(path, "a") as f:  # filter 32015 (zstd) is a plug-in HDF5 would search its plug-in path for
        f.create_dataset("actions", shape=(2, 8), dtype=np.int64, chunks=(2, 8), compression=32015,
                         allow_unknown_filter=True)
    with pytest.raises(WMError, match=r"'actions' uses HDF5 filter 32015 .*expected gzip, lzf or no compression"):
        open_dataset(path)


# 2. and 3. Sizes are checked against the stored data; per-step arrays are read without their padding.


def test_forged_shapes_refused_before_allocating(tmp_path) -> None:
    path = tmp_path / "bomb.h5"
    with h5py.File(path, "w") as f:  # 10^12 steps declared, no chunk written: a few kB on disk
        f.create_dataset("frames", shape=(10**6, 10**6, 1, 8, 8), dtype=np.uint8, chunks=(1, 1, 1, 8, 8))
        f.create_dataset("actions", shape=(10**6, 10**6), dtype=np.int64, chunks=(1, 64))
    assert path.stat().st_size < 10_000
    out = one_line_error(["data", "inspect", str(path)])
    assert "bomb.h5: 'actions' claims 8,000,000,000,000 bytes of data but stores 0" in out


def test_forged_lengths_refused(tmp_path) -> None:
    path = tmp_path / "bomb.h5"
    with h5py.File(path, "w") as f:  # valid steps claimed by 'lengths' live in chunks that were never written
        f.create_dataset("frames", shape=(2, 10**9, 1, 8, 8), dtype=np.uint8, chunks=(1, 1, 1, 8, 8))
        f.create_dataset("actions", shape=(2, 10**9), dtype=np.int64, chunks=(1, 64))
        f["actions"][:, :4] = 1
        f["frames"][:, :4] = 1
        f["lengths"] = np.array([10**9, 10**9])
    with pytest.raises(WMError, match=r"bomb\.h5: 'frames' claims 128,000,000,000 bytes of data"):
        open_dataset(path)


def test_huge_frame_size_refused(tmp_path) -> None:
    path = small_h5(tmp_path / "data.h5", skip=("frames",))
    with h5py.File(path, "a") as f:
        f.create_dataset("frames", shape=(2, 8, 3, 100_000, 100_000), dtype=np.uint8, chunks=(1, 1, 3, 64, 64))
    with pytest.raises(WMError, match=r"'frames' has 100000x100000 frames; expected at most"):
        open_dataset(path)


def test_padded_actions_are_not_read_whole(tmp_path) -> None:
    path = tmp_path / "padded.h5"
    t = 10_000_000  # 160 MB of padded int64 actions declared; 2 x 5 steps stored
    with h5py.File(path, "w") as f:
        f.create_dataset("frames", shape=(2, t, 1, 8, 8), dtype=np.uint8, chunks=(1, 16, 1, 8, 8), compression="gzip")
        f.create_dataset("actions", shape=(2, t), dtype=np.int64, chunks=(1, 256), compression="gzip")
        f.create_dataset("rewards", shape=(2, t), dtype=np.float32, chunks=(1, 256), compression="gzip")
        f["frames"][:, :5] = 9
        f["actions"][:, :5] = 1
        f["rewards"][:, :5] = 0.5
        f["lengths"] = np.array([5, 5])
    tracemalloc.start()
    try:
        dataset = open_dataset(path)
        dataset.read(1, 0, 5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6
    assert dataset.all_steps("actions").tolist() == [1] * 10
    assert dataset.read(1, 2, 5)["rewards"].tolist() == [0.5] * 3

"""Untrusted data files: crafted HDF5, npz, image and video files that would read other files,
allocate unbounded memory or end in a traceback if a guard failed. Each is refused with one line."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import square_world, write_padded_h5
from wm.cli.app import app
from wm.core.data import open_dataset
from wm.core.data.media import VideoEpisodes
from wm.core.errors import WMError

runner = CliRunner()


def one_line_error(args: list[str]) -> str:
    """Run the CLI, expect exit 1 with one error line and no traceback; returns the output."""
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
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
    with pytest.raises(WMError, match=r"data\.h5: 'actions' is reached through an external link to 'secret\.h5'"):
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


PLUGIN_C = """
#include <stdio.h>
__attribute__((constructor)) static void loaded(void) { FILE *f = fopen(MARKER, "w"); if (f) fclose(f); }
int H5PLget_plugin_type(void) { return 0; }
const void *H5PLget_plugin_info(void) { return 0; }
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to build a stand-in filter plug-in")
def test_filter_plugin_never_loaded(tmp_path) -> None:
    plugins, marker = tmp_path / "plugins", tmp_path / "plugin-was-loaded"
    plugins.mkdir()
    (tmp_path / "plugin.c").write_text(PLUGIN_C)
    subprocess.run(["gcc", "-shared", "-fPIC", f'-DMARKER="{marker}"', "-o", str(plugins / "libstandin.so"),
                    str(tmp_path / "plugin.c")], check=True)
    path = small_h5(tmp_path / "data.h5", skip=("actions",))
    with h5py.File(path, "a") as f:  # filter 32015 (zstd): HDF5 would search its plug-in path to decode the chunk
        data = f.create_dataset("actions", shape=(2, 8), dtype=np.int64, chunks=(2, 8), compression=32015,
                                allow_unknown_filter=True)
        data.id.write_direct_chunk((0, 0), bytes(128), filter_mask=0)
    h5py.h5pl.prepend(str(plugins).encode())
    try:
        with pytest.raises(WMError, match=r"'actions' uses HDF5 filter 32015; expected gzip, lzf or no compression"):
            open_dataset(path)
    finally:
        h5py.h5pl.remove(0)
    assert not marker.exists()


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
    with pytest.raises(WMError, match=r"'frames' is 100000x100000 pixels per frame; expected at most"):
        open_dataset(path)


def test_action_counts_bounded_through_cli(tmp_path) -> None:
    path = small_h5(tmp_path / "data.h5")
    with h5py.File(path, "a") as f:  # inspect counts every action: 10^12 counters
        f.attrs["num_actions"] = 10**12
    assert "'num_actions' implies 1,000,000,000,000 discrete actions" in one_line_error(["data", "inspect", str(path)])
    folder = tmp_path / "eps"
    folder.mkdir()
    np.savez(folder / "ep0.npz", frames=np.zeros((2, 1, 8, 8), np.uint8), actions=np.array([0, 10**12]))
    with pytest.raises(WMError, match=r"ep0\.npz: 'actions' implies 1,000,000,000,001 discrete actions"):
        open_dataset(folder)


def test_huge_chunks_refused(tmp_path) -> None:
    path = small_h5(tmp_path / "data.h5", skip=("frames",))
    with h5py.File(path, "a") as f:  # reading one frame would decode one 3 GB chunk
        f.create_dataset("frames", shape=(2, 3000, 1, 1024, 1024), dtype=np.uint8, chunks=(1, 3000, 1, 1024, 1024),
                         compression="gzip")
    with pytest.raises(WMError, match=r"'frames' has chunks \(1, 3000, 1, 1024, 1024\) of 3,145,728,000 bytes"):
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
        result = runner.invoke(app, ["data", "inspect", str(path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert peak < 40e6 and "10 (100%)" in result.output
    dataset = open_dataset(path)
    assert dataset.all_steps("actions").tolist() == [1] * 10
    assert dataset.read(1, 2, 5)["rewards"].tolist() == [0.5] * 3


# npz episodes: headers checked against the zip entry before allocating; windows read without the whole file.


def forged_npz(path: Path, shapes: dict[str, tuple[int, ...]], descr: str = "|u1") -> Path:
    """An .npz whose members declare ``shapes`` but hold a few bytes each."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, shape in shapes.items():
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
            archive.writestr(f"{key}.npy", header.getvalue() + bytes(64))
    return path


def test_forged_npz_shapes_refused_through_cli(tmp_path) -> None:
    folder = tmp_path / "eps"
    folder.mkdir()
    forged_npz(folder / "ep0.npz", {"frames": (10**12, 1, 8, 8), "actions": (10**12,)})
    assert (folder / "ep0.npz").stat().st_size < 1000
    out = one_line_error(["data", "inspect", str(folder)])
    assert "ep0.npz: 'frames' declares shape (1000000000000, 1, 8, 8)" in out and "holds 64" in out
    forged_npz(folder / "ep0.npz", {"frames": (1, 1, 8, 8), "actions": (10**12,)})
    with pytest.raises(WMError, match=r"'actions' declares shape \(1000000000000,\)"):
        open_dataset(folder)


def test_npz_object_arrays_refused(tmp_path) -> None:
    folder = tmp_path / "eps"
    folder.mkdir()
    np.savez(folder / "ep0.npz", frames=np.zeros((2, 1, 8, 8), np.uint8), actions=np.array([1, None], dtype=object))
    with pytest.raises(WMError, match=r"ep0\.npz: 'actions' has dtype object; expected numbers"):
        open_dataset(folder)


def test_npz_window_does_not_load_the_whole_file(tmp_path) -> None:
    folder = tmp_path / "eps"
    folder.mkdir()
    frames = np.zeros((4000, 1, 64, 64), np.uint8)  # 16 MB of frames, a few kB compressed
    frames[15] = 200
    np.savez_compressed(folder / "ep0.npz", frames=frames, actions=np.arange(4000) % 3)
    dataset = open_dataset(folder)
    tracemalloc.start()
    try:
        window = dataset.read(0, 10, 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4e6
    assert window["frames"][5].max() == 200 and window["actions"].tolist() == [1, 2, 0, 1, 2, 0, 1, 2, 0, 1]
    assert dataset.read(0, 3990, 4000)["frames"].shape == (10, 1, 64, 64)
    assert dataset.read(0, 15, 16)["frames"].max() == 200  # a window before the stream's position restarts it


# Images and videos: bombs, forged sizes and corrupt files are one line; videos stream.


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares width x height grey pixels and holds almost no image data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(64)))
                     + chunk(b"IEND", b""))
    return path


def image_folder(root: Path, count: int = 4, suffix: str = ".png") -> Path:
    """SRC/ep0/ with ``count`` real RGB frames and their actions."""
    episode = root / "frames" / "ep0"
    episode.mkdir(parents=True)
    for i, frame in enumerate(square_world(lengths=(count,), size=16)[0]["frames"]):
        iio.imwrite(episode / f"{i}{suffix}", frame.transpose(1, 2, 0))
    np.save(episode / "actions.npy", np.zeros(count, np.int64))
    return root / "frames"


@pytest.mark.parametrize(("side", "message"), [
    (20_000, "refused as a decompression bomb"),  # PIL's DecompressionBombError
    (10_000, "refused as a decompression bomb"),  # PIL's DecompressionBombWarning, made an error
    (5_000, "'image' is 5000x5000 pixels per frame; expected at most"),  # under PIL's limit, over wm's
])
def test_image_bombs_refused_through_cli(tmp_path, side: int, message: str) -> None:
    src = image_folder(tmp_path)
    png_header_only(src / "ep0" / "0.png", side, side)
    out = one_line_error(["data", "convert", str(src), str(tmp_path / "out.h5")])
    assert "0.png" in out and message in out


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_image_is_one_line_and_nothing_is_written(tmp_path, suffix: str) -> None:
    src = image_folder(tmp_path, suffix=suffix)
    broken = src / "ep0" / f"2{suffix}"  # not the first frame: convert has already started writing
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    out = one_line_error(["data", "convert", str(src), str(tmp_path / "out.h5")])
    assert f"2{suffix}: not a readable image" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_forged_actions_npy_refused(tmp_path) -> None:
    src = image_folder(tmp_path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<i8", "fortran_order": False, "shape": (10**12,)})
    (src / "ep0" / "actions.npy").write_bytes(header.getvalue() + bytes(32))
    out = one_line_error(["data", "convert", str(src), str(tmp_path / "out.h5")])
    assert "actions.npy: 'actions' declares shape (1000000000000,)" in out


def write_video(path: Path, frames: int) -> Path:
    iio.imwrite(path, np.tile(np.arange(64, dtype=np.uint8)[None, :, None, None], (frames, 1, 64, 3)), fps=10)
    np.save(path.with_suffix(".npy"), np.zeros(frames, np.int64))
    return path


def test_truncated_video_is_one_line_and_nothing_is_written(tmp_path) -> None:
    (tmp_path / "videos").mkdir()
    video = write_video(tmp_path / "videos" / "ep0.mp4", 12)
    video.write_bytes(video.read_bytes()[:-200])  # the index (moov) is at the end: the file is unreadable
    out = one_line_error(["data", "convert", str(tmp_path / "videos"), str(tmp_path / "out.h5")])
    assert "ep0.mp4: could not" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["videos"]


def test_video_streams_instead_of_decoding_whole(tmp_path) -> None:
    video = write_video(tmp_path / "ep0.mp4", 600)  # 7 MB decoded
    tracemalloc.start()
    try:
        dataset = VideoEpisodes(video)
        window = dataset.read(0, 5, 15)["frames"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3e6 and window.shape == (10, 3, 64, 64)
    assert dataset.read(0, 590, 600)["frames"].shape == (10, 3, 64, 64)

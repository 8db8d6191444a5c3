"""Atomic files: fsynced before the rename and their folder after it, created per the umask,
and the leftovers of a killed write recognised and removed."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import square_world, write_canonical
from wm.core.files import atomic_path, remove_leftovers, write_text_atomic


@pytest.fixture
def disk_log(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every os.fsync (by inode) and os.replace (by the inode renamed), in the order they happen."""
    events: list[tuple[str, int]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append(("replace", os.lstat(src).st_ino))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def _write_text(path: Path) -> None:
    write_text_atomic(path, "hello")


def _write_h5(path: Path) -> None:
    write_canonical(path, square_world((4,), size=8))


def _write_checkpoint(path: Path) -> None:
    import torch

    from wm.core.checkpoint import Checkpoint, save_checkpoint
    from wm.core.data.spec import DataSpec

    spec = DataSpec(channels=1, height=8, width=8, action_kind="discrete", num_actions=2)
    save_checkpoint(path, Checkpoint({}, spec, {"w": torch.zeros(2)}))


@pytest.mark.parametrize("write, name", [(_write_text, "a.txt"), (_write_h5, "d.h5"), (_write_checkpoint, "c.pt")])
def test_file_then_rename_then_folder_reach_the_disk(
    write: Callable[[Path], None], name: str, tmp_path: Path, disk_log: list[tuple[str, int]]
) -> None:
    path = tmp_path / name
    write(path)
    file, folder = path.stat().st_ino, tmp_path.stat().st_ino
    renamed = disk_log.index(("replace", file))
    assert ("fsync", file) in disk_log[:renamed]  # the bytes are on disk before the name points at them
    assert ("fsync", folder) in disk_log[renamed:]  # and the new name itself survives a power loss


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_files_follow_the_umask(mask: int, mode: int, tmp_path: Path) -> None:
    previous = os.umask(mask)
    try:
        write_text_atomic(tmp_path / "a.txt", "hello")
        with atomic_path(tmp_path / "b.bin") as tmp:
            tmp.write_bytes(b"\0")
    finally:
        os.umask(previous)
    for name in ("a.txt", "b.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_remove_leftovers_drops_only_unfinished_writes(tmp_path: Path) -> None:
    leftovers = [".epoch_1.k2j_4hx9.pt", ".last.0a1b2c3d.pt", ".config.ab12cd34.yaml", ".metrics.ab12cd34"]
    kept = ["epoch_1.pt", ".gitignore", ".notes.txt", "last.pt", ".epoch_1.pt"]
    for name in leftovers + kept:
        (tmp_path / name).write_text("x")
    os.symlink("epoch_1.pt", tmp_path / ".last.ffff0000.pt")  # a killed link_last leaves a link
    removed = remove_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == sorted([*leftovers, ".last.ffff0000.pt"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    assert remove_leftovers(tmp_path / "missing") == []

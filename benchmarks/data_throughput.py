"""Training-data throughput: frames/s of batches of 16 x 64 frames at 64x64 through DataLoader workers.

Reads a compressed canonical HDF5 file from disk with ``make_loader`` and reports frames/s and the
peak resident memory of the main process plus its workers (psutil, sampled every batch).

    python benchmarks/data_throughput.py                       # the built-in Breakout dataset
    python benchmarks/data_throughput.py --data pong.h5 --workers 0 2
    python benchmarks/data_throughput.py --make-gb 3           # also a 3 GB file: memory must not grow

``--make-gb`` writes incompressible noise frames (the worst case for disk reads and decompression)
so that a file of that size on disk holds that many bytes of frames; it is deleted afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from rich.console import Console
from rich.table import Table

from wm.core.data import DataSpec, EpisodeWriter, make_loader
from wm.core.data.builtin import builtin_dataset

EPISODE_STEPS = 1000


def resident_bytes() -> int:
    """RSS of this process and all its children (DataLoader workers)."""
    me = psutil.Process()
    return sum(p.memory_info().rss for p in [me, *me.children(recursive=True)] if p.is_running())


def make_big_file(path: Path, gigabytes: float, console: Console) -> Path:
    spec = DataSpec(channels=3, height=64, width=64, num_actions=6)
    frame_bytes = 3 * 64 * 64
    episodes = max(1, int(gigabytes * 1e9 / (frame_bytes * EPISODE_STEPS)))
    rng = np.random.default_rng(0)
    with console.status(f"writing {episodes} noise episodes of {EPISODE_STEPS} frames to {path}"):
        with EpisodeWriter(path, spec, source="benchmark noise") as writer:
            for _ in range(episodes):
                frames = rng.integers(0, 256, (EPISODE_STEPS, 3, 64, 64), dtype=np.uint8)
                writer.add_episode(frames, rng.integers(0, 6, EPISODE_STEPS))
    return path


def measure(path: Path, workers: int, batches: int, batch_size: int, seq_len: int) -> tuple[float, int]:
    """(frames per second, peak resident bytes) over ``batches`` batches after two warm-up batches."""
    loader = make_loader(path, seq_len=seq_len, batch_size=batch_size, seed=0, num_workers=workers)
    for batch in itertools.islice(loader, 2):
        assert batch["frames"].shape == (batch_size, seq_len, 3, 64, 64)
    peak = resident_bytes()
    start = time.perf_counter()
    for _ in itertools.islice(loader, batches):
        peak = max(peak, resident_bytes())
    seconds = time.perf_counter() - start
    del loader
    return batches * batch_size * seq_len / seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="canonical HDF5 file (default: the built-in dataset)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader worker counts to try")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--make-gb", type=float, default=0.0, help="also measure on a generated file of this size")
    args = parser.parse_args()
    console = Console()
    files = [(args.data or builtin_dataset(console.print), "dataset")]
    tmp = tempfile.TemporaryDirectory()
    if args.make_gb > 0:
        files.append((make_big_file(Path(tmp.name) / "big.h5", args.make_gb, console), "noise"))
    table = Table("file", "size on disk", "workers", "frames/s", "peak RSS (all processes)")
    for path, kind in files:
        for workers in args.workers:
            fps, peak = measure(path, workers, args.batches, args.batch_size, args.seq_len)
            table.add_row(f"{path.name} ({kind})", f"{path.stat().st_size / 1e6:,.1f} MB", str(workers),
                          f"{fps:,.0f}", f"{peak / 1e6:,.0f} MB")
    console.print(table)
    tmp.cleanup()


if __name__ == "__main__":
    main()

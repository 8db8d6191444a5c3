"""train.precision: auto follows what the CPU computes natively; bf16 forced really trains under bf16 autocast."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.core.training.conftest import tiny_config
from wm.core.training import Trainer
from wm.core.training.precision import resolve_precision

CPU = torch.device("cpu")


def cpu_flags() -> set[str]:
    """The flags this CPU announces in /proc/cpuinfo (Linux)."""
    info = Path("/proc/cpuinfo")
    if not info.is_file():
        pytest.skip("no /proc/cpuinfo to read the CPU's flags from")
    return {flag for line in info.read_text().splitlines() if line.startswith("flags") for flag in line.split(":")[1].split()}


def test_auto_follows_the_cpu_flags() -> None:
    flags = cpu_flags()
    native = [name for name, flag in (("avx512_bf16", "avx512_bf16"), ("AMX", "amx_tile")) if flag in flags]
    chosen = resolve_precision("auto", CPU)
    if native:
        assert chosen.name == "bf16" and chosen.autocast
        assert str(chosen) == f"bf16 (train.precision=auto: bf16 is native on this CPU, {native[0]})"
    else:
        assert chosen.name == "fp32" and not chosen.autocast
        assert str(chosen) == "fp32 (train.precision=auto: this CPU has neither avx512_bf16 nor AMX)"


def test_a_setting_by_name_is_kept() -> None:
    assert str(resolve_precision("fp32", CPU)) == "fp32 (train.precision=fp32)"
    assert resolve_precision("bf16", CPU).name == "bf16"
    assert resolve_precision("bf16", torch.device("mps")).reason == "train.precision=bf16; mps emulates it, slower than fp32"
    assert resolve_precision("auto", torch.device("mps")).name == "fp32"


def test_forced_bf16_trains_under_autocast_and_the_run_says_so(pong: Path, tmp_path: Path) -> None:
    config = tiny_config(pong, tmp_path, "bf16", "train.precision=bf16", "train.eval_at_end=false", "train.epochs=1")
    trainer = Trainer(config)
    seen: set[torch.dtype] = set()
    for module in trainer.model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            module.register_forward_hook(lambda m, inputs, output: seen.add(output.dtype) if m.training else None)
    result = trainer.fit()
    assert result.step == 3 and torch.bfloat16 in seen
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    first = (tmp_path / "bf16" / "config.yaml").read_text().splitlines()[0]
    assert first.startswith("# ran on cpu (train.device=cpu), precision bf16 (train.precision=bf16"), first


def test_auto_is_the_default_and_the_presets_measured_in_fp32_keep_it(pong: Path, tmp_path: Path) -> None:
    from wm.core.config import load_config

    assert load_config(["default"], []).train.precision == "auto"
    assert {load_config([name], []).train.precision for name in ("debug", "cpu30")} == {"fp32"}
    config = tiny_config(pong, tmp_path, "auto", "train.precision=auto")
    assert Trainer(config).precision == resolve_precision("auto", CPU)

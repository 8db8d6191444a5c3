"""The root command: help, version, lazy imports, and the one-line error contract."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from wm import __version__
from wm.cli.app import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"wm {__version__}"


def test_help_lists_groups_and_imports_no_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from wm.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "out = CliRunner().invoke(app, ['--help']).output\n"
        "heavy = [m for m in ('torch', 'h5py', 'gymnasium', 'pygame', 'transformers') if m in sys.modules]\n"
        "print(heavy)\n"
        "print(out)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, _, help_text = proc.stdout.partition("\n")
    assert first == "[]"
    for group in ("data", "train", "rollout", "hub"):
        assert group in help_text


def test_user_error_is_one_red_line_exit_2(tmp_path) -> None:
    env = {**os.environ, "WM_DEBUG": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "wm", "train", "--print-config", "train.lrr=1"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["error: unknown config key 'train.lrr'; closest valid key: 'train.lr'"]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_debug_flag_shows_traceback(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wm", "--debug", "train", "--print-config", "train.lrr=1"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "ConfigError" in proc.stderr


def test_exit_codes(tmp_path, monkeypatch) -> None:
    """0 ok, 1 error (a WMError or an unexpected failure), 2 usage (flags, overrides, presets), 130 Ctrl-C."""
    import wm.core.config

    assert runner.invoke(app, ["train", "--print-config", "run.name=no"]).exit_code == 0
    missing = runner.invoke(app, ["data", "inspect", str(tmp_path / "missing.h5")])
    assert missing.exit_code == 1 and missing.output.startswith("error: ")
    for usage in (["train", "--no-such-flag"], ["train", "train.lrr=1"], ["train", "-p", "nope"], ["data", "inspect"]):
        assert runner.invoke(app, usage).exit_code == 2, usage

    def fail(error: BaseException):  # noqa: ANN202
        def load_config(*args: object, **kwargs: object) -> None:
            raise error

        return load_config

    monkeypatch.setattr(wm.core.config, "load_config", fail(RuntimeError("a bug")))
    crashed = runner.invoke(app, ["train", "--print-config"])
    assert crashed.exit_code == 1 and isinstance(crashed.exception, RuntimeError)
    monkeypatch.setattr(wm.core.config, "load_config", fail(KeyboardInterrupt()))
    stopped = runner.invoke(app, ["train", "--print-config"])
    assert stopped.exit_code == 130 and stopped.output == "error: interrupted\n"

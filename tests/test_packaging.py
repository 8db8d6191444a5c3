"""A non-editable install ships the presets inside the package and `wm` finds them there."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_presets_and_finds_them(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = wheels.glob("wm_world_models-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).stem for n in names if n.startswith("wm/presets/") and n.endswith(".yaml")}
    assert {p.stem for p in (ROOT / "presets").glob("*.yaml")} == shipped
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True, capture_output=True,
    )
    code = "from wm.core.config import load_config, preset_dir; print(preset_dir()); print(load_config(['debug']).model.size)"
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    found, size = proc.stdout.split()
    assert Path(found) == target / "wm" / "presets"
    assert size == "xs"


def test_distribution_name_is_the_one_every_install_line_uses() -> None:
    """PyPI's "wm" is another project: the distribution is wm-world-models, the command and import stay wm."""
    import re
    import tomllib
    from importlib import metadata

    from wm import DISTRIBUTION, __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION != "wm" and project["scripts"] == {"wm": "wm.cli.app:main"}
    assert metadata.version(DISTRIBUTION) == __version__ == project["version"]
    assert any(c.startswith("Topic ::") for c in project["classifiers"]) and project["license"] == "MIT"
    assert all(extra.startswith(f"{DISTRIBUTION}[") for extra in project["optional-dependencies"]["all"])
    sources = [p for p in (ROOT / "wm").rglob("*.py")]
    installs = [m for p in sources for m in re.findall(r"pip install '?([\w-]+)", p.read_text())]
    assert installs and set(installs) == {DISTRIBUTION}

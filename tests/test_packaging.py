"""The installed distribution holds every package the code imports (a wheel, not the checkout)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_distributed():
    config = (ROOT / "pyproject.toml").read_text()
    section = config.split("[tool.setuptools.packages.find]", 1)[1]
    include = re.findall(r'"([^"]+)"', section.split("\n[", 1)[0])
    on_disk = [
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("engine", "specs", "formats")
        for init in (ROOT / top).rglob("__init__.py")
    ]
    assert "engine.cli.commands" in on_disk
    missing = [name for name in on_disk if not any(fnmatch.fnmatch(name, p) for p in include)]
    assert not missing, f"not distributed: {missing}"


def test_metadata_license_and_typing_marker_ship():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"  # an SPDX expression, not a table
    assert "Copyright (c)" in (ROOT / "LICENSE").read_text()
    assert "mnist-engine contributors" in (ROOT / "LICENSE").read_text()
    assert any(d.startswith("tqdm") for d in project["project"]["dependencies"])
    data = project["tool"]["setuptools"]["package-data"]
    for package in ("engine", "specs", "formats"):
        assert (ROOT / package / "py.typed").is_file()
        assert "py.typed" in data[package]

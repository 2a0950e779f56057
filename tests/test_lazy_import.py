"""`import engine` is cheap: heavy modules load on first use, public names stay the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parent.parent


def test_import_engine_loads_no_heavy_module():
    probe = (
        "import sys, engine; "
        "print(sorted(m for m in ('pydantic', 'construct', 'PIL', 'lxml', 'engine.api', "
        "'engine.registry', 'formats') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_every_public_name_resolves_and_is_listed():
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
    assert set(engine.__all__) <= set(dir(engine))
    assert engine.load.__module__ == "engine.api"
    assert issubclass(engine.FormatError, engine.EngineError)


def test_an_unknown_name_is_an_attribute_error():
    try:
        engine.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("engine.no_such_name did not raise")

"""The import graph stays a ladder: no circles, no upward imports (tools/import_graph.py)."""

from __future__ import annotations

from pathlib import Path

from tools import import_graph


def test_project_has_no_import_circles_and_no_upward_imports():
    edges = import_graph.graph()
    assert edges, "the checker found no imports at all"
    assert import_graph.circles(edges) == []
    assert import_graph.upward(edges) == []


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_checker_finds_a_circle_through_a_function_level_import(tmp_path):
    _tree(
        tmp_path,
        {
            "engine/__init__.py": "",
            "engine/model/__init__.py": "from engine.model.a import x\n",
            "engine/model/a.py": "def x():\n    from engine.model import b\n",
            "engine/model/b.py": "from . import a\n",
            "specs/__init__.py": "",
            "formats/__init__.py": "",
        },
    )
    found = import_graph.circles(import_graph.graph(tmp_path))
    assert found == [["engine.model.a", "engine.model.b"]]


def test_checker_flags_a_model_module_importing_the_api(tmp_path):
    _tree(
        tmp_path,
        {
            "engine/__init__.py": "",
            "engine/api.py": "",
            "engine/model/__init__.py": "",
            "engine/model/dataset.py": "def load():\n    from engine.api import load\n",
            "specs/__init__.py": "",
            "formats/__init__.py": "",
        },
    )
    edges = import_graph.upward(import_graph.graph(tmp_path))
    assert [(e.source, e.target) for e in edges] == [("engine.model.dataset", "engine.api")]

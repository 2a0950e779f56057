"""Sphinx configuration of the documentation site: Markdown pages (MyST), the API reference from
the docstrings (autodoc) and the format reference generated from the specs and the options
models (tools/gen_format_docs.py). Build: `python3 -m sphinx -W -b html docs docs/_build/html`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402 - after the path is set

project = "mnist-engine"
author = "mnist-engine contributors"
copyright = "mnist-engine contributors"
release = engine.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
html_theme = "furo"
html_title = "mnist-engine"

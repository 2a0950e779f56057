"""The generated format reference is up to date with the specs and the options models."""

from __future__ import annotations

from tools import gen_format_docs


def test_the_format_reference_page_is_not_stale():
    committed = gen_format_docs.PAGE.read_text(encoding="utf-8")
    assert committed == gen_format_docs.render(), (
        "docs/reference/formats.md is stale: run `python3 tools/gen_format_docs.py`"
    )


def test_the_page_lists_every_format_with_its_options():
    page = gen_format_docs.render()
    for name in ("mnist", "emnist", "parquet", "cifar"):
        assert f"\n## {name}\n" in page
    assert "| `row_group_size` | int | `10000` |" in page
    assert "`'byclass'` \\| `'bymerge'`" in page

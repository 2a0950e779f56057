"""Fault campaign on the "know your data" surfaces (issue 17): hostile dataset cards read back
by load, verify and info; terminal control characters in what the command line prints; the
report's escaping and output paths; degenerate datasets and options of dedup and validate; kill -9
during their writes. Each test here failed before the fix it names."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

import engine
from engine.cli import main
from engine.ops.card import CROISSANT
from tests.conftest import make_dataset


def carded(tmp_path: Path, change=None) -> Path:
    """A small MNIST export with a card; ``change(document)`` edits its croissant.json."""
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out, card=True)
    if change is not None:
        document = json.loads((out / CROISSANT).read_text(encoding="utf-8"))
        change(document)
        (out / CROISSANT).write_text(json.dumps(document), encoding="utf-8")
    return out


def file_object(url: str, size: object = "1 B") -> dict:
    return {"@type": "cr:FileObject", "contentUrl": url, "sha256": "0" * 64, "contentSize": size}


# -- the card's recorded history is never read from disk ------------------------------------------
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_recorded_history_paths_are_not_read_on_save(tmp_path):
    """A card's history naming /dev/zero with no hash made the next save with a card hash
    /dev/zero for ever (and a FIFO would block): a history is kept as recorded."""

    def hostile(document):
        document["mnist_engine:provenance"]["sources"].append(
            {"path": "/dev", "format": "x", "files": [{"path": "zero", "size": 0}]}
        )

    out = carded(tmp_path, hostile)
    loaded = engine.load(None, out)
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("hashing a recorded path: a hang"))
    signal.alarm(20)
    try:
        engine.save(loaded, "mnist", tmp_path / "again", card=True)
    finally:
        signal.alarm(0)
    history = engine.load(None, tmp_path / "again").lineage.sources[0].history
    assert history is not None
    recorded = history.sources[0].history
    assert recorded is not None and recorded.sources[-1].files[0].sha256 is None


# -- verify against a hostile croissant.json ------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    ["a\0b", "sub/a\0b", "a" * 5000, "/".join(["a" * 200] * 40), "loop/x"],
    ids=["nul", "nested-nul", "long", "long-nested", "symlink-loop"],
)
def test_verify_skips_content_urls_the_os_refuses(tmp_path, url, capsys):
    """NUL bytes (ValueError), over-long names (OSError) and symbolic-link loops (RuntimeError)
    in a contentUrl aborted verify with a bare exception."""
    out = carded(tmp_path, lambda d: d["distribution"].append(file_object(url)))
    (out / "loop").symlink_to("loop")
    checks = engine.verify(out)
    assert {c.status for c in checks} <= {"card", "recorded", "unverifiable", "unknown"}
    assert main(["verify", str(out)]) == 0


@pytest.mark.parametrize(
    "size",
    ["\u00b2 B", "9" * 5000 + " B", "\u0661\u0662 B", [1], 10**30],
    ids=["superscript", "5000-digits", "arabic-indic", "list", "big-int"],
)
def test_odd_content_size_leaves_the_card_readable(tmp_path, size):
    """A contentSize of "²" (str.isdigit, but int() refuses it) or 5,000 digits made the whole
    card unreadable: the size is just unknown."""
    out = carded(tmp_path, lambda d: d["distribution"].append(file_object("x", size)))
    checks = {c.path.name: c for c in engine.verify(out)}
    assert checks[CROISSANT].status == "card"
    assert checks["x"].status == "missing"


def test_deeply_nested_provenance_is_warned_not_a_crash(tmp_path, capsys):
    """Options nested 900 deep parse as JSON but overflowed the recursion of what walks them
    (RecursionError from load and info): the card's provenance is left out with a warning."""
    deep = json.loads("[" * 900 + "]" * 900)

    def hostile(document):
        step = {"kind": "transform", "name": "x", "options": {"a": deep}}
        document["mnist_engine:provenance"]["steps"].append(step)

    out = carded(tmp_path, hostile)
    with pytest.warns(engine.CardWarning, match="nested"):
        loaded = engine.load(None, out)
    assert loaded.lineage.sources[0].history is None
    for command in (["info", str(out)], ["info", "--json", str(out)]):
        assert main(command) == 0
    assert "unexpected" not in capsys.readouterr().err


# -- what the command line prints is neutralised ------------------------------------------------
CONTROLS = ["\x1b[2J", "\x1b]0;pwn\x07", "\x08", "\u202e", "\x9b31m", "\r"]
HOSTILE_NAMES = ["\x1b[2Jzero", "\x1b]0;pwn\x07one", "back\x08space", "\u202eruof", "\x9b31m"]


def raw_controls(text: str) -> list[str]:
    return [c for c in "\x1b\x07\x08\r\u202e\x9b" if c in text]


def test_cli_output_shows_control_characters_escaped(tmp_path, capsys):
    """Class names and recorded provenance were printed raw: ESC [2J cleared the screen, ESC ]0;
    retitled the window, U+202E reversed what followed (info, info --json, validate, stats)."""
    dataset = make_dataset()
    dataset.categories = [*HOSTILE_NAMES, *map(str, range(5, 10))]

    out = tmp_path / "out"
    engine.save(dataset, "mnist", out, card=True)
    document = json.loads((out / CROISSANT).read_text(encoding="utf-8"))
    evil = "".join(CONTROLS) + "evil"
    document["mnist_engine:provenance"]["sources"].append(
        {"path": evil, "format": evil, "files": [{"path": evil, "size": 1, "sha256": evil}]}
    )
    (out / CROISSANT).write_text(json.dumps(document), encoding="utf-8")
    for command in (["info"], ["info", "--json"], ["validate"], ["stats"], ["dedup"]):
        capsys.readouterr()
        assert main([*command, str(out)]) in (0, 1)
        printed = capsys.readouterr()
        assert not raw_controls(printed.out + printed.err), command
        if command == ["info"]:
            assert "\\u001b[2Jzero" in printed.out and "\\u000devil" in printed.out
        if command == ["info", "--json"]:  # still JSON, naming the same classes
            assert json.loads(printed.out)["classes"][:5] == HOSTILE_NAMES


def test_error_line_with_control_characters_is_one_neutral_line(tmp_path, capsys):
    """An error naming a path with ESC [2J or a newline printed it raw, over two lines."""
    assert main(["info", str(tmp_path / "x\n\x1b[2Jy")]) == 2
    err = capsys.readouterr().err
    assert not raw_controls(err) and err.count("\n") == 1 and err.startswith("mnist-engine: error")

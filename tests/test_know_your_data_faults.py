"""Fault campaign on the "know your data" surfaces (issue 17): hostile dataset cards read back
by load, verify and info; terminal control characters in what the command line prints; the
report's escaping and output paths; degenerate datasets and options of dedup and validate; kill -9
during their writes. Each test here failed before the fix it names."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.cli import main
from engine.ops.card import CROISSANT
from tests.conftest import make_dataset

ROOT = Path(__file__).resolve().parent.parent


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


def test_card_readme_shows_control_characters_escaped(tmp_path):
    """A class name or recorded provenance holding ESC [2J went raw into README.md, where
    ``cat README.md`` acted on it; it is written as a visible \\uXXXX escape."""
    dataset = make_dataset()
    dataset.categories = [*HOSTILE_NAMES, *map(str, range(5, 10))]
    first = tmp_path / "first"
    engine.save(dataset, "mnist", first, card=True)
    document = json.loads((first / CROISSANT).read_text(encoding="utf-8"))
    evil = "".join(CONTROLS) + "evil"
    document["mnist_engine:provenance"]["sources"].append({"path": evil, "format": evil})
    (first / CROISSANT).write_text(json.dumps(document), encoding="utf-8")
    second = tmp_path / "second"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine.save(engine.load(None, first), "mnist", second, card=True)
    body = (second / "README.md").read_text(encoding="utf-8").split("\n---\n", 1)[1]
    assert not raw_controls(body)
    assert "u001b\\[2Jzero" in body  # the class table (Markdown escapes the bracket)
    assert "u001b[2J" in body and "u000devil" in body  # the provenance block


def test_error_line_with_control_characters_is_one_neutral_line(tmp_path, capsys):
    """An error naming a path with ESC [2J or a newline printed it raw, over two lines."""
    assert main(["info", str(tmp_path / "x\n\x1b[2Jy")]) == 2
    err = capsys.readouterr().err
    assert not raw_controls(err) and err.count("\n") == 1 and err.startswith("mnist-engine: error")


# -- kill -9 while the report or the duplicate sheet is written ----------------------------------
def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "engine", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("verb", ["report", "dedup"])
def test_kill_while_writing_leaves_the_old_or_the_new_file(tmp_path, verb):
    """SIGKILL when the temporary file appears, or at a random moment: the target is the old
    file or a whole new one, and the dataset folder is untouched (no temporary file in it)."""
    data = tmp_path / "data"
    engine.save(make_dataset((("train", 40), ("test", 20))), "mnist", data)
    before = sorted(p.name for p in data.iterdir())
    target = tmp_path / ("r.html" if verb == "report" else "s.png")
    flag = ["-o"] if verb == "report" else ["--sheet"]
    assert _start(verb, "-q", str(data), *flag, str(target)).wait(timeout=60) == 0
    new = target.read_bytes()
    rng = random.Random(17)
    for attempt in range(3):
        target.write_bytes(b"old")
        run = _start(verb, "-q", str(data), *flag, str(target), "--overwrite")
        deadline = time.monotonic() + 30
        if attempt == 0:  # the moment the temporary file exists
            while run.poll() is None and time.monotonic() < deadline:
                if any(p.name.startswith(f".{target.name}.") for p in tmp_path.iterdir()):
                    break
                time.sleep(0.001)
        else:
            time.sleep(rng.uniform(0.2, 1.5))
        run.kill()
        run.wait(timeout=30)
        assert target.read_bytes() in (b"old", new)
        assert sorted(p.name for p in data.iterdir()) == before


# -- hostile card files that must stay inert (guards: these held before the campaign) -----------
LAUGHS = "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
READMES = {
    "billion-laughs": "---\nmnist_engine:\na: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    + LAUGHS
    + "---\n",
    "python-tag": "---\nmnist_engine:\nx: !!python/object/apply:os.system ['touch {flag}']\n---\n",
    "no-closing": "---\nmnist_engine:\n" + "a: b\n" * 1000,
}


@pytest.mark.parametrize("name", sorted(READMES))
def test_hostile_readme_front_matter_is_never_parsed_or_run(tmp_path, name, capsys):
    out = carded(tmp_path)
    flag = tmp_path / "ran"
    (out / "README.md").write_text(READMES[name].replace("{flag}", str(flag)), encoding="utf-8")
    for command in (["verify"], ["info"], ["info", "--json"]):
        assert main([*command, str(out)]) == 0
    engine.save(engine.load(None, out), "mnist", tmp_path / "again", card=True)
    assert not flag.exists() and "unexpected" not in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "sparse-2g"])
def test_croissant_that_is_no_regular_file_is_not_read(tmp_path, kind, capsys):
    out = carded(tmp_path)
    card = out / CROISSANT
    if kind == "sparse-2g":
        with open(card, "r+b") as handle:
            handle.truncate(2 << 30)
    else:
        card.unlink()
        {"fifo": lambda: os.mkfifo(card), "folder": card.mkdir}.get(
            kind, lambda: card.symlink_to("/dev/zero")
        )()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.CardWarning)
        for command in (["verify"], ["info"], ["info", "--json"]):
            assert main([*command, str(out)]) in (0, 1)
        engine.save(engine.load(None, out), "mnist", tmp_path / "again", card=True)
    assert "unexpected" not in capsys.readouterr().err


# -- degenerate datasets through dedup, validate and report (guards) ------------------------------
def _degenerate(kind: str) -> engine.Dataset:
    from engine.model import Subset

    def part(name, labels, images):
        return Subset(name, np.asarray(labels, np.int32), images)

    blank = np.full((4, 28, 28), 7, np.uint8)
    parts = {
        "empty": [part("train", [], np.zeros((0, 28, 28), np.uint8))],
        "one": [part("train", [0], blank[:1])],
        "identical": [part("train", [0] * 4, blank), part("test", [1] * 4, blank)],
        "no-labels": [part("train", [-1] * 4, blank)],
        "path-name": [part("../x", [0] * 4, blank)],
        "huge-label": [part("train", [0, 2**31 - 1, 0, 0], blank)],
    }[kind]
    return engine.Dataset(parts, [str(d) for d in range(10)])


@pytest.mark.parametrize(
    "kind", ["empty", "one", "identical", "no-labels", "path-name", "huge-label"]
)
def test_degenerate_datasets_through_the_api(tmp_path, kind):
    dataset = _degenerate(kind)
    engine.find_duplicates(dataset)
    engine.validate(dataset)
    engine.report(dataset, tmp_path / "r.html", title=kind)
    assert (tmp_path / "r.html").read_text(encoding="utf-8").endswith("</html>\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]

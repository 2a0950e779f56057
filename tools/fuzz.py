"""Fuzz harness: mutates files the project writes and checks every reader keeps the promise that
bad input is an EngineError (or loads), never a foreign exception, a hang or a memory blow-up.

Seeds are small datasets written with `engine.save` for every registered format (and a project
folder, for project.toml). Each input is one seed with one mutation: bytes flipped or set to edge
values, header fields rewritten, truncation, lying counts (lines and list items added or dropped),
and structured field types for pickles, JSON, TOML and CSV cells; compressed files are mutated
inside and compressed again. Inputs run in forked children under a memory limit (RLIMIT_AS) and a
time limit, many per child for speed; a child that dies or stalls is replaced and its input
counted. Inputs are reproducible from (seed, format, index).

    python3 tools/fuzz.py --inputs 2000 --seed 1          # per format; prints the table
    python3 tools/fuzz.py --inputs 200 --format mnist --show 5
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import gzip
import io
import json
import lzma
import os
import pickle
import random
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

OUTCOMES = ("EngineError", "loaded", "foreign", "hang", "oom", "crash")
#: the outcomes that break the promise (a crash is a child killed by a signal: SIGSEGV...)
BAD_OUTCOMES = ("foreign", "hang", "oom", "crash")
#: every how many inputs a dataset that loads is saved back in its format
SAVE_BACK_EVERY = int(os.environ.get("FUZZ_SAVE_BACK_EVERY", "4"))
PROJECT = "project"
INTERESTING_INTS = [0, 1, 2, 3, 7, 8, 255, 256, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]
INTERESTING_TEXT = [
    "",
    "-1",
    "256",
    "1e309",
    "nan",
    "999999999999999999999",
    "\x00",
    "\udcff",
    "ä",
    "x" * 300,
    ",,,,",
    '"',
    "../../etc/passwd",
    "0x10",
    " 3 ",
    "\t",
    ".",
    "..",
    "a/b",
    "/abs",
    "x" * 5000,
    "\u202e\u0301",
    "9" * 5000,
]
#: names a file or an id may be given: long, empty, dots, separators, unicode
ODD_NAMES = ["", ".", "..", "a/b", "../up", "x" * 300, "\u00e9\u202e", "CON", " ", "a\\b"]


# -- seeds ---------------------------------------------------------------------------------------


def load_options(name: str) -> dict:
    """Options a format needs to load its seed (a spec's first variant)."""
    import engine

    spec = engine.get_format(name).spec
    return {spec.variant_option: spec.variants[0].name} if spec and spec.variants else {}


def seed_dataset(with_ids: bool):
    """A tiny dataset every format can hold: 28x28 grey images, labels 0..9, two subsets."""
    from engine.model import Dataset, Subset

    rng = np.random.default_rng(7)
    parts = []
    for name, count in (("train", 3), ("test", 2)):
        ids = np.array([f"{name}{i}" for i in range(count)], dtype=object) if with_ids else None
        parts.append(
            Subset(
                name=name,
                labels=rng.integers(0, 10, count).astype(np.int32),
                images=rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
                ids=ids,
            )
        )
    return Dataset(parts, [str(d) for d in range(10)])


def write_seeds(root: Path, formats: list[str]) -> dict[str, list[Path]]:
    """format -> seed folders (plain, and with ids plus dataset_meta.json and a card)."""
    import engine

    seeds: dict[str, list[Path]] = {}
    for name in formats:
        if name == PROJECT:
            continue
        seeds[name] = []
        for variant, with_ids in (("plain", False), ("ids", True)):
            folder = root / name / variant
            # the ids variant carries a dataset card too: its croissant.json (the recorded
            # provenance a load reads back) and README.md are mutated like any file
            options = {"save_dataset_meta": with_ids, "card": with_ids, **load_options(name)}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    engine.save(seed_dataset(with_ids), name, folder, **options)
                except engine.ValidationError:  # a format without custom ids
                    engine.save(seed_dataset(False), name, folder, **options)
            seeds[name].append(folder)
    if PROJECT in formats:
        folder = root / PROJECT / "plain"
        folder.mkdir(parents=True)
        engine.save(seed_dataset(False), "mnist", folder / "digits")
        (folder / "project.toml").write_text(
            '[[source]]\nname = "digits"\nformat = "mnist"\npath = "digits"\n\n'
            '[[filter]]\nexpression = "/item[annotation/label>=0]"\nmode = "items"\nsource = ""\n',
            encoding="utf-8",
        )
        seeds[PROJECT] = [folder]
    return seeds


# -- mutations -----------------------------------------------------------------------------------

COMPRESSORS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    ".gz": (gzip.decompress, lambda d: gzip.compress(d, 1)),
    ".xz": (lzma.decompress, lzma.compress),
    ".bz2": (bz2.decompress, bz2.compress),
}


def mutate_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A byte-level mutation: flips, edge values, header ints, truncation, splices."""
    raw = bytearray(data)
    kind = rng.choice(["flip", "set", "header", "truncate", "append", "splice", "delete"])
    if not raw and kind not in ("append",):
        kind = "append"
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    elif kind == "set":
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw))] = rng.choice([0, 1, 0x7F, 0x80, 0xFF])
    elif kind == "header":
        offset = 4 * rng.randrange(max(1, min(len(raw), 32) // 4))
        value = rng.choice([*INTERESTING_INTS, rng.getrandbits(32), len(raw), len(raw) + 1])
        raw[offset : offset + 4] = value.to_bytes(4, rng.choice(["big", "little"]))
    elif kind == "truncate":
        del raw[rng.randrange(len(raw) + 1) :]
    elif kind == "append":
        raw += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
    elif kind == "splice":
        start = rng.randrange(len(raw))
        raw[start:start] = raw[start : start + rng.randint(1, 256)]
    else:
        start = rng.randrange(len(raw))
        del raw[start : start + rng.randint(1, 64)]
    return bytes(raw), kind


def mutate_text(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Line and cell mutations of text files (CSV rows, list files, labels): lying counts too."""
    lines = data.decode("utf-8", "surrogateescape").split("\n")
    kind = rng.choice(["cell", "drop-line", "dup-line", "add-column", "drop-column", "bom", "bad"])
    row = rng.randrange(len(lines))
    cells = lines[row].replace(" ", ",").split(",")
    if kind == "cell":
        cells[rng.randrange(len(cells))] = rng.choice(INTERESTING_TEXT)
        lines[row] = ",".join(cells) if "," in lines[row] else " ".join(cells)
    elif kind == "drop-line":
        del lines[row]
    elif kind == "dup-line":
        lines[row:row] = [lines[row]] * rng.randint(1, 3)
    elif kind == "add-column":
        lines[row] += rng.choice([",0", " 0", ",", " 999999999"])
    elif kind == "drop-column":
        lines[row] = ",".join(cells[:-1])
    elif kind == "bom":
        lines[0] = "\ufeff" + lines[0]
    else:
        lines[row] += "\udcff\udcfe"
    return "\n".join(lines).encode("utf-8", "surrogateescape"), f"text-{kind}"


def wrong_value(rng: random.Random, original: object) -> object:
    """A value of a type or shape a reader may not expect in place of `original`."""
    choices: list[Callable[[], object]] = [
        lambda: rng.choice(INTERESTING_INTS),
        lambda: rng.choice([True, False, None, 1.5, -1, 10**30]),
        lambda: rng.choice(INTERESTING_TEXT),
        lambda: np.array(rng.randint(0, 9)),
        lambda: [[1, 2], [3]],
        lambda: {"a": 1},
        lambda: np.zeros((2, 3), np.float64),
        lambda: np.zeros(7, np.int64) - 5,
        lambda: [original] * rng.randint(0, 3),
        lambda: b"\x00" * rng.randint(0, 40),
    ]
    if isinstance(original, list | np.ndarray) and len(original):
        choices += [
            lambda: list(original)[: rng.randrange(len(original))],  # a lying count
            lambda: [*list(original), *list(original)[:1]],
            lambda: np.asarray(original).ravel()[:-1],
        ]
    return rng.choice(choices)()


def mutate_structure(value: object, rng: random.Random) -> object:
    """One field (of a dict, at any depth) of a pickled or JSON value, replaced."""
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        if rng.random() < 0.3 and isinstance(value[key], dict | list):
            value[key] = mutate_structure(value[key], rng)
        else:
            value[key] = wrong_value(rng, value[key])
        return value
    if isinstance(value, list) and value:
        index = rng.randrange(len(value))
        value[index] = wrong_value(rng, value[index])
        return value
    return wrong_value(rng, value)


#: dtype codes as pickles spell them, and what a crafted batch puts instead (references, fields)
PICKLE_DTYPES = [b"u1", b"i8", b"i4", b"i2", b"u2", b"f8", b"f4"]
HOSTILE_DTYPES = [b"O8", b"O4", b"V8", b"M8", b"U1", b"S1", b"V1", b"c8"]


def mutate_pickle_dtype(data: bytes, rng: random.Random) -> tuple[bytes, str] | None:
    """A dtype the pickle names (a BINUNICODE of two bytes) replaced by one holding references
    or fields: numpy reads such an array's raw bytes as pointers unless the reader refuses it."""
    found = [
        code
        for code in PICKLE_DTYPES
        if b"\x00\x00\x00" + code in data or b"\x8c\x02" + code in data
    ]
    if not found:
        return None
    code, hostile = rng.choice(found), rng.choice(HOSTILE_DTYPES)
    for prefix in (b"X\x02\x00\x00\x00", b"\x8c\x02"):
        data = data.replace(prefix + code, prefix + hostile)
    return data, f"pickle-dtype-{code.decode()}-{hostile.decode()}"


def mutate_pickle(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    from engine.io.safepickle import _RestrictedUnpickler

    if rng.random() < 0.25:
        crafted = mutate_pickle_dtype(data, rng)
        if crafted is not None:
            return crafted
    if rng.random() < 0.05:  # numpy.ndarray called directly over raw bytes with a hostile dtype
        hostile = rng.choice(HOSTILE_DTYPES)
        call = (
            b"\x80\x02cnumpy\nndarray\nK\x02\x85cnumpy\ndtype\nX\x02\x00\x00\x00"
            + hostile
            + b"\x89\x88\x87RC\x10"
            + b"A" * 16
            + b"\x87R."
        )
        return call, f"pickle-ndarray-call-{hostile.decode()}"
    obj = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    if rng.random() < 0.2 and isinstance(obj, dict):  # names: '', '.', '..', separators, long
        for key in (b"filenames", "filenames"):
            if key in obj and len(obj[key]):
                obj[key] = list(obj[key])
                obj[key][rng.randrange(len(obj[key]))] = rng.choice(ODD_NAMES) + ".png"
                return pickle.dumps(obj, protocol=rng.choice([2, 4])), "pickle-name"
    if rng.random() < 0.15:  # a key of the wrong type or an unknown key
        obj[rng.choice([5, b"data", "data", "labels", None])] = wrong_value(rng, None)
        return pickle.dumps(obj, protocol=rng.choice([2, 4])), "pickle-key"
    return pickle.dumps(mutate_structure(obj, rng), protocol=rng.choice([2, 4])), "pickle-field"


def mutate_json(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    value = json.loads(data.decode("utf-8"))
    kind = rng.choice(["deep", "deep-field", "huge-int", "top-type", "field", "field", "field"])
    if kind == "deep":
        depth = rng.choice([100, 5000, 100_000])
        return ("[" * depth + "]" * depth).encode(), "json-deep"
    if kind == "top-type":
        top = rng.choice(["1.5", "[]", '"x"', "null", "7", "9" * 5000, "{}"])
        return top.encode(), "json-top-type"
    text = json.dumps(mutate_structure(value, rng), default=lambda o: repr(o))
    if kind in ("deep-field", "huge-int") and isinstance(value, dict) and value:
        depth = rng.choice([50, 3000, 50_000])
        nested = "[" * depth + "]" * depth if kind == "deep-field" else "9" * 5000
        key = json.dumps(rng.choice(list(value)))
        return ("{" + key + ": " + nested + "}").encode(), f"json-{kind}"
    return text.encode(), "json-field"


def mutate_toml(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    text = data.decode("utf-8")
    kind = rng.choice(["value", "key", "deep", "array", "text", "nested", "path", "transform"])
    lines = text.split("\n")
    if kind == "nested":  # a filter nested deep enough to exhaust a recursive compiler
        depth = rng.choice([200, 2000, 20_000])
        expression = "/item[" + "(" * depth + "annotation/label>=0" + ")" * depth + "]"
        text = text.replace('"/item[annotation/label>=0]"', json.dumps(expression))
        return text.encode("utf-8"), "toml-nested"
    if kind == "path":  # a source path too long, odd or pointing at nothing
        odd = rng.choice(["x" * 5000, "/".join(["y" * 250] * 20), "", ".", "/dev/zero", "../.."])
        return text.replace('path = "digits"', f"path = {json.dumps(odd)}").encode(), "toml-path"
    if kind == "transform":  # a transform naming a subset that is not there
        extra = '\n[[transform]]\nname = "remap_labels"\nsubset = "gone"\n'
        extra = rng.choice([extra, '\n[[transform]]\nname = "random_split"\nsubset = "gone"\n'])
        return (text + extra).encode("utf-8"), "toml-transform"
    assignable = [i for i, line in enumerate(lines) if " = " in line]
    row = rng.choice(assignable)
    key = lines[row].split(" = ")[0]
    if kind == "value":
        lines[row] = f"{key} = " + rng.choice(["5", "1.5", "true", '["x"]', "{a = 1}", '""', "[]"])
    elif kind == "key":
        lines.insert(0, rng.choice(["source = 5", 'source = ["x"]', "filter = 1.5", "filter = {}"]))
    elif kind == "deep":
        depth = rng.choice([100, 10_000, 100_000])
        lines.insert(0, "x = " + "[" * depth + "]" * depth)
    elif kind == "array":
        lines[row] = f"{key} = [" + ", ".join(['"a"'] * rng.randint(0, 3)) + "]"
    else:
        return mutate_text(data, rng)
    return "\n".join(lines).encode("utf-8"), f"toml-{kind}"


def mutate_zip(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A member's bytes mutated and the archive rebuilt, or the archive's raw bytes."""
    if rng.random() < 0.5:
        return mutate_bytes(data, rng)
    source = zipfile.ZipFile(io.BytesIO(data))
    names = source.namelist()
    victim = rng.choice(names)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])) as zf:
        for name in names:
            blob = source.read(name)
            if name == victim:
                blob, _ = mutate_bytes(blob, rng)
                name = rng.choice([name, name, "", "../x.png", "a/" * 3 + "b.png", name.upper()])
            zf.writestr(name or "noname", blob)
    return out.getvalue(), "zip-member"


def mutate_content(path: Path, data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The mutation that fits the file's kind (structured where it can), else bytes."""
    name = path.name
    try:
        if rng.random() < 0.35:
            return mutate_bytes(data, rng)
        if data[:2] == b"PK":
            return mutate_zip(data, rng)
        if data[:1] == b"\x80":
            return mutate_pickle(data, rng)
        if name.endswith(".json"):
            return mutate_json(data, rng)
        if name.endswith(".toml"):
            return mutate_toml(data, rng)
        if name.endswith((".csv", ".txt")):
            return mutate_text(data, rng)
    except Exception:  # a mutation that cannot parse its seed falls back to bytes
        pass
    return mutate_bytes(data, rng)


FILE_TYPE_MUTATIONS = ["fifo", "dir-for-file", "link-dev-zero", "link-outside", "empty", "rename"]


def mutate_file_type(folder: Path, rng: random.Random) -> str:
    """A file or folder of the seed replaced by what a reader must not open as data: a FIFO
    (opening blocks), a folder, a link to /dev/zero (endless), a link leading outside, an empty
    file, or renamed to a long, unicode or dotted name."""
    entries = sorted(folder.rglob("*"))
    target = rng.choice(entries)
    kind = rng.choice(FILE_TYPE_MUTATIONS)
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dir-for-file":
        (target / "inner").mkdir(parents=True)
    elif kind == "link-dev-zero":
        target.symlink_to("/dev/zero")
    elif kind == "link-outside":
        outside = folder.parent / f"outside-{os.getpid()}"
        outside.mkdir(exist_ok=True)
        (outside / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        target.symlink_to(outside)
    elif kind == "empty":
        target.write_bytes(b"")
    else:
        name = rng.choice(
            ["x" * 250, "\u00e9\u202e" + target.name, "." + target.name, target.name + "."]
        )
        target.with_name(name).write_bytes(b"")
    return f"{target.relative_to(folder)} {kind}"


def mutate_folder(folder: Path, rng: random.Random) -> str:
    """Mutates one (sometimes two) files of the copied seed folder; says what it did."""
    if rng.random() < 0.15:
        return mutate_file_type(folder, rng)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    done = []
    for _ in range(1 if rng.random() < 0.85 else 2):
        target = rng.choice(files)
        data = target.read_bytes()
        suffix = target.suffix
        inner_data = None
        if suffix in COMPRESSORS and rng.random() < 0.7:
            unpack, pack = COMPRESSORS[suffix]
            try:
                inner_data = unpack(data)
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
                inner_data = None  # mutated already: mutate its bytes instead
        if inner_data is not None:
            mutated, kind = mutate_content(target.with_suffix(""), inner_data, rng)
            target.write_bytes(pack(mutated))
            kind = f"{suffix}:{kind}"
        else:
            mutated, kind = mutate_content(target, data, rng)
            target.write_bytes(mutated)
        done.append(f"{target.relative_to(folder)} {kind}")
    return "; ".join(done)


# -- running -------------------------------------------------------------------------------------


class Hang(Exception):
    """Raised by the per-input alarm."""


@dataclass
class Job:
    format: str
    index: int


def _read_all(dataset) -> None:
    """Touches every column, so lazily read data is read too."""
    for part in dataset.subsets().values():
        np.asarray(part.labels)
        part.id_column()
        if isinstance(part.images, list):
            [None if image is None else np.asarray(image) for image in part.images]
        elif part.images is not None:
            np.asarray(part.images).sum()


def run_one(job: Job, seeds: dict[str, list[Path]], scratch: Path, seed: int) -> tuple[str, str]:
    """(outcome, detail) of one input."""
    import engine
    from engine.errors import EngineError

    rng = random.Random(f"{seed}:{job.format}:{job.index}")
    source = rng.choice(seeds[job.format])
    work = scratch / f"in-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, symlinks=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            what = mutate_folder(work, rng)
    except Exception as error:
        return "foreign", f"mutation failed: {type(error).__name__}: {error}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if job.format == PROJECT:
                from engine.project import Project

                _read_all(Project.open(work).dataset())
            else:
                if job.index % 5 == 0:  # detection must not fail either (it costs more)
                    engine.api.detect(work)
                if job.index % 7 == 3:  # nor verification
                    engine.api.verify(work, job.format)
                if job.index % 9 == 4:  # nor a load that detects the format first
                    with contextlib.suppress(EngineError):  # the explicit load below says
                        _read_all(engine.load(None, work))
                loaded = engine.load(job.format, work, **load_options(job.format))
                _read_all(loaded)
                if (
                    job.index % SAVE_BACK_EVERY == 1 % SAVE_BACK_EVERY
                ):  # save back (the qmnist hang)
                    back = scratch / f"back-{os.getpid()}"
                    shutil.rmtree(back, ignore_errors=True)
                    try:
                        engine.save(loaded, job.format, back, **load_options(job.format))
                    except engine.ValidationError:
                        pass  # what the format cannot hold, said before writing
                    finally:
                        shutil.rmtree(back, ignore_errors=True)
        return "loaded", what
    except EngineError:
        return "EngineError", what
    except Hang:
        return "hang", what
    except MemoryError:
        return "oom", what
    except RecursionError as error:
        return "foreign", f"{what}: RecursionError: {str(error)[:200]}"
    except Exception as error:
        return "foreign", f"{what}: {type(error).__name__}: {str(error)[:200]}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(scratch / f"outside-{os.getpid()}", ignore_errors=True)


def _on_alarm(signum, frame):
    raise Hang()


def _child(jobs, seeds, scratch, seed, timeout, memory, fd) -> None:
    """Runs `jobs` one after another, one JSON line per job on `fd`; exits without cleanup."""
    try:
        if memory:
            limit = _vm_size() + memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        signal.signal(signal.SIGALRM, _on_alarm)
        for number, job in jobs:
            os.write(fd, (json.dumps({"start": number}) + "\n").encode())
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                outcome, detail = run_one(job, seeds, scratch, seed)
            except Hang:
                outcome, detail = "hang", "alarm outside the reader"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            line = {"done": number, "outcome": outcome, "detail": detail}
            os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os._exit(0)


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class Table:
    """Counts per format and outcome, and a few examples of each bad outcome."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, job: Job, outcome: str, detail: str) -> None:
        row = self.counts.setdefault(job.format, dict.fromkeys(OUTCOMES, 0))
        row[outcome] += 1
        if outcome not in ("EngineError", "loaded"):
            self.examples.setdefault(outcome, []).append(f"{job.format}#{job.index}: {detail}")

    def total(self, outcome: str) -> int:
        return sum(row[outcome] for row in self.counts.values())

    def render(self) -> str:
        header = ["format", "inputs", *OUTCOMES]
        rows = [
            [name, str(sum(row.values())), *(str(row[o]) for o in OUTCOMES)]
            for name, row in sorted(self.counts.items())
        ]
        totals = ["total", str(sum(int(r[1]) for r in rows))]
        totals += [str(self.total(o)) for o in OUTCOMES]
        rows.append(totals)
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = [
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in [header, *rows]
        ]
        return "\n".join(lines)


def fuzz(
    formats: list[str],
    inputs: int,
    *,
    seed: int = 0,
    workers: int | None = None,
    timeout: float = 5.0,
    memory: int = 1 << 30,
    batch: int = 100,
) -> Table:
    """Runs `inputs` mutated inputs per format; returns the table."""
    import engine.api
    import engine.project  # noqa: F401 - imported once, before the children fork

    workers = workers or max(1, len(os.sched_getaffinity(0)))
    table = Table()
    memory_fs = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # many small files
    root = Path(tempfile.mkdtemp(prefix="mnist-engine-fuzz-", dir=memory_fs))
    try:
        seeds = write_seeds(root / "seeds", formats)
        scratch = root / "scratch"
        scratch.mkdir()
        jobs = [Job(name, index) for index in range(inputs) for name in formats]
        numbered = list(enumerate(jobs))
        pending = [numbered[i : i + batch] for i in range(0, len(numbered), batch)]
        running: dict[int, dict] = {}  # pid -> state
        while pending or running:
            while pending and len(running) < workers:
                chunk = pending.pop(0)
                reader, writer = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(reader)
                    _child(chunk, seeds, scratch, seed, timeout, memory, writer)
                os.close(writer)
                running[pid] = {
                    "fd": reader,
                    "chunk": chunk,
                    "done": set(),
                    "current": None,
                    "since": time.monotonic(),
                    "buffer": b"",
                }
            _collect(running, pending, jobs, table, timeout)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return table


def _collect(running: dict, pending: list, jobs: list[Job], table: Table, timeout: float) -> None:
    """Reads what the children report; replaces a child that died or stalled."""
    fds = {state["fd"]: pid for pid, state in running.items()}
    ready, _, _ = select.select(list(fds), [], [], 0.5)
    for fd in ready:
        pid = fds[fd]
        state = running[pid]
        data = os.read(fd, 1 << 16)
        state["buffer"] += data
        *lines, state["buffer"] = state["buffer"].split(b"\n")
        for line in lines:
            message = json.loads(line)
            if "start" in message:
                state["current"], state["since"] = message["start"], time.monotonic()
            else:
                state["done"].add(message["done"])
                state["current"] = None
                table.add(jobs[message["done"]], message["outcome"], message["detail"])
        if not data:
            _finish(pid, state, running, pending, jobs, table, "oom")
    for pid, state in list(running.items()):
        stalled = state["current"] is not None and time.monotonic() - state["since"] > timeout + 5
        if stalled:
            os.kill(pid, signal.SIGKILL)
            _finish(pid, state, running, pending, jobs, table, "hang")


def _finish(pid, state, running, pending, jobs, table, reason) -> None:
    """Reaps a child; an input it was in the middle of counts as `reason` (or a crash)."""
    _, status = os.waitpid(pid, 0)
    os.close(state["fd"])
    del running[pid]
    current = state["current"]
    if current is not None:
        code = os.waitstatus_to_exitcode(status)
        detail = f"child ended with {code} during the input"
        if reason == "hang":
            outcome = "hang"
        elif code < 0:  # killed by a signal: SIGSEGV, SIGBUS, SIGABRT (memory limits raise)
            outcome = "crash"
            detail = f"child killed by signal {-code} during the input"
        else:
            outcome = "foreign"
        table.add(jobs[current], outcome, detail)
        state["done"].add(current)
    rest = [(n, job) for n, job in state["chunk"] if n not in state["done"]]
    if rest:
        pending.insert(0, rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=200, help="inputs per format")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", action="append", help="only these formats (repeatable)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per input")
    parser.add_argument("--memory-mb", type=int, default=1024, help="memory per input (MiB)")
    parser.add_argument("--show", type=int, default=10, help="examples shown per bad outcome")
    args = parser.parse_args(argv)
    import engine

    formats = args.format or [*engine.formats(), PROJECT]
    started = time.monotonic()
    table = fuzz(
        formats,
        args.inputs,
        seed=args.seed,
        workers=args.workers,
        timeout=args.timeout,
        memory=args.memory_mb << 20,
    )
    print(table.render())
    print(f"{time.monotonic() - started:.1f} s, seed {args.seed}")
    for outcome, examples in sorted(table.examples.items()):
        print(f"\n{outcome} ({len(examples)}):")
        for example in examples[: args.show]:
            print(f"  {example}")
    bad = sum(table.total(outcome) for outcome in BAD_OUTCOMES)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

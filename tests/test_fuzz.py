"""A short seeded fuzz run over every registered format (and project.toml): mutated files are an
EngineError or load, never a foreign exception, a hang, a MemoryError or a crash (tools/fuzz.py);
and the harness knows the classes of input the issue 19 campaign found."""

from __future__ import annotations

import json
import pickle
import random
import stat

import numpy as np

import engine
from tools.fuzz import (
    BAD_OUTCOMES,
    FILE_TYPE_MUTATIONS,
    PROJECT,
    fuzz,
    mutate_file_type,
    mutate_json,
    mutate_pickle_dtype,
    mutate_toml,
)

INPUTS_PER_FORMAT = 170  # about 2,900 inputs in all


def test_short_seeded_fuzz_run_finds_no_foreign_exception():
    formats = [*engine.formats(), PROJECT]
    table = fuzz(formats, INPUTS_PER_FORMAT, seed=20261125, timeout=20.0, workers=2)
    bad = {o: table.examples.get(o, [])[:10] for o in BAD_OUTCOMES}
    assert sum(table.total(o) for o in BAD_OUTCOMES) == 0, (
        table.render() + "\n" + "\n".join(f"{o}: {e}" for o, e in bad.items() if e)
    )
    assert table.total("EngineError") > 0 and table.total("loaded") > 0  # the mutations bite
    assert sum(sum(row.values()) for row in table.counts.values()) == len(formats) * 170


def test_the_harness_makes_odd_file_types(tmp_path):
    made = set()
    for index in range(60):
        folder = tmp_path / f"in{index}"
        folder.mkdir()
        (folder / "data.bin").write_bytes(b"x")
        what = mutate_file_type(folder, random.Random(index))
        made.add(what.split()[-1])
        entry = folder / "data.bin"
        if what.endswith(" fifo"):
            assert stat.S_ISFIFO(entry.lstat().st_mode)
        elif what.endswith(" link-dev-zero"):
            assert entry.is_symlink() and str(entry.readlink()) == "/dev/zero"
        elif what.endswith(" dir-for-file"):
            assert entry.is_dir()
    assert made == set(FILE_TYPE_MUTATIONS)


def test_the_harness_makes_hostile_json_toml_and_pickles():
    kinds = {mutate_json(b'{"labels": ["a", "b"]}', random.Random(i))[1] for i in range(80)}
    assert {"json-deep", "json-deep-field", "json-huge-int", "json-top-type"} <= kinds
    huge = next(
        data
        for i in range(200)
        for data, kind in [mutate_json(b'{"labels": ["a"]}', random.Random(i))]
        if kind == "json-huge-int"
    )
    assert len(huge) > 4300
    text = b'[[source]]\npath = "digits"\n\n[[filter]]\nexpression = "/item[annotation/label>=0]"\n'
    toml_kinds = {mutate_toml(text, random.Random(i))[1] for i in range(200)}
    assert {"toml-nested", "toml-path", "toml-transform"} <= toml_kinds
    batch = pickle.dumps({"data": np.zeros(3, np.uint8), "labels": [1, 2, 3]}, protocol=2)
    crafted = mutate_pickle_dtype(batch, random.Random(1))
    assert crafted is not None and crafted[1].startswith("pickle-dtype-u1-")
    assert json.dumps(crafted[1])  # a readable description of what was done

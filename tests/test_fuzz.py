"""A short seeded fuzz run over every registered format (and project.toml): mutated files are an
EngineError or load, never a foreign exception, a hang or a MemoryError (tools/fuzz.py)."""

from __future__ import annotations

import engine
from tools.fuzz import PROJECT, fuzz

INPUTS_PER_FORMAT = 170  # about 2,000 inputs in all


def test_short_seeded_fuzz_run_finds_no_foreign_exception():
    formats = [*engine.formats(), PROJECT]
    table = fuzz(formats, INPUTS_PER_FORMAT, seed=20261125, timeout=20.0)
    bad = {o: table.examples.get(o, [])[:10] for o in ("foreign", "hang", "oom")}
    assert table.total("foreign") + table.total("hang") + table.total("oom") == 0, (
        table.render() + "\n" + "\n".join(f"{o}: {e}" for o, e in bad.items() if e)
    )
    assert table.total("EngineError") > 0 and table.total("loaded") > 0  # the mutations bite
    assert sum(sum(row.values()) for row in table.counts.values()) == len(formats) * 170

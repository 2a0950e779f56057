"""Kill test of the write path: `kill -9` of real `convert --overwrite` runs at random moments.

After every kill the output folder must load as the old or the new dataset (never neither, never a
mix), a file of the user's in it must survive, and what the killed run left beside the folder
(`.NAME.*.tmp` / `.old`) must be gone after the next load of the folder.

    python3 tools/kill_test.py --kills 30 --items 70000
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def make_source(path: Path, items: int, seed: int) -> np.ndarray:
    import engine
    from engine.model import Dataset, Subset

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, items).astype(np.int32)
    images = rng.integers(0, 256, (items, 28, 28), dtype=np.uint8)
    engine.save(
        Dataset([Subset("train", labels, images)], [str(d) for d in range(10)]), "mnist", path
    )
    return labels


def convert(source: Path, output: Path, card: bool = False) -> subprocess.Popen:
    command = [sys.executable, "-m", "engine", "convert", "-q", "-i", str(source)]
    command += ["-f", "mnist_csv", "-o", str(output), "--overwrite", *(["--card"] if card else [])]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def leftovers(output: Path) -> list[str]:
    return sorted(p.name for p in output.parent.iterdir() if p.name.startswith(f".{output.name}."))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--items", type=int, default=70000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--card",
        action="store_true",
        help="convert with --card: after each kill the card must describe the files present",
    )
    args = parser.parse_args(argv)
    import engine

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="mnist-engine-kill-"))
    sources = [work / "a", work / "b"]
    labels = [make_source(s, args.items, seed) for seed, s in enumerate(sources)]
    output = work / "out"
    output.mkdir()
    (output / "notes.txt").write_text("the user's own file")
    started = time.monotonic()
    run = convert(sources[0], output, args.card)
    _, errors = run.communicate()
    assert run.returncode == 0, errors
    duration = time.monotonic() - started
    intact = found = remaining = 0
    seen = {"old": 0, "new": 0}
    current = 0
    for kill in range(args.kills):
        target = 1 - current
        run = convert(sources[target], output, args.card)
        time.sleep(rng.uniform(0.2, duration * 1.1))
        run.send_signal(signal.SIGKILL)
        run.wait()
        left = leftovers(output)
        found += len(left)
        loaded = engine.load("mnist_csv", output)["train"].labels  # recovers first
        remaining += len(leftovers(output))
        which = [i for i, expected in enumerate(labels) if np.array_equal(loaded, expected)]
        notes_ok = (output / "notes.txt").read_text() == "the user's own file"
        card_ok = True
        if args.card:  # the card is swapped in with the files: it lists exactly them
            bad = [c for c in engine.verify(output) if c.status in ("differs", "missing")]
            card_ok = not bad and (output / "croissant.json").is_file()
        if which and notes_ok and card_ok:
            intact += 1
            seen["new" if which[0] == target else "old"] += 1
            current = which[0]
        print(
            f"kill {kill + 1}: output holds the {'new' if which == [target] else 'old'} dataset"
            if which
            else f"kill {kill + 1}: OUTPUT BROKEN",
            f"| notes.txt {'kept' if notes_ok else 'LOST'}"
            + ("" if not args.card else f" | card {'matches' if card_ok else 'DOES NOT MATCH'}")
            + f" | leftovers {left or 'none'}",
            flush=True,
        )
    print(
        f"\n{args.kills} kills of `convert --overwrite` ({args.items} items, a full run takes "
        f"{duration:.1f} s): {intact} outputs intact ({seen['old']} old, {seen['new']} new); "
        f"{found} leftovers found right after the kills, {remaining} left after the next load"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0 if intact == args.kills and remaining == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

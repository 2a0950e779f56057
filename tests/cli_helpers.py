"""Runs the command line as users do: `python3 -m engine ...` in a subprocess (`run_cli`), or
through `engine.cli.main` in this process (`run_main`, same exit codes and output, no startup
cost) for the many cases where a fresh interpreter adds nothing.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None):
    """(exit code, stdout, stderr) of `python3 -m engine ARGS` in a subprocess."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "engine", *map(str, args)],
        cwd=cwd or ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def run_main(*args: str, cwd: Path | None = None):
    """(exit code, stdout, stderr) of `engine.cli.main(ARGS)`, run in this process."""
    from engine.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        os.chdir(previous)
    return code, out.getvalue(), err.getvalue()

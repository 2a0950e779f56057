"""The `mnist-engine` command line: one subcommand per module in `engine.commands`.

Errors print one line naming the file and the reason: exit 2 for bad input or usage, 1 for a
failed validation; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from engine.commands import COMMANDS
from engine.errors import EngineError, FormatWarning

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-engine",
        description="Import, validate, filter, convert and export MNIST-family datasets.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP,
            epilog=f"example: {command.EXAMPLE}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if args.quiet else "default", FormatWarning)
        warnings.showwarning = _show_warning
        try:
            return args.run(args)
        except (EngineError, OSError, ValueError) as error:
            if args.debug:
                raise
            print(f"mnist-engine: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print("mnist-engine: interrupted", file=sys.stderr)
            return 130


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"mnist-engine: warning: {message}", file=sys.stderr)

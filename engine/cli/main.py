"""The `mnist-engine` command line: one subcommand per module in `engine.commands`.

Errors print one line naming the file and the reason: exit 2 for bad input or usage, 1 for a
failed validation; `--debug` shows the traceback. Words after `--` are exporter options.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from engine import __version__
from engine.cli.commands import COMMANDS
from engine.compute import executors, progress
from engine.errors import AUDIENCE, EngineError, FormatWarning
from engine.io.cache import AUTO_THRESHOLD, CachePolicy, using_policy

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _common_flags(suppress: bool) -> argparse.ArgumentParser:
    """--debug and --quiet, accepted before and after the command name."""
    parent = argparse.ArgumentParser(add_help=False)
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    parent.add_argument("--debug", action="store_true", help="show tracebacks on errors", **default)
    parent.add_argument(
        "-q", "--quiet", action="store_true", help="print only errors, no progress", **default
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-engine",
        description="Import, validate, filter, convert and export MNIST-family datasets.",
        epilog="Run `mnist-engine COMMAND --help` for a command's options and an example.",
        parents=[_common_flags(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"mnist-engine {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        epilog = f"example: {command.EXAMPLE}"
        more = getattr(command, "more_help", None)
        if more is not None:
            epilog += "\n\n" + more()
        sub = commands.add_parser(
            command.NAME,
            aliases=getattr(command, "ALIASES", []),
            help=command.HELP,
            description=command.HELP,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[_common_flags(suppress=True)],
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run, takes_extra=getattr(command, "EXPORTER_OPTIONS", False))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    with warnings.catch_warnings():  # building the help texts loads the formats (user specs)
        warnings.showwarning = _show_warning
        parser = build_parser()
        args = parser.parse_args(argv)
    if extra and not args.takes_extra:
        parser.error(f"{args.command} takes no exporter options after '--'")
    args.extra = extra
    if sys.stderr.isatty() and not args.quiet:
        progress.enable(sys.stderr)
    audience = AUDIENCE.set("cli")  # hints name flags (--overwrite), not keywords
    # compressed inputs of 256 MiB or more are decompressed once into the cache and memory-mapped
    with warnings.catch_warnings(), using_policy(CachePolicy(threshold=AUTO_THRESHOLD)):
        warnings.simplefilter("ignore" if args.quiet else "default", FormatWarning)
        warnings.showwarning = _show_warning
        try:
            with executors.using(executors.scheduler_address(getattr(args, "scheduler", None))):
                return args.run(args)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, like cat does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        except (EngineError, OSError, ValueError) as error:
            if args.debug:
                raise
            print(f"mnist-engine: error: {_describe(error)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print("mnist-engine: interrupted", file=sys.stderr)
            return 130
        finally:
            progress.disable()
            AUDIENCE.reset(audience)


def _describe(error: BaseException) -> str:
    """The error's message; OS errors name the file once, without errno noise."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error) or type(error).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"mnist-engine: warning: {message}", file=sys.stderr)

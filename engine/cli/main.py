"""The `mnist-engine` command line: one subcommand per module in `engine.cli.commands`.

Only the command that runs is imported (`--version` and `--help` import none), so a quick command
starts quickly. Errors print one line naming the file and the reason: exit 2 for bad input or
usage, 1 for a failed validation; `--debug` shows the traceback. Words after `--` are exporter
options.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from engine import __version__
from engine.cli.commands import COMMANDS, Command, find
from engine.cli.terminal import NeutralisedStream, one_line
from engine.errors import AUDIENCE, EngineError, FormatWarning

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


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the command `argv` names gets its arguments (its module is imported)."""
    parser = argparse.ArgumentParser(
        prog="mnist-engine",
        description="Import, validate, filter, convert and export MNIST-family datasets.",
        epilog="Run `mnist-engine COMMAND --help` for a command's options and an example.",
        parents=[_common_flags(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"mnist-engine {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _named_command(argv)
    for command in COMMANDS:
        if command is not chosen:
            commands.add_parser(command.name, aliases=list(command.aliases), help=command.help)
            continue
        module = command.load()
        epilog = f"example: {module.EXAMPLE}"
        more = getattr(module, "more_help", None)
        if more is not None:
            epilog += "\n\n" + more()
        sub = commands.add_parser(
            command.name,
            aliases=list(command.aliases),
            help=command.help,
            description=command.help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[_common_flags(suppress=True)],
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run, takes_extra=getattr(module, "EXPORTER_OPTIONS", False))
    return parser


def _named_command(argv: Sequence[str]) -> Command | None:
    """The command the first word that is not a flag names (the top level's flags take no
    value), None when there is none."""
    word = next((w for w in argv if not w.startswith("-")), None)
    return find(word) if word is not None else None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    with warnings.catch_warnings():  # building the help texts loads the formats (user specs)
        warnings.showwarning = _show_warning
        parser = build_parser(argv)
        args = parser.parse_args(argv)
    if extra and not args.takes_extra:
        parser.error(f"{args.command} takes no exporter options after '--'")
    args.extra = extra
    from engine.compute import executors, progress
    from engine.io import cache

    if sys.stderr.isatty() and not args.quiet:
        progress.enable(sys.stderr)
    audience = AUDIENCE.set("cli")  # hints name flags (--overwrite), not keywords
    # compressed inputs of 256 MiB or more are decompressed once into the cache and memory-mapped
    with (
        warnings.catch_warnings(),
        cache.using_policy(cache.CachePolicy(threshold=cache.AUTO_THRESHOLD)),
    ):
        warnings.simplefilter("ignore" if args.quiet else "default", FormatWarning)
        warnings.showwarning = _show_warning
        stdout, sys.stdout = sys.stdout, NeutralisedStream(sys.stdout)
        try:
            with executors.using(executors.scheduler_address(getattr(args, "scheduler", None))):
                return args.run(args)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, like cat does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        except (EngineError, OSError, ValueError) as error:
            if args.debug:
                raise
            print(f"mnist-engine: error: {one_line(_describe(error))}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print("mnist-engine: interrupted", file=sys.stderr)
            return 130
        except Exception as error:  # a bug, not bad input: still one line, never a traceback
            if args.debug:
                raise
            print(
                f"mnist-engine: error: unexpected {type(error).__name__}: "
                f"{one_line(_describe(error))} "
                "(a bug in mnist-engine: --debug shows where; please report it)",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        finally:
            sys.stdout = stdout
            progress.disable()
            AUDIENCE.reset(audience)


def _describe(error: BaseException) -> str:
    """The error's message; OS errors name the file once, without errno noise."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error) or type(error).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"mnist-engine: warning: {one_line(str(message))}", file=sys.stderr)

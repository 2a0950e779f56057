"""Subcommands of the command line: each module has NAME, HELP, EXAMPLE, add_arguments and run."""

from engine.cli.commands import (
    convert,
    create,
    detect,
    export,
    filter,
    formats,
    import_,
    info,
    preview,
    sources,
    stats,
    synth,
    validate,
    verify,
)

COMMANDS = [
    convert,
    create,
    import_,
    sources,
    export,
    filter,
    detect,
    info,
    stats,
    validate,
    verify,
    preview,
    formats,
    synth,
]

"""Subcommands of the command line: each module has NAME, HELP, EXAMPLE, add_arguments and run."""

from engine.commands import info, synth

COMMANDS = [info, synth]

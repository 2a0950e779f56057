"""The command line: the entry point, one module per command in commands/, projects and their TOML
file, the bundled sample. The top layer: may import everything below, nothing imports it.
"""

from engine.cli.main import main

__all__ = ["main"]

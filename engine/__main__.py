"""`python -m engine` runs the command-line tool."""

from engine.cli import main

raise SystemExit(main())

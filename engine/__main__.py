"""`python -m engine` runs the command-line tool."""

from engine.cli.main import main

raise SystemExit(main())

"""``python -m strategy_app``: the command-line interface."""

from strategy_app.cli import main

raise SystemExit(main())

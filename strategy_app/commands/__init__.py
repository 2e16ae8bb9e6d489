"""CLI sub-commands, one module each (see :mod:`strategy_app.cli`)."""

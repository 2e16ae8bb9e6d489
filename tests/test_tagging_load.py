"""Concurrent tagging sessions (separate processes) lose, duplicate and lock nothing."""

import pytest

from bench.tagging_load import run_load
from strategy_app.store import database_url


@pytest.mark.slow
def test_five_concurrent_sessions_lose_nothing(any_db, data_dir):
    result = run_load(database_url(data_dir), data_dir, sessions=5, edits=150)
    assert result["worker_exit_codes"] == [0] * 5
    assert result["acknowledged"] == 5 * 150
    assert (result["lost"], result["duplicated"], result["locked"]) == (0, 0, 0)
    assert result["errors"] == {}

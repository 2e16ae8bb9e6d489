"""Each command imports only what it needs (issue 32): a fresh interpreter runs the commands and
reports the heavy modules each one left loaded (``sys.modules``), so a top-level import of
torch, Optuna, Streamlit or MLflow in a command's path fails here, and so does pandas or torch
loaded by ``--help`` or a bad flag (building the parser registers every command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREDICTIONS = ROOT / "sample_data" / "predictions.csv"
# The search's, the app's and the tracking's dependencies: only `search`, `lr-find`, `serve` and
# a report of a saved study may load them.
SEARCH_AND_APP = ("torch", "optuna", "streamlit", "mlflow")
# Listing the commands or refusing a flag loads no data library at all.
DATA_LIBRARIES = ("pandas", "torch", "numpy", "pyarrow", "duckdb", "scipy", "sqlalchemy")

# Runs each argv through the CLI in this interpreter, one after the other, and prints one JSON
# list: per command, its exit code and the watched modules loaded by then.
RUNNER = """
import contextlib, io, json, sys
from strategy_app.cli import main
watched, commands = json.loads(sys.argv[1]), json.loads(sys.argv[2])
report = []
for argv in commands:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # --help exits from argparse
            code = exc.code
    report.append([argv, code, sorted(m for m in watched if m in sys.modules)])
print(json.dumps(report))
"""


def loaded_by(commands: list[list[str]], watched: tuple[str, ...], cwd: Path) -> list:
    """[argv, exit code, watched modules loaded after it] of each command, run in order in one
    fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(watched), json.dumps(commands)],
        capture_output=True, text=True, cwd=cwd, timeout=300,
        env={"PYTHONPATH": str(ROOT), "STRATEGY_DATA_DIR": str(cwd / "data"), "HOME": str(cwd)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_analysis_commands_never_load_the_search_or_the_app(tmp_path):
    commands = [
        ["diagnose", str(PREDICTIONS), "--human", "1%"],
        ["diagnose", str(PREDICTIONS), "--slice", "device", "--json"],
        ["diagnose", "--train", "8%", "--dev", "10%"],
        ["compare", str(PREDICTIONS), str(PREDICTIONS)],
        ["slices", str(PREDICTIONS), "--max-predicates", "1"],
        ["split", "--size", "100000"],
        ["errors", str(PREDICTIONS), "--out", str(tmp_path / "tags.csv")],
        ["ceiling", "--count", "blurry=3", "--reviewed", "10", "--dev-error", "10%"],
        ["report", str(PREDICTIONS), "--out", str(tmp_path / "report.html")],
        ["report", str(PREDICTIONS), "--format", "json", "--out", str(tmp_path / "r.json")],
        ["learning-curve", "--run", str(PREDICTIONS), "100", "--json"],
    ]
    watched = (*SEARCH_AND_APP, "duckdb", "sqlalchemy", "pandas", "scipy", "pyarrow.compute")
    report = loaded_by(commands, watched, tmp_path)
    # the watch sees what a handler imports when it runs; `diagnose FILE` opens no database, its
    # scan loads no pandas (only the exact reader, its fallback, does), 0/1 errors no scipy, and
    # no pyarrow.compute (0.02 s: only a Hugging Face dataset's split renaming needs it)
    assert [loaded for _, _, loaded in report[:3]] == [["duckdb"]] * 3
    for argv, code, loaded in report:
        assert code == 0, f"{argv} exited with {code}"
        heavy = [name for name in loaded if name in SEARCH_AND_APP]
        assert heavy == [], f"{' '.join(argv)} loaded {', '.join(heavy)}"
    assert (tmp_path / "tags.csv").is_file() and (tmp_path / "report.html").is_file()


def test_compare_loads_neither_pandas_nor_scipy_stats(tmp_path):
    # two versions that differ on some ids: McNemar's exact tail is summed in integers, so an
    # error-rate comparison loads no scipy at all, and an MAE one only scipy.special (Student's
    # t); neither loads pandas (the scan and the paired sums are DuckDB and NumPy)
    rows = [(i, ("train", "dev", "test")[i % 3], i % 4) for i in range(300)]
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    header = "id,split,y_true,y_pred\n"
    before.write_text(header + "".join(f"{i},{s},{y},{y + (i % 7 == 0)}\n" for i, s, y in rows))
    after.write_text(header + "".join(f"{i},{s},{y},{y + (i % 11 == 0)}\n" for i, s, y in rows))
    watched = ("pandas", "scipy", "scipy.special", "scipy.stats")
    (_, rate_code, rate_loaded), (_, mae_code, mae_loaded) = loaded_by(
        [
            ["compare", str(before), str(after), "--json"],
            ["compare", str(before), str(after), "--metric", "mae", "--json"],
        ],
        watched,
        tmp_path,
    )
    assert (rate_code, rate_loaded) == (0, [])
    assert (mae_code, mae_loaded) == (0, ["scipy", "scipy.special"])


def test_help_and_a_bad_flag_load_no_data_library(tmp_path):
    commands = [
        ["--help"],
        ["diagnose", "--help"],
        ["search", "--help"],
        ["report", "--help"],
        ["learning-curve", "--help"],
        ["diagnose", "--no-such-flag"],
        ["split", "--seed", "not-a-number"],
        ["no-such-command"],
    ]
    report = loaded_by(commands, DATA_LIBRARIES, tmp_path)
    assert [code for _, code, _ in report] == [0, 0, 0, 0, 0, 2, 2, 2]
    for argv, _, loaded in report:
        assert loaded == [], f"{' '.join(argv)} loaded {', '.join(loaded)}"

"""The CLI's DuckDB scan and the app's pyarrow reader type every cell by one rule.

Numeric-looking text is a number (``01`` is 1, ``1.0`` equals ``1``), only an empty cell is
missing (a class called ``NA`` is a class), and a column of numbers but for a few words is
refused. The corpus mixes the values the two engines used to read differently; on every file
both give the same numbers or the same refusal.
"""

from __future__ import annotations

import random

import pytest

from diagnostics.fastscan import scan_split_metrics
from diagnostics.ingest import read_predictions, split_metrics
from diagnostics.validation import InputError

TRICKY = [
    "0", "1", "01", "001", "00", "-0", "+1", "-1", "1.0", "1.", "1e0", "1E0", "0x1", "1_0",
    " 1", "1 ", "\u00a01", "1\u00a0", "true", "True", "FALSE", "NA", "nan", "NaN", "null", "",
    "cat", "Cat", " cat", "1,5", "2024-01-01", "1e400", "9223372036854775808",
]  # fmt: skip
SPLITS = ["train", "dev", "test", "train_dev"]


def outcome(call):
    """The per-split (value, n) or the refusal message of one reader."""
    try:
        result = call()
    except InputError as refusal:
        return "refused", str(refusal)
    return "read", {k: (round(v.value, 12), v.n) for k, v in result.items()}


def both(path):
    """The outcomes of the exact reader and of the scan, and the scan's engine."""
    exact = outcome(lambda: split_metrics(read_predictions(path, metrics_only=True)))
    engine = []

    def scan():
        result = scan_split_metrics(path)
        engine.append(result.engine)
        return result.splits

    return exact, outcome(scan), engine


def cell(value: str) -> str:
    """A CSV cell holding ``value`` (quoted when it has a comma or spaces)."""
    return f'"{value}"' if "," in value or value != value.strip() else value


def corpus(seed: int) -> str:
    """A small predictions CSV whose label cells mix tricky values with plain ones."""
    rng = random.Random(seed)
    pool = rng.sample(TRICKY, rng.randint(0, 2))
    plain = rng.choice([["0", "1", "2"], ["a", "b"], ["0.5", "1.5"]])
    rows = []
    for i in range(rng.randint(4, 12)):
        y_true = rng.choice(pool + plain)
        y_pred = rng.choice(pool + plain)
        rows.append(f"{i},{SPLITS[i % 4]},{cell(y_true)},{cell(y_pred)}")
    return "id,split,y_true,y_pred\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("seed", range(150))
def test_scan_and_exact_reader_agree_on_tricky_values(tmp_path, seed):
    path = tmp_path / "p.csv"
    path.write_text(corpus(seed), encoding="utf-8")
    exact, scanned, _ = both(path)
    assert scanned == exact, path.read_text()


@pytest.mark.parametrize(
    ("text", "train_error"),
    [
        pytest.param("split,y_true,y_pred\ntrain,01,001\ndev,05,06\n", 0.0, id="zero-padded"),
        pytest.param("split,y_true,y_pred\ntrain,1.0,1\ndev,+2,2\n", 0.0, id="one-point-zero"),
        pytest.param("split,y_true,y_pred\ntrain,NA,NA\ndev,NA,cat\n", 0.0, id="class-NA"),
    ],
)
def test_the_issue_examples_read_the_same(tmp_path, text, train_error):
    path = tmp_path / "p.csv"
    path.write_text(text)
    exact, scanned, _ = both(path)
    assert scanned == exact
    assert exact[1]["train"][0] == train_error


def test_zero_padded_ids_are_the_same_id_to_both(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,split,y_true,y_pred\n51,dev,1,1\n051,dev,1,0\n")
    exact, scanned, _ = both(path)
    assert exact == scanned
    assert exact[0] == "refused" and "'51' appears 2 times" in exact[1]


def test_a_late_fraction_in_an_integer_looking_column_is_not_rounded(tmp_path):
    path = tmp_path / "p.csv"
    rows = "".join(f"{SPLITS[i % 4]},1,1\n" for i in range(30_000))
    path.write_text("split,y_true,y_pred\n" + rows + "dev,1,1.5\n")
    exact, scanned, _ = both(path)
    assert scanned == exact
    assert exact[0] == "read" and exact[1]["dev"][0] > 0  # MAE: 0.5 on one row


def test_plain_files_still_take_the_fast_scan(tmp_path):
    path = tmp_path / "p.csv"
    rows = "".join(f"{i},{SPLITS[i % 4]},{i % 3},{i % 2}\n" for i in range(40))
    path.write_text("id,split,y_true,y_pred\n" + rows)
    exact, scanned, engine = both(path)
    assert scanned == exact and engine == ["duckdb"]
    words = "".join(f"{i},{SPLITS[i % 4]},c{i % 3},c{i % 2}\n" for i in range(40))
    path.write_text("id,split,y_true,y_pred\n" + words)
    exact, scanned, engine = both(path)
    assert scanned == exact and engine == ["duckdb"]

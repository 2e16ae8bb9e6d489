"""Slice finding: planted slices found first, null files quiet, waterfalls, CLI and refusals."""

import json

import numpy as np
import pandas as pd
import pytest

from diagnostics.ingest import read_predictions
from diagnostics.report import ReportInputs, render_html, report_tables
from diagnostics.slices import (
    Predicate,
    concentration_line,
    find_slices,
    find_slices_in_file,
    search_slices,
    slice_column,
)
from strategy_app.cli import main

BASE_RATE = 0.05


def metadata(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Four metadata columns: two categorical, one continuous, one integer."""
    return pd.DataFrame(
        {
            "device": rng.choice(["phone", "web", "tablet"], rows),
            "region": rng.choice(list("abcde"), rows),
            "brightness": rng.uniform(0, 1, rows).round(3),
            "hour": rng.integers(0, 24, rows),
        }
    )


def planted_errors(frame: pd.DataFrame, rng, lift: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Errors at the base rate, and at ``lift`` times it in device=phone ∧ region=c."""
    inside = (frame["device"] == "phone").to_numpy() & (frame["region"] == "c").to_numpy()
    rate = np.where(inside, lift * BASE_RATE, BASE_RATE)
    return rng.uniform(size=len(frame)) < rate, inside


def write_file(path, seed: int = 0, rows_per_split: int = 4000, planted: bool = True):
    """A predictions CSV with the metadata columns; dev carries the planted slice."""
    rng = np.random.default_rng(seed)
    parts = []
    for split, scale in (("train", 0.4), ("train_dev", 0.8), ("dev", 1.0), ("test", 1.0)):
        frame = metadata(rows_per_split, rng)
        if planted:
            wrong, _ = planted_errors(frame, rng)
        else:
            wrong = rng.uniform(size=rows_per_split) < BASE_RATE
        wrong &= rng.uniform(size=rows_per_split) < scale
        label = rng.integers(0, 10, rows_per_split)
        frame.insert(0, "split", split)
        frame.insert(1, "y_true", label)
        frame.insert(2, "y_pred", np.where(wrong, (label + 1) % 10, label))
        parts.append(frame)
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "id", np.arange(len(out)))
    out.to_csv(path, index=False)
    return path


def test_planted_two_predicate_slice_is_rank_one():
    rng = np.random.default_rng(1)
    frame = metadata(20_000, rng)
    errors, inside = planted_errors(frame, rng)
    slices, tried, significant = search_slices(frame, errors, list(frame.columns))
    top = slices[0]
    assert {p.label for p in top.predicates} == {"device=phone", "region=c"}
    assert top.n == int(inside.sum())
    assert top.errors == int(errors[inside].sum())
    assert 2.5 < top.lift < 3.6
    assert top.p_adjusted < 1e-6 and top.p_value <= top.p_adjusted
    assert top.interval[0] < top.error_rate < top.interval[1]
    assert top.error_share == pytest.approx(top.errors / errors.sum())
    assert tried > 100 and significant >= 1
    assert np.array_equal(top.mask(frame), inside)
    assert concentration_line(top).startswith(
        f"errors concentrate in device=phone ∧ region=c: {top.error_share:.0%} of dev errors at "
    )


def test_a_numeric_cut_is_found_at_a_quantile_edge():
    rng = np.random.default_rng(4)
    frame = metadata(20_000, rng)
    inside = (frame["device"] == "web").to_numpy() & (frame["brightness"] < 0.4).to_numpy()
    errors = rng.uniform(size=len(frame)) < np.where(inside, 0.15, 0.05)
    top = search_slices(frame, errors, list(frame.columns))[0][0]
    by_column = {p.column: p for p in top.predicates}
    assert by_column["device"] == Predicate("device", "==", "web")
    assert by_column["brightness"].op == "<"
    assert by_column["brightness"].value == pytest.approx(0.4, abs=0.02)


def test_reported_slices_are_distinct():
    rng = np.random.default_rng(2)
    frame = metadata(20_000, rng)
    errors, _ = planted_errors(frame, rng)
    slices, _, _ = search_slices(frame, errors, list(frame.columns))
    masks = [s.mask(frame) for s in slices]
    for i, first in enumerate(masks):
        for second in masks[i + 1 :]:
            assert (first & second).sum() < 0.5 * min(first.sum(), second.sum())


def test_a_whole_split_and_redundant_predicates_are_not_tried():
    frame = pd.DataFrame({"device": ["phone"] * 400, "x": np.tile(np.arange(20), 20)})
    errors = np.zeros(400, dtype=bool)
    errors[:40] = True
    slices, tried, _ = search_slices(frame, errors, ["device", "x"], min_support=20)
    # device=phone is every row; device=phone ∧ x<k is x<k again: only x's own predicates count
    assert tried == 8
    assert slices == [] or all(len(s.predicates) == 1 for s in slices)


def test_no_errors_and_tiny_splits():
    frame = pd.DataFrame({"device": ["a", "b"] * 15})
    slices, tried, significant = search_slices(frame, np.zeros(30, bool), ["device"], min_support=5)
    assert (slices, significant) == ([], 0) and tried == 2
    slices, tried, _ = search_slices(frame.head(6), np.ones(6, bool), ["device"])
    assert (slices, tried) == ([], 0)  # below the default minimum support of 20 rows


def test_missing_values_are_a_predicate():
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 1, 5000)
    values[:500] = np.nan
    frame = pd.DataFrame({"brightness": values})
    errors = rng.uniform(size=5000) < np.where(np.isnan(values), 0.3, 0.05)
    slices, _, _ = search_slices(frame, errors, ["brightness"])
    assert slices[0].predicates == (Predicate("brightness", "missing"),)
    assert slices[0].n == 500


def test_adjusted_p_values_are_benjamini_hochberg():
    rng = np.random.default_rng(5)
    frame = metadata(5000, rng)
    errors, _ = planted_errors(frame, rng)
    slices, tried, _ = search_slices(frame, errors, list(frame.columns), fdr=1.0, top=10_000)
    p = np.sort([s.p_value for s in slices])
    # BH: p_(k) · m / k, made monotone from the largest down
    for found in slices:
        k = np.searchsorted(p, found.p_value, side="right")
        assert found.p_adjusted <= found.p_value * tried / k + 1e-12


def test_slice_waterfall_and_representation(tmp_path):
    path = write_file(tmp_path / "p.csv")
    search = find_slices_in_file(path)
    assert search.split == "dev" and search.rows == 4000
    assert set(search.columns) == {"device", "region", "brightness", "hour"}
    top = search.slices[0]
    assert {p.column for p in top.predicates} == {"device", "region"}
    levels = top.waterfall["levels"]
    assert set(levels) == {"train", "train_dev", "dev", "test"}
    assert levels["train"] < levels["train_dev"] < levels["dev"]
    assert top.waterfall["gaps"]["variance"] == pytest.approx(levels["train_dev"] - levels["train"])
    assert top.representation["dev"] == pytest.approx(top.n / 4000)
    assert 0.05 < top.representation["train"] < 0.15
    data = json.loads(json.dumps(search.to_dict()))
    assert data["slices"][0]["predicates"][0].keys() == {"column", "op", "value"}
    # a stored result makes the slice column of the whole file (every split)
    predictions = read_predictions(path, extra_columns=("device", "region"))
    column = slice_column(predictions.frame, data["slices"][0]["predicates"], "top slice")
    assert column.name == "top slice" and set(column) == {"yes", "no"}
    assert np.array_equal(column == "yes", top.mask(predictions.frame))
    in_dev = (column == "yes") & (predictions.frame["split"] == "dev")
    assert in_dev.sum() == top.n


def test_a_slice_absent_from_training_has_no_train_level(tmp_path):
    predictions = read_predictions(write_file(tmp_path / "p.csv"), extra_columns=("device",))
    predictions.frame["device"] = predictions.frame["device"].where(
        predictions.frame["split"].isin(["dev", "test"]), "web"
    )
    search = find_slices(predictions, columns=["device"], max_predicates=1)
    for found in search.slices:
        assert found.representation["train"] == 0.0
        assert "train" not in found.waterfall["levels"]


def run_cli(capsys, *argv) -> dict:
    assert main(["slices", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out)


def test_cli_contract(tmp_path, capsys):
    path = write_file(tmp_path / "p.csv")
    data = run_cli(capsys, str(path), "--columns", "device, region", "--min-support", "50")
    assert {"slices", "tried", "method"} <= set(data)
    assert "Benjamini–Hochberg" in data["method"] and "Fisher" in data["method"]
    assert data["columns"] == ["device", "region"] and data["min_support"] == 50
    first = data["slices"][0]
    assert {
        "predicates", "n", "errors", "error_rate", "interval", "lift", "error_share",
        "p_value", "p_adjusted",
    } <= set(first)  # fmt: skip
    assert main(["slices", str(path), "--split", "test"]) == 0
    assert "Slices of test" in capsys.readouterr().out


def refused(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    return captured.err


def test_bad_inputs(tmp_path, capsys, predictions_csv):
    bare = tmp_path / "bare.csv"
    bare.write_text("split,y_true,y_pred\ndev,1,1\ndev,1,2\n")
    assert "no extra columns to slice by" in refused(capsys, "slices", str(bare))
    assert "no column 'colour'" in refused(
        capsys, "slices", str(predictions_csv), "--columns", "colour"
    )
    assert "an empty column name" in refused(
        capsys, "slices", str(predictions_csv), "--columns", "device,"
    )
    assert "--max-predicates must be 1, 2 or 3" in refused(
        capsys, "slices", str(predictions_csv), "--max-predicates", "4"
    )
    assert "unknown split 'holdout'" in refused(
        capsys, "slices", str(predictions_csv), "--split", "holdout"
    )
    regression = tmp_path / "r.csv"
    regression.write_text("split,y_true,y_pred,city\ndev,1.5,2.25,a\ndev,2.5,2.0,b\n")
    assert "needs class labels" in refused(capsys, "slices", str(regression))
    assert "not found" in refused(capsys, "slices", str(tmp_path / "none.csv"))


@pytest.mark.slow
def test_null_files_report_no_slice_in_most_seeds():
    quiet = 0
    seeds = range(100)
    for seed in seeds:
        rng = np.random.default_rng(1000 + seed)
        frame = metadata(10_000, rng)
        errors = rng.uniform(size=len(frame)) < 0.1
        _, _, significant = search_slices(frame, errors, list(frame.columns), max_predicates=2)
        quiet += significant == 0
    assert quiet >= 95  # BH at 5% under the global null: any discovery is a false one


def test_report_section_from_a_real_search(tmp_path):
    search = find_slices_in_file(write_file(tmp_path / "p.csv"))
    inputs = ReportInputs(error_slices=search)
    assert inputs.available_sections() == ["concentration"]
    html = render_html(inputs, ["concentration"])
    assert '<section id="concentration">' in html and "Where errors concentrate" in html
    assert f"{search.tried:,} slices tried" in html
    assert html.count("<tr>") == 1 + len(search.slices)
    table = report_tables(inputs, ["concentration"])["concentration"]
    assert table[1][0] == search.slices[0].label
    quiet = find_slices_in_file(write_file(tmp_path / "null.csv", planted=False))
    html = render_html(ReportInputs(error_slices=quiet), ["concentration"])
    assert "No slice has an error rate significantly above the rest" in html


def test_dates_and_booleans_are_categories_in_json():
    rng = np.random.default_rng(6)
    rows = 5000
    day = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 3, rows), unit="D")
    frame = pd.DataFrame({"day": day, "flag": rng.uniform(size=rows) < 0.5})
    errors = rng.uniform(size=rows) < np.where(day == pd.Timestamp("2024-01-02"), 0.2, 0.05)
    top = search_slices(frame, errors, ["day", "flag"])[0][0]
    assert top.label == "day=2024-01-02"
    assert top.mask(frame).sum() == top.n
    assert json.loads(json.dumps(top.to_dict()))["predicates"][0]["value"] == "2024-01-02"

"""The DuckDB scan of ``diagnose FILE`` equals the exact pyarrow path, and refuses the same way."""

import math
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from diagnostics import fastscan
from diagnostics.fastscan import scan_split_metrics
from diagnostics.ingest import read_predictions, slice_metrics, split_metrics
from diagnostics.validation import InputError
from tests.test_bad_inputs import CASES, Accepted, Upload

SPLIT_NAMES = ["train", "Train-Dev", " val ", "TEST", "dev", "traindev", "validation", "test"]


def _columns(rows: int, seed: int, *, regression=False, text_labels=False) -> dict:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, rows)
    y_pred = np.where(rng.random(rows) < 0.2, (y_true + 1) % 5, y_true)
    if regression:
        y_true = rng.normal(100, 20, rows).round(2)
        y_pred = y_true + rng.normal(0, 5, rows).round(2)
    if text_labels:
        names = np.array(["cat", "dog", "bird", "fish", "ant"])
        y_true, y_pred = names[y_true], names[y_pred]
    return {
        "id": rng.permutation(rows),  # unique, not in order: the scan counts duplicates
        "split": [SPLIT_NAMES[i] for i in rng.integers(0, len(SPLIT_NAMES), rows)],
        "y_true": y_true,
        "y_pred": y_pred,
        "weight": rng.uniform(0, 3, rows).round(3),
        "device": rng.choice(["web", "phone", "tablet"], rows),
        "city": rng.integers(1, 12, rows),
        "score": rng.random(rows),
    }


def _write(tmp_path, columns: dict, fmt: str, name: str = "p") -> str:
    table = pa.table(columns)
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        table.to_pandas().to_csv(path, index=False)
    return str(path)


def _assert_same_levels(fast: dict, exact: dict) -> None:
    assert list(fast) == list(exact)
    for split, estimate in exact.items():
        got = fast[split]
        assert got.n == estimate.n
        assert got.has_interval == estimate.has_interval, split
        for field in ("value", "low", "high", "se", "df"):
            if getattr(estimate, field) is None:
                assert getattr(got, field) is None, (split, field)
                continue
            assert math.isclose(
                getattr(got, field), getattr(estimate, field), rel_tol=1e-12, abs_tol=1e-12
            ), (split, field)


def _assert_equal_to_exact(path: str, *, metric=None, slice_column=None) -> None:
    scan = scan_split_metrics(path, metric=metric, slice_column=slice_column)
    extra = (slice_column,) if slice_column else ()
    exact = read_predictions(path, metric=metric, extra_columns=extra, metrics_only=True)
    assert scan.engine == "duckdb"
    assert scan.metric == exact.metric
    assert scan.rows == len(exact.frame)
    _assert_same_levels(scan.splits, split_metrics(exact))
    if slice_column:
        expected = slice_metrics(exact, slice_column)
        assert list(scan.slices) == list(expected)
        for value, levels in expected.items():
            _assert_same_levels(scan.slices[value], levels)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("drop", "kwargs", "slice_column"),
    [
        ((), {}, None),
        (("weight",), {}, None),
        (("weight", "id"), {}, "device"),
        ((), {}, "city"),
        ((), {"regression": True}, None),
        ((), {"regression": True}, "device"),
        (("weight",), {"regression": True}, None),
        ((), {"text_labels": True}, "device"),
    ],
)
def test_scan_equals_exact_path(tmp_path, fmt, drop, kwargs, slice_column):
    columns = {k: v for k, v in _columns(3000, 7, **kwargs).items() if k not in drop}
    _assert_equal_to_exact(_write(tmp_path, columns, fmt), slice_column=slice_column)


@pytest.mark.parametrize("metric", ["error", "mae", "rmse"])
def test_forced_metric(tmp_path, metric):
    path = _write(tmp_path, _columns(2000, 3, regression=metric != "error"), "parquet")
    _assert_equal_to_exact(path, metric=metric, slice_column="device")


def test_float32_weights_and_integral_float_labels(tmp_path):
    columns = _columns(2000, 5)
    columns["weight"] = columns["weight"].astype(np.float32)
    columns["y_true"] = columns["y_true"].astype(np.float64)  # 1.0, 2.0: still classes
    path = _write(tmp_path, columns, "parquet")
    _assert_equal_to_exact(path)
    assert scan_split_metrics(path).metric == "error"


def test_ordered_ids_need_no_second_query(tmp_path):
    columns = _columns(1000, 1)
    columns["id"] = np.arange(1000) * 3
    _assert_equal_to_exact(_write(tmp_path, columns, "csv"))


def test_losses_far_larger_than_their_spread_go_the_exact_way(tmp_path):
    # raw Σloss² rounds a spread of 0.001 around 1e6 away; the exact path's two passes keep it
    columns = _columns(400, 4, regression=True)
    columns["y_true"] = np.zeros(400)
    columns["y_pred"] = 1e6 + np.where(np.arange(400) % 2 == 0, 0.001, -0.001)
    path = _write(tmp_path, columns, "parquet")
    scan = scan_split_metrics(path, metric="mae")
    assert scan.engine == "pyarrow"
    assert all(est.high - est.low > 1e-5 for est in scan.splits.values())


@pytest.mark.parametrize("metric", ["mae", "rmse"])
def test_a_one_row_split_has_no_interval_on_both_paths(tmp_path, metric):
    columns = _columns(300, 6, regression=True)
    columns["split"] = ["train"] * 299 + ["dev"]
    path = _write(tmp_path, columns, "parquet")
    _assert_equal_to_exact(path, metric=metric)
    assert not scan_split_metrics(path, metric=metric).splits["dev"].has_interval


def test_text_the_csv_reader_strips_goes_the_exact_way(tmp_path):
    columns = _columns(500, 2, text_labels=True)
    columns["y_true"] = np.char.add(columns["y_true"], "\t")  # the exact path strips it
    path = _write(tmp_path, columns, "csv")
    scan = scan_split_metrics(path)
    assert scan.engine == "pyarrow"
    _assert_same_levels(scan.splits, split_metrics(read_predictions(path, metrics_only=True)))


def _broken(columns: dict, problem: str) -> dict:
    if problem == "duplicate id":
        columns["id"][5] = columns["id"][900]
        columns["split"][5] = columns["split"][900]
    elif problem == "unknown split":
        columns["split"][40] = "holdout"
    elif problem == "empty split":
        columns["split"][40] = None
    elif problem == "negative weight":
        columns["weight"][7] = -1.0
    elif problem == "NaN label":
        columns["y_pred"] = columns["y_pred"].astype(float)
        columns["y_pred"][3] = np.nan
    elif problem == "text in regression":
        columns["y_pred"] = columns["y_pred"].astype(str)
        columns["y_pred"][11] = "n/a"
    elif problem == "zero weights":
        columns["weight"] = np.zeros(len(columns["weight"]))
    return columns


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    "problem",
    [
        "duplicate id",
        "unknown split",
        "empty split",
        "negative weight",
        "NaN label",
        "text in regression",
        "zero weights",
    ],
)
def test_refusals_are_the_exact_paths(tmp_path, fmt, problem):
    regression = problem == "text in regression"
    columns = _broken(_columns(1000, 4, regression=regression), problem)
    columns["split"] = list(columns["split"])
    path = _write(tmp_path, columns, fmt)
    metric = "mae" if regression else None
    with pytest.raises(InputError) as exact:
        read_predictions(path, metric=metric, metrics_only=True)
    with pytest.raises(InputError) as fast:
        scan_split_metrics(path, metric=metric)
    assert str(fast.value) == str(exact.value)


@pytest.mark.parametrize(
    "content",
    [b"", b"<html><body>no</body></html>", b"split;y_true;y_pred\ntrain;1;1\n", b"\xff\xfe\x00"],
)
def test_unreadable_files_are_refused_by_the_exact_path(tmp_path, content):
    path = tmp_path / "p.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as exact:
        read_predictions(path, metrics_only=True)
    with pytest.raises(InputError) as fast:
        scan_split_metrics(path)
    assert str(fast.value) == str(exact.value)


def test_path_and_column_names_are_never_sql(tmp_path):
    columns = _columns(300, 9)
    columns['it\'s "odd"'] = columns.pop("device")
    folder = tmp_path / "o'brien; DROP"
    folder.mkdir()
    path = _write(folder, columns, "csv", name="x'y")
    _assert_equal_to_exact(path, slice_column='it\'s "odd"')


UPLOADS = [
    pytest.param(case.values[0], id=case.id)
    for case in CASES
    if isinstance(case.values[0], (Upload, Accepted))
]


@pytest.mark.parametrize("case", UPLOADS)
def test_bad_input_catalogue_same_outcome(tmp_path, case):
    data = case.data(tmp_path) if callable(case.data) else case.data
    path = tmp_path / f"upload{Path(case.name).suffix}"
    path.write_bytes(data)
    try:
        exact = read_predictions(path, display_name=case.name, metrics_only=True)
    except InputError as refused:
        with pytest.raises(InputError) as fast:
            scan_split_metrics(path, display_name=case.name)
        assert str(fast.value) == str(refused)
        return
    scan = scan_split_metrics(path, display_name=case.name)
    assert scan.metric == exact.metric
    _assert_same_levels(scan.splits, split_metrics(exact))


def test_parquet_integer_ids_are_checked_by_a_bitmap_per_split(tmp_path):
    rng = np.random.default_rng(4)
    ids = rng.permutation(1000)  # not in order: no lag shortcut
    columns = {
        "id": np.concatenate([ids, ids]),  # each id once in train and once in dev
        "split": ["train"] * 1000 + ["dev"] * 1000,
        "y_true": rng.integers(0, 5, 2000),
        "y_pred": rng.integers(0, 5, 2000),
    }
    _assert_equal_to_exact(_write(tmp_path, columns, "parquet", "across"))
    columns["id"] = columns["id"].copy()
    columns["id"][1001] = columns["id"][1000]  # now twice within dev
    with pytest.raises(InputError, match="appears 2 times in split 'dev'"):
        scan_split_metrics(_write(tmp_path, columns, "parquet", "within"))


def test_csv_ids_in_order_are_checked_by_a_bitmap_over_the_first_and_last_ids(tmp_path):
    rng = np.random.default_rng(5)
    columns = {
        "id": np.concatenate([np.arange(1000), np.arange(1000, 2000)]),
        "split": ["train"] * 1000 + ["dev"] * 1000,
        "y_true": rng.integers(0, 5, 2000),
        "y_pred": rng.integers(0, 5, 2000),
    }
    path = Path(_write(tmp_path, columns, "csv", "ordered"))
    assert _id_check(path, columns) == fastscan._IdCheck("bitmap", 0, 1999)
    _assert_equal_to_exact(str(path))
    columns["id"] = columns["id"].copy()
    columns["id"][1500] = columns["id"][1499]  # twice within dev, still in order
    with pytest.raises(InputError, match="appears 2 times in split 'dev'"):
        scan_split_metrics(_write(tmp_path, columns, "csv", "repeated"))


def test_csv_ids_outside_the_guessed_range_fall_back_to_the_order_check(tmp_path):
    rng = np.random.default_rng(6)
    columns = {
        "id": np.arange(1000),
        "split": ["train"] * 500 + ["dev"] * 500,
        "y_true": rng.integers(0, 5, 1000),
        "y_pred": rng.integers(0, 5, 1000),
    }
    columns["id"][300] = 10**6  # outside [first, last]: the bitmap raises, the order check runs
    path = _write(tmp_path, columns, "csv", "outside")
    _assert_equal_to_exact(path)  # still the DuckDB scan, same numbers
    assert _id_check(Path(path), columns) == fastscan._IdCheck("bitmap", 0, 999)


def test_no_id_range_guess_from_a_csv_without_data_rows_or_integer_ends(tmp_path):
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,split,y_true,y_pred\n")
    text_ids = tmp_path / "text.csv"
    text_ids.write_text("id,split,y_true,y_pred\na,train,1,1\nb,dev,1,0\n")
    columns = dict.fromkeys(["id", "split", "y_true", "y_pred"])
    assert _id_check(header_only, columns) == fastscan.ORDER_CHECK
    assert _id_check(text_ids, columns) == fastscan.ORDER_CHECK


def _id_check(path: Path, columns, *, sliced=False) -> fastscan._IdCheck:
    """The id check the scan picks for a file whose columns are all integers."""
    types = dict.fromkeys(columns, "BIGINT")
    metadata = None if path.suffix == ".csv" else pq.read_metadata(path)
    return fastscan._id_check(path, types, metadata, sliced=sliced)


def _numbered(rows: int, first_id: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "id": np.arange(first_id, first_id + rows),
        "split": rng.choice(["train", "dev", "test"], rows).tolist(),
        "y_true": rng.integers(0, 5, rows),
        "y_pred": rng.integers(0, 5, rows),
        "device": rng.choice(["web", "phone"], rows).tolist(),
    }


@pytest.mark.parametrize("first_id", [0, 1, 10**15])
@pytest.mark.parametrize("slice_column", [None, "device"])
def test_parquet_ids_that_are_row_numbers_are_checked_against_them(
    tmp_path, first_id, slice_column
):
    columns = _numbered(2500, first_id, seed=first_id % 97)
    path = tmp_path / "numbered.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=1000)  # three row groups
    assert _id_check(path, columns, sliced=slice_column is not None) == fastscan._IdCheck(
        "row_offset", first_id
    )
    _assert_equal_to_exact(str(path), slice_column=slice_column)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("swap", "row_offset"),  # same statistics, ids no longer their row numbers: re-checked
        ("repeat", "row_offset"),  # a repeat and a gap within one row group: same statistics
        ("gap", "bitmap"),  # one id skipped: the statistics no longer fit row numbers
    ],
)
def test_parquet_ids_unlike_the_row_numbers_their_statistics_suggest(tmp_path, change, expected):
    columns = _numbered(2500, 0, seed=8)
    ids = columns["id"].copy()
    if change == "swap":
        ids[[10, 20]] = ids[[20, 10]]
    elif change == "repeat":
        ids[11] = ids[10]  # ids 0..999 still the row group's min and max, 11 missing
        columns["split"][11] = columns["split"][10]
    else:
        ids[1500:] += 1
    columns["id"] = ids
    path = tmp_path / f"{change}.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=1000)
    assert _id_check(path, columns).kind == expected
    if change == "repeat":
        with pytest.raises(InputError, match="appears 2 times"):
            scan_split_metrics(path)
    else:
        _assert_equal_to_exact(str(path))


def test_a_column_named_like_duckdbs_row_number_keeps_the_bitmap(tmp_path):
    columns = _numbered(1500, 0, seed=9) | {"file_row_number": np.arange(1500)[::-1].copy()}
    path = tmp_path / "named.parquet"
    pq.write_table(pa.table(columns), path)
    assert _id_check(path, columns).kind == "bitmap"
    _assert_equal_to_exact(str(path))


def test_a_nested_field_named_id_does_not_lend_its_statistics(tmp_path):
    columns = _numbered(1200, 0, seed=10)
    nested = pa.StructArray.from_arrays([pa.array(np.arange(1200))], ["id"])  # row numbers
    columns["id"] = np.random.default_rng(10).permutation(1200) * 2  # the real ids: even
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"meta": nested, **columns}), path)
    assert _id_check(path, ["meta", *columns]).kind == "bitmap"
    _assert_equal_to_exact(str(path))


def test_the_space_class_holds_every_python_space():
    # the scan searches code points up to U+3000 only: no space of Python's lies beyond it
    from diagnostics.fastscan import LAST_SPACE, PYTHON_SPACES

    every = [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert max(every) == LAST_SPACE
    assert "".join(f"\\x{{{c:X}}}" for c in every) == PYTHON_SPACES

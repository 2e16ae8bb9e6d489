"""Reading predictions files: canonical columns, aliases, formats and every refusal."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from diagnostics import ingest
from diagnostics.ingest import read_predictions, slice_metrics, split_metrics
from diagnostics.validation import InputError

HEADER = "split,y_true,y_pred\n"


def write(tmp_path, text, name="p.csv", encoding="utf-8"):
    """Write ``text`` to a file in ``tmp_path`` and return its path."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def refusal(path, **kwargs) -> str:
    """The message of the InputError raised for ``path``."""
    with pytest.raises(InputError) as caught:
        read_predictions(path, **kwargs)
    return str(caught.value)


def csv_of(rows, header=HEADER):
    return header + "".join(",".join(map(str, r)) + "\n" for r in rows)


@pytest.fixture
def small(tmp_path):
    """A valid classification file: 4 train rows (1 error), 2 dev rows (1 error)."""
    rows = [
        ("train", 1, 1), ("train", 2, 2), ("train", 3, 1), ("train", 4, 4),
        ("dev", 1, 2), ("dev", 5, 5),
    ]  # fmt: skip
    return write(tmp_path, csv_of(rows))


# -- happy paths --------------------------------------------------------------------------------


def test_reads_canonical_frame(small):
    pred = read_predictions(small)
    assert pred.metric == "error"
    assert pred.source == "p.csv"
    assert list(pred.frame.columns[:3]) == ["split", "y_true", "y_pred"]
    assert list(pred.frame["split"].cat.categories) == ["train", "train_dev", "dev", "test"]
    levels = split_metrics(pred)
    assert set(levels) == {"train", "dev"}
    assert levels["train"].value == pytest.approx(0.25)
    assert levels["train"].n == 4
    assert levels["dev"].value == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("train-dev", "train_dev"),
        ("traindev", "train_dev"),
        ("Train_Dev", "train_dev"),
        ("val", "dev"),
        ("valid", "dev"),
        (" Validation ", "dev"),
        ("TEST", "test"),
    ],
)
def test_split_aliases(tmp_path, alias, canonical):
    path = write(tmp_path, csv_of([("train", 1, 1), (alias, 1, 2)]))
    pred = read_predictions(path)
    assert pred.frame["split"].tolist() == ["train", canonical]
    assert split_metrics(pred)[canonical].value == 1.0


def test_optional_columns_and_score_alias(tmp_path):
    text = csv_of(
        [
            ("a", "train", 1, 1, 0.9, "img/a.png", "web", 1.0),
            ("b", "dev", 1, 2, 0.6, "x", "phone", 2),
        ],
        header="id,split,y_true,y_pred,probability,input,device,weight\n",
    )
    pred = read_predictions(write(tmp_path, text))
    assert {"id", "score", "input", "weight"} <= set(pred.frame.columns)
    assert "device" not in pred.frame  # other columns are read only when asked for
    assert pred.frame["score"].tolist() == [0.9, 0.6]
    with_slice = read_predictions(write(tmp_path, text), extra_columns=("device",))
    assert with_slice.frame["device"].tolist() == ["web", "phone"]


def test_text_labels_and_bom(tmp_path):
    text = "\ufeff" + csv_of(
        [("train", "cat", "cat"), ("dev", "dog", " cat"), ("dev", "dog", "dog")]
    )
    pred = read_predictions(write(tmp_path, text))
    assert pred.metric == "error"
    assert split_metrics(pred)["dev"].value == pytest.approx(0.5)


@pytest.mark.parametrize(
    "header", ['"split","y_true","y_pred"\n', "split, y_true ,y_pred\n"], ids=["quoted", "spaced"]
)
def test_quoted_and_spaced_header(tmp_path, header):
    pred = read_predictions(write(tmp_path, csv_of([("train", 1, 1), ("dev", 1, 2)], header)))
    assert list(pred.frame.columns) == ["split", "y_true", "y_pred"]
    assert split_metrics(pred)["dev"].value == 1.0


def test_floats_that_are_ints_are_classes(tmp_path):
    path = write(tmp_path, csv_of([("train", "1.0", "1.0"), ("dev", "2.0", "3.0")]))
    pred = read_predictions(path)
    assert pred.metric == "error"
    assert pred.frame["y_true"].tolist() == [1, 2]


def test_float_against_int_labels_compare_as_classes(tmp_path):
    path = write(tmp_path, csv_of([("train", "1", "1.0"), ("dev", "2", "3.0"), ("dev", "3", "3")]))
    pred = read_predictions(path)
    assert pred.metric == "error"
    assert split_metrics(pred)["train"].value == 0.0
    assert split_metrics(pred)["dev"].value == pytest.approx(0.5)


def test_fractional_labels_mean_regression(tmp_path):
    path = write(tmp_path, csv_of([("train", 10, 12.5), ("train", 20, 19), ("dev", 10, 14)]))
    pred = read_predictions(path)
    assert pred.metric == "mae"
    levels = split_metrics(pred)
    assert levels["train"].value == pytest.approx(1.75)
    assert levels["dev"].value == pytest.approx(4.0)


def test_metric_can_be_forced(tmp_path):
    path = write(tmp_path, csv_of([("train", 10, 13), ("train", 20, 19), ("dev", 10, 14)]))
    assert read_predictions(path).metric == "error"
    rmse = read_predictions(path, metric="rmse")
    assert split_metrics(rmse)["train"].value == pytest.approx(np.sqrt((9 + 1) / 2))
    assert "unknown metric 'accuracy'" in refusal(path, metric="accuracy")


def test_weighted_metrics(tmp_path):
    rows = [("train", 1, 1, 1), ("train", 1, 2, 3), ("dev", 1, 2, 0), ("dev", 1, 1, 2)]
    pred = read_predictions(write(tmp_path, csv_of(rows, header="split,y_true,y_pred,weight\n")))
    levels = split_metrics(pred)
    assert levels["train"].value == pytest.approx(0.75)
    assert levels["dev"].value == 0.0
    assert levels["train"].n == 2


def test_slice_metrics(tmp_path):
    rows = [
        ("train", 1, 1, "web"), ("train", 1, 2, "phone"),
        ("dev", 1, 1, "web"), ("dev", 1, 2, "phone"), ("dev", 2, 2, "phone"),
    ]  # fmt: skip
    text = csv_of(rows, header="split,y_true,y_pred,device\n")
    pred = read_predictions(write(tmp_path, text), extra_columns=("device",))
    slices = slice_metrics(pred, "device")
    assert set(slices) == {"web", "phone"}
    assert slices["phone"]["dev"].value == pytest.approx(0.5)
    assert slices["web"]["train"].value == 0.0
    with pytest.raises(InputError, match="no slice column 'city'"):
        slice_metrics(pred, "city")


def test_parquet_and_csv_agree(tmp_path):
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "split": rng.choice(["train", "train-dev", "val", "test"], size=n),
            "y_true": rng.integers(0, 10, n),
            "weight": rng.uniform(0.5, 2.0, n),
            "device": rng.choice(["web", "phone"], size=n),
        }
    )
    frame["y_pred"] = np.where(rng.random(n) < 0.1, (frame["y_true"] + 1) % 10, frame["y_true"])
    frame.to_csv(tmp_path / "p.csv", index=False)
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    from_csv = read_predictions(tmp_path / "p.csv", extra_columns=("device",))
    from_parquet = read_predictions(tmp_path / "p.parquet", extra_columns=("device",))
    assert from_csv.metric == from_parquet.metric == "error"
    assert split_metrics(from_csv) == pytest.approx(split_metrics(from_parquet))
    assert set(split_metrics(from_csv)) == {"train", "train_dev", "dev", "test"}
    csv_slices = slice_metrics(from_csv, "device")
    parquet_slices = slice_metrics(from_parquet, "device")
    assert set(csv_slices) == set(parquet_slices) == {"web", "phone"}
    for value, levels in csv_slices.items():
        assert levels == pytest.approx(parquet_slices[value])


def test_parquet_with_categorical_split(tmp_path):
    frame = pd.DataFrame(
        {"split": pd.Categorical(["train", "dev", "dev"]), "y_true": [1, 2, 3], "y_pred": [1, 2, 0]}
    )
    frame.to_parquet(tmp_path / "p.parquet")
    assert split_metrics(read_predictions(tmp_path / "p.parquet"))["dev"].value == 0.5


def test_display_name_used_in_messages(tmp_path):
    path = write(tmp_path, HEADER)
    assert refusal(path, display_name="upload.csv").startswith("upload.csv ")


# -- refusals -------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    assert "not found" in refusal(tmp_path / "nope.csv")


def test_directory_is_not_a_file(tmp_path):
    assert "is a folder" in refusal(tmp_path)


def test_empty_file(tmp_path):
    assert "empty (0 bytes)" in refusal(write(tmp_path, ""))


def test_header_only(tmp_path):
    assert "header but no rows" in refusal(write(tmp_path, HEADER))


def test_missing_column_named_and_found_listed(tmp_path):
    message = refusal(write(tmp_path, "split,label,y_pred\ntrain,1,1\n"))
    assert "'y_true'" in message
    assert "columns found: split, label, y_pred" in message


def test_missing_extra_column(tmp_path):
    message = refusal(write(tmp_path, csv_of([("train", 1, 1)])), extra_columns=("city",))
    assert "'city'" in message


def test_unknown_split_named_with_accepted(tmp_path):
    message = refusal(write(tmp_path, csv_of([("train", 1, 1), ("holdout", 1, 1)])))
    assert "unknown split 'holdout'" in message
    assert "row 2" in message
    assert "train, train_dev, dev, test" in message
    assert "validation" in message


def test_empty_split_values(tmp_path):
    message = refusal(write(tmp_path, csv_of([("train", 1, 1), ("", 1, 1), ("", 2, 2)])))
    assert "column 'split'" in message
    assert "2 empty values" in message
    assert "rows 2, 3" in message


@pytest.mark.parametrize("column", ["y_true", "y_pred"])
def test_empty_labels_counted_with_first_rows(tmp_path, column):
    rows = [("train", 1, 1)] * 2 + [("train", "", "")] * 7
    message = refusal(write(tmp_path, csv_of(rows)))
    assert f"column '{column}'" in message or "column 'y_true'" in message
    assert "7 empty values" in message
    assert "rows 3, 4, 5, 6, 7, …" in message


def test_nan_labels_in_parquet(tmp_path):
    frame = pd.DataFrame({"split": ["train", "dev", "dev"], "y_true": [1.0, np.nan, 2.0]})
    frame["y_pred"] = [1.0, 2.0, 2.0]
    frame.to_parquet(tmp_path / "p.parquet")
    message = refusal(tmp_path / "p.parquet")
    assert "column 'y_true'" in message
    assert "1 empty values (rows 2)" in message


def test_blank_text_labels(tmp_path):
    message = refusal(write(tmp_path, csv_of([("train", "cat", "cat"), ("dev", "dog", "  ")])))
    assert "column 'y_pred'" in message
    assert "1 empty values (rows 2)" in message


def test_non_utf8(tmp_path):
    text = csv_of([("train", "caf\xe9", "caf\xe9")] * 3)
    assert "not UTF-8" in refusal(write(tmp_path, text, encoding="latin-1"))


def test_non_utf8_far_into_the_file(tmp_path):
    rows = [("train", "a", "a")] * 50_000 + [("dev", "caf\xe9", "a")]
    assert "not UTF-8" in refusal(write(tmp_path, csv_of(rows), encoding="latin-1"))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16(tmp_path, encoding):
    text = csv_of([("train", 1, 1)])
    data = text.encode(encoding)
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = b"\xfe\xff" + data
    assert "UTF-16" in refusal(write(tmp_path, data))


@pytest.mark.parametrize(("delimiter", "word"), [(";", "semicolon"), ("\t", "tab")])
def test_wrong_delimiter(tmp_path, delimiter, word):
    text = delimiter.join(["split", "y_true", "y_pred"]) + "\ntrain" + delimiter + "1" * 2 + "\n"
    message = refusal(write(tmp_path, text))
    assert f"{word} character as delimiter" in message


def test_duplicate_ids_within_a_split(tmp_path):
    rows = [("a", "train", 1, 1), ("b", "train", 1, 1), ("a", "dev", 1, 1), ("a", "train", 2, 2)]
    message = refusal(write(tmp_path, csv_of(rows, header="id,split,y_true,y_pred\n")))
    assert "id 'a' appears 2 times in split 'train'" in message
    assert "rows 1, 4" in message


def test_same_id_in_different_splits_is_fine(tmp_path):
    rows = [(1, "train", 1, 1), (1, "dev", 1, 1), (2, "dev", 1, 1)]
    pred = read_predictions(write(tmp_path, csv_of(rows, header="id,split,y_true,y_pred\n")))
    assert len(pred.frame) == 3


def test_duplicate_numeric_ids(tmp_path):
    rows = [(3, "train", 1, 1), (1, "train", 1, 1), (3, "train", 1, 1)]
    message = refusal(write(tmp_path, csv_of(rows, header="id,split,y_true,y_pred\n")))
    assert "id '3' appears 2 times" in message


def test_empty_ids(tmp_path):
    rows = [("a", "train", 1, 1), ("", "train", 1, 1)]
    message = refusal(write(tmp_path, csv_of(rows, header="id,split,y_true,y_pred\n")))
    assert "1 empty ids (rows 2)" in message


def test_mixed_numeric_and_text_labels_in_regression(tmp_path):
    rows = [("train", 10.5, 11.0), ("dev", "ten", 3.0), ("dev", 2.0, 1.0)]
    message = refusal(write(tmp_path, csv_of(rows)), metric="mae")
    assert "column 'y_true'" in message
    assert "mixes numbers and text" in message
    assert "'ten' at row 2" in message


def test_html_file(tmp_path):
    path = write(tmp_path, "<!DOCTYPE html>\n<html><body>Sign in</body></html>\n")
    assert "HTML" in refusal(path)


def test_binary_file(tmp_path):
    assert "binary" in refusal(write(tmp_path, b"split,y_true\x00\x01\x02"))


def test_truncated_parquet(tmp_path):
    frame = pd.DataFrame({"split": ["train"] * 100, "y_true": range(100), "y_pred": range(100)})
    frame.to_parquet(tmp_path / "full.parquet")
    data = (tmp_path / "full.parquet").read_bytes()
    path = write(tmp_path, data[: len(data) // 2], name="cut.parquet")
    assert "not a readable Parquet file" in refusal(path)


def test_parquet_suffix_without_parquet_content(tmp_path):
    path = write(tmp_path, csv_of([("train", 1, 1)]), name="p.parquet")
    assert "not a valid Parquet file" in refusal(path)


def test_parquet_missing_column(tmp_path):
    pq.write_table(pa.table({"split": ["train"], "y_true": [1]}), tmp_path / "p.parquet")
    message = refusal(tmp_path / "p.parquet")
    assert "'y_pred'" in message
    assert "columns found: split, y_true" in message


def test_negative_weights(tmp_path):
    rows = [("train", 1, 1, 1), ("train", 1, 1, -2), ("dev", 1, 1, -1)]
    message = refusal(write(tmp_path, csv_of(rows, header="split,y_true,y_pred,weight\n")))
    assert "column 'weight'" in message
    assert "2 negative weights (rows 2, 3)" in message


def test_all_zero_weights_in_a_split(tmp_path):
    rows = [("train", 1, 1, 1), ("dev", 1, 1, 0)]
    message = refusal(write(tmp_path, csv_of(rows, header="split,y_true,y_pred,weight\n")))
    assert "split 'dev'" in message
    assert "weights are 0" in message


def test_text_weights(tmp_path):
    rows = [("train", 1, 1, "heavy")]
    message = refusal(write(tmp_path, csv_of(rows, header="split,y_true,y_pred,weight\n")))
    assert "column 'weight'" in message


def test_infinite_scores(tmp_path):
    rows = [("train", 1, 1, 0.5), ("dev", 1, 1, "inf"), ("dev", 1, 2, "-inf")]
    message = refusal(write(tmp_path, csv_of(rows, header="split,y_true,y_pred,score\n")))
    assert "column 'score'" in message
    assert "2 infinite or NaN values (rows 2, 3)" in message


def test_infinite_regression_labels(tmp_path):
    rows = [("train", 1.5, "inf"), ("dev", 1.5, 2.5)]
    message = refusal(write(tmp_path, csv_of(rows)))
    assert "column 'y_pred'" in message
    assert "infinite" in message


# -- batch-wise reading and the lean path ---------------------------------------------------------


@pytest.fixture(params=["csv", "parquet"])
def small_batches(request, monkeypatch, tmp_path):
    """Read in batches of 3 rows; returns a writer of a frame in the parametrized format."""
    monkeypatch.setattr(ingest, "BATCH_ROWS", 3)

    def write_frame(frame: pd.DataFrame):
        path = tmp_path / f"p.{request.param}"
        if request.param == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False, row_group_size=4)
        return path

    return write_frame


def test_batches_keep_row_numbers(small_batches):
    splits = ["train"] * 7 + ["holdout"] + ["dev"] * 2
    path = small_batches(pd.DataFrame({"split": splits, "y_true": range(10), "y_pred": range(10)}))
    assert "unknown split 'holdout' (first at row 8)" in refusal(path)


def test_batches_count_empty_splits(small_batches):
    splits = ["train", None, "dev", "dev", None, "dev", "test", None, None, None, None]
    frame = pd.DataFrame({"split": splits, "y_true": range(11), "y_pred": range(11)})
    message = refusal(small_batches(frame))
    assert "6 empty values (rows 2, 5, 8, 9, 10, …)" in message


def test_batches_widen_integers(small_batches):
    y_true = [1, 2, 3, 4, 5, 6, 300, 70_000, 9]
    frame = pd.DataFrame({"split": ["train"] * 9, "y_true": y_true, "y_pred": y_true})
    frame["id"] = [5, 6, 7, 1, 2, 3, 10**12, 11, 12]
    pred = read_predictions(small_batches(frame))
    assert pred.frame["y_true"].tolist() == y_true
    assert pred.frame["y_true"].dtype == np.int32
    assert pred.frame["id"].tolist() == frame["id"].tolist()
    assert split_metrics(pred)["train"].value == 0.0


def test_batches_missing_integer_in_a_late_batch(small_batches):
    y_pred = [1, 2, 3, 4, 5, 6, 7, None, 9]
    frame = pd.DataFrame({"split": ["dev"] * 9, "y_true": range(1, 10), "y_pred": y_pred})
    frame["y_pred"] = frame["y_pred"].astype("Int64")
    assert "column 'y_pred': 1 empty values (rows 8)" in refusal(small_batches(frame))


def test_batches_duplicate_ids_across_batches(small_batches):
    frame = pd.DataFrame({"split": ["dev"] * 8, "y_true": 1, "y_pred": 1, "id": range(8)})
    frame.loc[7, "id"] = 1
    assert "id '1' appears 2 times in split 'dev' (rows 2, 8)" in refusal(small_batches(frame))


def test_class_labels_are_compact(small):
    frame = read_predictions(small).frame
    assert frame["y_true"].dtype == np.int8
    assert frame["y_pred"].dtype == np.int8


def test_metrics_only_keeps_what_metrics_need(tmp_path):
    text = csv_of(
        [(1, "train", 1, 1, 0.9, "a.png", 2.0), (2, "dev", 1, 2, 0.4, "b.png", 1.0)],
        header="id,split,y_true,y_pred,score,input,weight\n",
    )
    path = write(tmp_path, text)
    lean = read_predictions(path, metrics_only=True)
    assert list(lean.frame.columns) == ["split", "y_true", "y_pred", "weight"]
    assert split_metrics(lean) == split_metrics(read_predictions(path))


def test_metrics_only_still_refuses_duplicate_ids(tmp_path):
    rows = [("a", "dev", 1, 1), ("a", "dev", 1, 2)]
    path = write(tmp_path, csv_of(rows, header="id,split,y_true,y_pred\n"))
    assert "id 'a' appears 2 times" in refusal(path, metrics_only=True)


def test_metrics_only_ignores_scores(tmp_path):
    rows = [("train", 1, 1, "inf"), ("dev", 1, 2, 0.5)]
    path = write(tmp_path, csv_of(rows, header="split,y_true,y_pred,score\n"))
    assert "score" in refusal(path)
    assert read_predictions(path, metrics_only=True).metric == "error"


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_file_too_big_for_memory_is_refused_from_its_metadata(tmp_path, monkeypatch, suffix):
    frame = pd.DataFrame({"split": ["train", "dev"] * 5000, "y_true": 1, "y_pred": 2})
    path = tmp_path / f"big.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    with pytest.raises(InputError, match=r"would need about .* GiB of memory .* streams it"):
        read_predictions(path, memory_limit=4096)
    assert read_predictions(path).frame.shape[0] == 10000

"""Comparing two versions: McNemar, Newcombe, paired t, gaps, what the fix fixed, carry-over.

Every file is hand-made, so each expected count and p-value is known in advance.
"""

from __future__ import annotations

import json
import logging
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from diagnostics.compare import (
    carry_over,
    check_comparable,
    compare,
    dev_outcomes,
    examined_ids,
    still_wrong_ids,
    tagged_ids,
    what_fixed,
)
from diagnostics.errors import sample_errors
from diagnostics.fastcompare import (
    PairedScan,
    _shared_id_range,
    compare_files,
    scan_both,
    scan_by_position,
)
from diagnostics.fastscan import scan_split_metrics
from diagnostics.ingest import read_predictions
from diagnostics.paired import (
    PairedSums,
    mcnemar_p,
    newcombe_paired_interval,
    paired_loss_change,
)
from diagnostics.splitnames import normalize_split
from diagnostics.tags import TagRow, TagTable
from diagnostics.validation import InputError
from diagnostics.waterfall import HumanLevel
from strategy_app.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "predictions.csv"
LEVEL_KEYS = {
    "before", "after", "change", "paired", "n_shared", "improved", "worsened", "p_value", "interval"
}  # fmt: skip


def write(path: Path, rows: list[tuple], columns=("id", "split", "y_true", "y_pred")) -> Path:
    """A predictions file from rows (CSV, or Parquet for a .parquet path)."""
    frame = pd.DataFrame(rows, columns=list(columns))
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def versions(tmp_path: Path, before_wrong, after_wrong, *, dev_ids=range(1, 11), after_ids=None):
    """BEFORE and AFTER: 5 correct train rows, and dev ids wrong where listed (label 0 → 1)."""
    after_ids = dev_ids if after_ids is None else after_ids
    train = [(100 + i, "train", 0, 0) for i in range(5)]
    before = train + [(i, "dev", 0, int(i in before_wrong)) for i in dev_ids]
    after = train + [(i, "dev", 0, int(i in after_wrong)) for i in after_ids]
    return write(tmp_path / "before.csv", before), write(tmp_path / "after.csv", after)


def compared(paths, **kwargs):
    return compare(*(read_predictions(p) for p in paths), **kwargs)


# -- the statistics -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (0, 0, 1.0),  # nothing discordant: no evidence at all
        (3, 0, 0.25),  # 2 · P[Bin(3, ½) ≤ 0] = 2/8
        (4, 0, 0.125),  # 2 · 1/16
        (1, 1, 1.0),  # 2 · P[Bin(2, ½) ≤ 1] = 1.5, capped at 1
        (5, 1, 14 / 64),  # 2 · (1 + 6)/64
        (1, 5, 14 / 64),  # symmetric
    ],
)
def test_mcnemar_exact_p(b, c, p):
    assert mcnemar_p(b, c) == pytest.approx(p, abs=1e-12)


def test_mcnemar_p_is_the_exact_tail_correctly_rounded():
    # every table up to 120 discordant pairs: 2·Σ_{i ≤ k} C(n, i) / 2ⁿ in exact fractions,
    # capped at 1, then rounded once to a double
    for b in range(60):
        for c in range(60):
            n, k = b + c, min(b, c)
            exact = Fraction(2 * sum(math.comb(n, i) for i in range(k + 1)), 2**n) if n else 1
            assert mcnemar_p(b, c) == float(min(Fraction(1), Fraction(exact))), (b, c)


@pytest.mark.parametrize(
    ("b", "c"),
    [(17031, 16502), (2028, 1002), (30000, 29000), (50540, 49771), (59771, 50540), (3, 4000)],
)
def test_mcnemar_p_agrees_with_scipy_on_many_pairs(b, c):
    # summed in integers up to 50,000 pairs, scipy.special's incomplete beta above: both agree
    # with scipy.stats' binomial to its own precision (it is off by up to ~3e-13 relative)
    from scipy import stats

    expected = min(1.0, 2.0 * float(stats.binom.cdf(min(b, c), b + c, 0.5)))
    assert mcnemar_p(b, c) == pytest.approx(expected, rel=1e-11, abs=1e-300)


def test_mcnemar_p_below_the_smallest_double_is_zero():
    # Chernoff's bound: 2·e^(−n·D(k/n ‖ ½)) < 2⁻¹¹⁰⁰, rounded to 0 as scipy rounds it
    from scipy import stats

    assert mcnemar_p(193230, 91907) == 0.0 == float(stats.binom.cdf(91907, 285137, 0.5))
    assert mcnemar_p(0, 1200) == 0.0 and mcnemar_p(0, 1000) == 2.0**-999


def test_newcombe_paired_interval_by_hand():
    # 10 examples: 1 wrong in both, 3 wrong before only (b), 0 wrong after only (c), 6 right.
    # p_after = 0.1, Wilson (0.017876, 0.404150); p_before = 0.4, Wilson (0.168180, 0.687326).
    # φ: margins 1·9·4·6 = 216, cross = 1·6 − 0·3 = 6 > n/2, so 6 − 5 = 1, φ = 1/√216.
    # lower = −0.3 − √(0.082124² − 2φ·0.082124·0.287326 + 0.287326²) = −0.593410
    # upper = −0.3 + √(0.231820² − 2φ·0.231820·0.304150 + 0.304150²) = 0.069666
    low, high = newcombe_paired_interval(10, 1, 3, 0)
    assert low == pytest.approx(-0.593410, abs=1e-6)
    assert high == pytest.approx(0.069666, abs=1e-6)


def test_paired_t_by_hand():
    # absolute errors before 2, 2, 2, 2 and after 1, 1, 1, 3: differences −1, −1, −1, +1,
    # mean −0.5, sd 1, se 0.5, t(3, 0.975) = 3.182446: −0.5 ± 1.591223; p = 2·P[T3 > 1], and
    # with 3 degrees of freedom P[T3 ≤ t] = ½ + (t / (√3 (1 + t²/3)) + atan(t / √3)) / π
    sums = PairedSums(n=4, improved=3, worsened=1, before=8.0, after=6.0, diff2=4.0)
    test = paired_loss_change(sums, "mae")
    assert test.change == pytest.approx(-0.5)
    assert test.low == pytest.approx(-0.5 - 1.591223, abs=1e-6)
    assert test.high == pytest.approx(-0.5 + 1.591223, abs=1e-6)
    assert test.p_value == pytest.approx(1 - 2 * (math.sqrt(3) / 4 + math.pi / 6) / math.pi)


# -- levels: paired, unpaired, partly paired ------------------------------------------------


def test_paired_dev_level(tmp_path):
    paths = versions(tmp_path, before_wrong={1, 2, 3, 4}, after_wrong={1})
    dev = compared(paths).to_dict()["levels"]["dev"]
    assert set(dev) >= LEVEL_KEYS
    assert dev["paired"] is True
    assert (dev["n_shared"], dev["improved"], dev["worsened"]) == (10, 3, 0)
    assert dev["before"] == pytest.approx(0.4) and dev["after"] == pytest.approx(0.1)
    assert dev["change"] == pytest.approx(-0.3)
    assert dev["p_value"] == pytest.approx(0.25)
    assert dev["interval"] == pytest.approx([-0.593410, 0.069666], abs=1e-6)
    assert dev["real"] is False


def test_nothing_changed_gives_p_one(tmp_path):
    paths = versions(tmp_path, before_wrong={1, 2}, after_wrong={1, 2})
    data = compared(paths).to_dict()
    for level in data["levels"].values():
        assert (level["improved"], level["worsened"], level["p_value"]) == (0, 0, 1.0)
        assert level["change"] == 0.0
        assert level["interval"][0] < 0 < level["interval"][1]


def test_all_fixed(tmp_path):
    paths = versions(tmp_path, before_wrong={1, 2, 3, 4}, after_wrong=set())
    dev = compared(paths).to_dict()["levels"]["dev"]
    assert (dev["improved"], dev["worsened"], dev["after"]) == (4, 0, 0.0)
    assert dev["p_value"] == pytest.approx(0.125)


def test_ids_shared_in_part(tmp_path):
    # AFTER scored dev ids 5…14: ids 5…10 are shared; before wrong on 5, 6; after on 6, 11
    paths = versions(tmp_path, before_wrong={5, 6}, after_wrong={6, 11}, after_ids=range(5, 15))
    data = compared(paths).to_dict()
    dev = data["levels"]["dev"]
    assert dev["paired"] is True
    assert (dev["n_shared"], dev["improved"], dev["worsened"]) == (6, 1, 0)
    assert dev["paired_change"] == pytest.approx(-1 / 6)
    assert dev["change"] == pytest.approx(0.2 - 0.2)  # the levels count every row of each file
    assert any("6 example ids both versions share" in note for note in data["notes"])


def test_no_id_column_is_unpaired(tmp_path):
    paths = versions(tmp_path, before_wrong={1, 2, 3, 4}, after_wrong={1})
    for path in paths:
        frame = pd.read_csv(path).drop(columns="id")
        frame.to_csv(path, index=False)
    data = compared(paths).to_dict()
    dev = data["levels"]["dev"]
    assert dev["paired"] is False and dev["n_shared"] == 0
    assert dev["improved"] is None and dev["worsened"] is None
    # Newcombe's hybrid score interval of 1/10 − 4/10 from the two Wilson intervals above:
    # −0.3 − √(0.082124² + 0.287326²), −0.3 + √(0.304150² + 0.231820²)
    assert dev["interval"] == pytest.approx([-0.598832, 0.082423], abs=1e-6)
    # pooled z test: p̄ = 5/20, se = √(0.25 · 0.75 · 0.2)
    assert dev["p_value"] == pytest.approx(math.erfc(0.3 / math.sqrt(0.0375) / math.sqrt(2)))
    assert any("pairing needs the same ids" in note for note in data["notes"])


def test_no_shared_ids_is_unpaired(tmp_path):
    paths = versions(tmp_path, before_wrong={1}, after_wrong={21}, after_ids=range(21, 31))
    data = compared(paths).to_dict()
    assert data["levels"]["dev"]["paired"] is False
    assert any("dev: 0 shared example ids" in note for note in data["notes"])


def test_regression_paired_t(tmp_path):
    columns = ("id", "split", "y_true", "y_pred")
    before = [(i, "dev", 10.0, 12.0 + 0.5 * (i == 3)) for i in range(4)]
    after = [(i, "dev", 10.0, y) for i, y in enumerate([11.0, 11.0, 11.0, 13.5])]
    data = compared(
        (write(tmp_path / "b.csv", before, columns), write(tmp_path / "a.csv", after, columns))
    ).to_dict()
    dev = data["levels"]["dev"]
    assert data["metric"] == "mae"
    assert dev["paired"] is True and (dev["improved"], dev["worsened"]) == (3, 1)
    # differences −1, −1, −1, +1 (the 4th: 2.5 → 3.5): the paired t example above
    assert dev["interval"] == pytest.approx([-2.091223, 1.091223], abs=1e-6)


def test_refusals(tmp_path):
    classification = write(tmp_path / "c.csv", [(1, "dev", 0, 1), (2, "dev", 1, 1)])
    regression = write(tmp_path / "r.csv", [(1, "dev", 1.5, 1.0), (2, "dev", 2.0, 2.5)])
    with pytest.raises(InputError, match=r"classification .* regression"):
        compared((classification, regression))
    with pytest.raises(InputError, match="same --metric"):
        check_comparable("mae", "rmse", ("a.csv", "b.csv"))
    only_test = write(tmp_path / "t.csv", [(1, "test", 0, 1)])
    with pytest.raises(InputError, match="no split in common"):
        compared((classification, only_test))


def test_gaps_and_verdict(tmp_path):
    # train-dev 0 of 20 wrong on both; dev 10 of 20 wrong before, 1 after: mismatch closed
    rows_before = [(i, "train_dev", 0, 0) for i in range(20)]
    rows_before += [(100 + i, "dev", 0, int(i < 10)) for i in range(20)]
    rows_after = rows_before[:20] + [(100 + i, "dev", 0, int(i < 1)) for i in range(20)]
    paths = (write(tmp_path / "b.csv", rows_before), write(tmp_path / "a.csv", rows_after))
    comparison = compared(paths, humans=[HumanLevel("expert", 0.0)])
    gap = comparison.to_dict()["gaps"]["data_mismatch"]
    assert gap["before"] == pytest.approx(0.5) and gap["after"] == pytest.approx(0.05)
    assert gap["change"] == pytest.approx(-0.45)
    assert gap["real"] is True
    assert comparison.verdict == "data mismatch 50.0% → 5.0%: closed by 45.0 points, real"


# -- what the fix fixed, and carrying tags over ---------------------------------------------


def tag_table() -> TagTable:
    rows = (
        TagRow("1", frozenset({"blurry"})),
        TagRow("2", frozenset({"blurry"})),
        TagRow("3", frozenset({"blurry", "dark"})),
        TagRow("4", frozenset({"dark"})),
        TagRow("99", frozenset({"blurry"})),  # not in AFTER's dev
        TagRow("5", frozenset(), reviewed=True),
    )
    return TagTable(("dark", "blurry", "angle"), rows)


def test_what_fixed_counts(tmp_path):
    paths = versions(tmp_path, before_wrong={1, 2, 3, 4, 5}, after_wrong={1, 4, 5})
    comparison = compared(paths, tags=tag_table())
    rows = {c["name"]: c for c in comparison.to_dict()["categories"]}
    assert [c.name for c in comparison.categories] == ["blurry", "dark", "angle"]
    blurry = rows["blurry"]
    assert (blurry["tagged"], blurry["fixed"], blurry["still_wrong"], blurry["missing"]) == (
        4, 2, 1, 1
    )  # fmt: skip
    assert blurry["fixed_share"] == pytest.approx(2 / 3)
    assert blurry["interval"][0] < 2 / 3 < blurry["interval"][1]
    assert blurry["ceiling_share"] == pytest.approx(4 / 6)
    assert (rows["dark"]["fixed"], rows["dark"]["still_wrong"]) == (1, 1)
    assert rows["angle"]["tagged"] == 0 and rows["angle"]["fixed_share"] is None


def test_what_fixed_uses_the_consensus():
    rows = (
        TagRow("1", frozenset({"blurry"}), annotator="ann"),
        TagRow("1", frozenset(), reviewed=True, annotator="bob"),
        TagRow("1", frozenset(), reviewed=True, annotator="cat"),  # 1 of 3: not blurry
        TagRow("2", frozenset({"blurry"}), annotator="ann"),
        TagRow("2", frozenset({"blurry"}), annotator="bob"),
    )
    fixes = what_fixed(TagTable(("blurry",), rows), {"1": False, "2": False})
    assert (fixes[0].tagged, fixes[0].fixed) == (1, 1)


def test_carry_over_keeps_only_still_wrong(tmp_path):
    _, after_path = versions(tmp_path, before_wrong={1, 2, 3, 4}, after_wrong={2, 4, 7, 8, 9})
    after = read_predictions(after_path)
    table = tag_table()
    outcomes = dev_outcomes(after, tagged_ids(table))
    carried = still_wrong_ids(tagged_ids(table), outcomes)
    assert carried == ["2", "4"]  # 1, 3 fixed; 99 not in dev; 5 right after
    sample = sample_errors(after, 4, seed=1, keep=carried)
    assert sample["id"].tolist()[:2] == ["2", "4"]
    assert len(sample) == 4 and set(sample["id"][2:]) <= {"7", "8", "9"}
    assert sample_errors(after, 1, keep=carried)["id"].tolist() == ["2", "4"]
    with pytest.raises(InputError, match="not dev errors"):
        sample_errors(after, 4, keep=["1"])


def test_carry_over_sample_and_tags(tmp_path):
    _, after_path = versions(tmp_path, before_wrong={1, 2, 3, 4}, after_wrong={2, 4, 7, 8, 9})
    table = TagTable(
        tag_table().categories,
        (*tag_table().rows, TagRow("4", frozenset({"blurry"}), annotator="second")),
    )
    carried = carry_over(table, read_predictions(after_path), 4, seed=1)
    assert carried.carried == ("2", "4")
    assert carried.sample["id"].tolist()[:2] == ["2", "4"] and len(carried.sample) == 4
    rows = [(row.id, row.annotator, tuple(sorted(row.tags))) for row in carried.tags.rows]
    assert rows[:3] == [("2", "", ("blurry",)), ("4", "", ("dark",)), ("4", "second", ("blurry",))]
    assert [row.counts for row in carried.tags.rows[3:]] == [False, False]  # new: untouched
    assert carried.tags.categories == table.categories


def test_keep_leaves_the_plain_sample_alone(tmp_path):
    _, after_path = versions(tmp_path, set(), set(range(1, 11)), dev_ids=range(1, 41))
    after = read_predictions(after_path)
    assert sample_errors(after, 5, seed=3).equals(sample_errors(after, 5, seed=3, keep=()))


# -- the fast path equals the exact path ----------------------------------------------------


def assert_same(fast: dict, exact: dict) -> None:
    assert fast.keys() == exact.keys()
    for key, value in exact.items():
        if isinstance(value, dict):
            assert_same(fast[key], value)
        elif isinstance(value, float) or (
            isinstance(value, list) and value and all(isinstance(v, float) for v in value)
        ):
            assert fast[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert fast[key] == value, key


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("shuffled", [False, True])
@pytest.mark.parametrize("ids", ["text", "integer"])
def test_fast_path_equals_exact(tmp_path, suffix, shuffled, ids):
    sample = pd.read_csv(SAMPLE)
    if ids == "integer":  # row numbers plus an offset: the bitmaps, not the join
        sample["id"] = sample.index + 1000
    after = sample.copy()
    flip = sample.index % 7 == 0
    after.loc[flip, "y_pred"] = after.loc[flip, "y_true"]
    after.loc[sample.index % 11 == 0, "y_pred"] = 3
    if shuffled:  # same ids in another order
        after = after.sample(frac=1.0, random_state=0)
    after = after.iloc[: len(after) - 50]  # and ids shared in part
    paths = []
    for name, frame in (("before", sample), ("after", after)):
        path = tmp_path / f"{name}{suffix}"
        if suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        paths.append(path)
    scans = scan_both(*paths)
    assert [scan.engine for scan in scans] == ["duckdb", "duckdb"]
    if ids == "integer" and suffix == ".parquet":
        assert scans[0].id_range == scans[1].id_range == (1000, 1000 + len(sample) - 1)
    humans = [HumanLevel("human", 0.005)]
    fast = compare_files(*paths, humans, tags=tag_table(), scans=scans).to_dict()
    exact = compared(paths, humans=humans, tags=tag_table()).to_dict()
    assert_same(fast, exact)
    assert fast["levels"]["dev"]["paired"] and fast["levels"]["dev"]["worsened"] > 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_fast_path_bitmaps_with_ids_shared_in_part(tmp_path, suffix):
    paths = versions(tmp_path, before_wrong={5, 6, 9}, after_wrong={6, 11}, after_ids=range(5, 15))
    if suffix == ".parquet":
        paths = [write(p.with_suffix(".parquet"), list(pd.read_csv(p).itertuples(index=False)))
                 for p in paths]  # fmt: skip
    scans = scan_both(*paths)
    if suffix == ".parquet":  # a CSV file's first and last ids (100, 10) miss ids 1…9: the join
        assert scans[0].id_range == scans[1].id_range == (1, 104)
    assert_same(compare_files(*paths, scans=scans).to_dict(), compared(paths).to_dict())


def row_number_versions(tmp_path: Path, change: str = "") -> list[Path]:
    """BEFORE and AFTER Parquet files (401 rows in row groups of 64 and 50: the two halves the
    pairing reads cut a row group) whose ids are their row numbers plus 1000, AFTER with errors
    fixed and made and its splits changed for a few rows (written as aliases for others);
    ``change`` alters AFTER so that pairing by position must not be used."""
    rng = np.random.default_rng(5)
    n = 401
    splits = np.array(["train", "dev", "test", "train_dev"])[rng.integers(0, 4, n)]
    y_true = rng.integers(0, 3, n)
    before = pd.DataFrame(
        {"id": np.arange(n) + 1000, "split": splits, "y_true": y_true,
         "y_pred": np.where(rng.random(n) < 0.3, (y_true + 1) % 3, y_true)}
    )  # fmt: skip
    after = before.copy()
    after["y_pred"] = np.where(rng.random(n) < 0.5, after["y_true"], after["y_pred"])
    broken = rng.random(n) < 0.1
    after.loc[broken, "y_pred"] = (after.loc[broken, "y_true"] + 2) % 3
    after.loc[after.index % 17 == 0, "split"] = "dev"  # some ids move split: they do not pair
    after.loc[after.index % 5 == 1, "split"] = after["split"].replace({"dev": "val"})  # aliases
    if change == "shuffled":
        after = after.sample(frac=1.0, random_state=1)
    elif change == "fewer rows":
        after = after.iloc[:-30]
    elif change == "offset":  # ids shared in part
        after["id"] += 25
    elif change == "two ids swapped":  # the footers still say row numbers: the check finds out
        after.loc[[3, 4], "id"] = after.loc[[4, 3], "id"].to_numpy()
    elif change == "weights":
        after["weight"] = 1.0 + after.index % 2
    elif change == "fractional labels":  # both files: MAE
        for frame in (before, after):
            frame["y_pred"] = frame["y_pred"] + 0.5 * (frame.index % 2)
    paths = []
    for name, frame, group in (("before", before, 64), ("after", after, 50)):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=group
        )
        paths.append(path)
    return paths


@pytest.mark.parametrize(
    "change",
    ["", "shuffled", "fewer rows", "offset", "two ids swapped", "weights", "fractional labels"],
)
def test_pairing_by_position_equals_exact(tmp_path, change):
    """Ids that are the row numbers plus one offset in both files pair by position (one pass
    over both files); anything else (other order, other lengths, other offsets, ids that only
    look like row numbers, weights, MAE) scans each file alone. The numbers are the exact
    path's either way."""
    paths = row_number_versions(tmp_path, change)
    by_position = scan_by_position(tuple(paths))
    scans = scan_both(*paths)
    assert (by_position is not None) == (change == "")
    assert isinstance(scans[0], PairedScan) == (change == "")
    humans = [HumanLevel("human", 0.05)]
    before = pd.read_parquet(paths[0])
    wrong = before[(before["split"] == "dev") & (before["y_true"] != before["y_pred"])]["id"]
    rows = [TagRow(str(i), frozenset({("blurry", "dark")[i % 2]})) for i in wrong[:12]]
    rows.append(TagRow("99", frozenset({"dark"})))  # BEFORE's first dev errors, and an id less
    tags = TagTable(("blurry", "dark"), tuple(rows))
    tags = None if change == "fractional labels" else tags  # tags need class labels
    seen = None if tags is None else examined_ids(tags)
    fast = compare_files(*paths, humans, tags=tags, scans=scans, examined=seen).to_dict()
    assert_same(fast, compared(paths, humans=humans, tags=tags, examined=seen).to_dict())
    assert fast["levels"]["dev"]["paired"] == (change != "weights")  # weighted: unpaired
    assert tags is None or sum(c["fixed"] for c in fast["categories"]) > 0
    if change == "":  # the files' own scans are those of diagnose
        for path, scan in zip(paths, scans, strict=True):
            assert scan.splits == scan_split_metrics(path).splits
            assert (scan.rows, scan.metric, scan.source) == (401, "error", path.name)


def test_pairing_by_position_passes_quietly_on_other_files(tmp_path, caplog):
    """A CSV file, a missing one or a directory: no pairing by position, and no warning (the
    scans word what is wrong)."""
    paths = row_number_versions(tmp_path)
    text = tmp_path / "after.csv"
    pd.read_parquet(paths[1]).to_csv(text, index=False)
    with caplog.at_level(logging.DEBUG, logger="diagnostics"):
        for other in (text, tmp_path / "missing.parquet", tmp_path):
            assert scan_by_position((paths[0], other)) is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("cores", [1, 3, 7])
def test_pairing_by_position_in_as_many_parts_as_cores(tmp_path, monkeypatch, cores):
    """The rows are cut into one range per core (at least two): the same numbers however cut."""
    paths = row_number_versions(tmp_path)
    monkeypatch.setattr("diagnostics.fastcompare.os.cpu_count", lambda: cores)
    scans = scan_by_position(tuple(paths))
    assert scans is not None
    monkeypatch.undo()
    assert scans == scan_by_position(tuple(paths))
    assert_same(compare_files(*paths, scans=scans).to_dict(), compared(paths).to_dict())


@pytest.mark.parametrize("trouble", ["empty label", "id repeated in a split"])
def test_pairing_by_position_refuses_as_the_exact_path(tmp_path, trouble):
    """A file the checks refuse is refused with the exact path's message."""
    paths = row_number_versions(tmp_path)
    after = pq.read_table(paths[1]).to_pandas()
    if trouble == "empty label":
        after["y_pred"] = after["y_pred"].astype("Int64")
        after.loc[7, "y_pred"] = None
    else:  # 1002 twice, 1003 gone: the footers still say row numbers
        after.loc[3, ["id", "split"]] = [1002, after.loc[2, "split"]]
    pq.write_table(pa.Table.from_pandas(after, preserve_index=False), paths[1])
    with pytest.raises(InputError) as exact:
        read_predictions(paths[1])
    with pytest.raises(InputError) as fast:
        scan_both(*paths)
    assert str(fast.value) == str(exact.value)


@pytest.mark.parametrize(
    ("ids", "extra", "expected"),
    [
        (pa.array([7, 3, 5], pa.int32()), {}, (3, 7)),
        (pa.array([7, 3, 5], pa.uint32()), {}, (3, 7)),
        (pa.array([7, 3, 5], pa.uint64()), {}, None),  # DuckDB's UBIGINT: no bitmaps
        (pa.array(["7", "3", "5"]), {}, None),
        (pa.array([7, 3, 5], pa.int64()), {"weight": [1.0, 2.0, 1.0]}, None),
    ],
)
def test_shared_id_range_of_parquet_files_from_their_footers(tmp_path, ids, extra, expected):
    """A Parquet file's range comes from its footer, by the rule of DuckDB's column types."""
    columns = {"id": ids, "split": ["dev"] * 3, "y_true": [1, 0, 1], "y_pred": [1, 1, 1]}
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table(columns | extra), path)
    assert _shared_id_range([path, path]) == expected
    if expected is not None:
        assert scan_split_metrics(path, id_bits=expected).id_range == expected


def test_fast_path_regression_join_equals_exact(tmp_path):
    columns = ("id", "split", "y_true", "y_pred")
    before = [(i, "dev" if i % 3 else "train", 10.0, 10.0 + (i % 5) / 2) for i in range(60)]
    after = [(i, s, y, p - 0.25 * (i % 2)) for i, s, y, p in before[5:]]
    paths = (write(tmp_path / "b.csv", before, columns), write(tmp_path / "a.csv", after, columns))
    fast = compare_files(*paths).to_dict()
    assert fast["metric"] == "mae" and fast["levels"]["dev"]["paired"]
    assert_same(fast, compared(paths).to_dict())


# -- the CLI --------------------------------------------------------------------------------


def test_cli_json_contract(tmp_path, capsys):
    paths = versions(tmp_path, before_wrong={1, 2, 3, 4, 5}, after_wrong={1, 4, 5})
    labels = tmp_path / "tags.csv"
    labels.write_text("id,blurry,dark\n1,1,0\n2,1,0\n3,1,1\n4,0,1\n")
    argv = ["compare", *map(str, paths), "--human", "1%", "--labels", str(labels), "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    data = json.loads(out)
    assert {"levels", "gaps", "verdict", "categories"} <= set(data)
    assert set(data["levels"]) == {"train", "dev"}
    assert all(set(level) >= LEVEL_KEYS for level in data["levels"].values())
    assert set(data["gaps"]) == {"avoidable_bias", "variance", "data_mismatch", "dev_overfitting"}
    assert all(set(g) >= {"before", "after", "change"} for g in data["gaps"].values())
    assert {c["name"]: c["fixed"] for c in data["categories"]} == {"blurry": 2, "dark": 1}
    assert set(data["categories"][0]) >= {
        "name", "tagged", "fixed", "still_wrong", "missing", "fixed_share", "interval"
    }  # fmt: skip
    assert main(["compare", *map(str, paths)]) == 0
    text = capsys.readouterr().out
    assert "Verdict:" in text and "paired on 10" in text


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "missing.csv", str(SAMPLE)],
        ["compare", str(SAMPLE), str(ROOT / "sample_data" / "regression.csv")],
        ["compare", str(SAMPLE), str(SAMPLE), "--human", "7"],
        ["compare", str(SAMPLE)],
    ],
)
def test_cli_refusals_exit_2(capsys, argv):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1


def test_cli_sample_against_itself_is_paired(capsys):
    assert main(["compare", str(SAMPLE), str(SAMPLE), "--human", "0.5%", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(level["paired"] for level in data["levels"].values())
    assert data["levels"]["dev"]["n_shared"] == 800
    assert data["verdict"].startswith("data mismatch 6.4% → 6.4%: unchanged")


def decoded(bits, id_range) -> set[int]:
    """The ids whose bits are set (the first byte's leading bits are padding)."""
    low, high = id_range
    flags = np.unpackbits(bits)[8 * bits.size - (high - low + 1) :]
    return {low + int(i) for i in np.flatnonzero(flags)}


@pytest.mark.parametrize("ids", ["row numbers + 7", "shuffled", "shuffled with a gap"])
def test_scan_id_bitmaps(tmp_path, ids):
    """Row numbers + 7: train's ids are derived; shuffled 7…15: the statistics suggest row
    numbers, the check finds otherwise and no bitmaps come back (the join pairs); with a gap:
    a bitmap per split."""
    splits = ["train", "Train", "val", "train", "test", "dev", "train", "train_dev", "train"]
    ids = {
        "row numbers + 7": [i + 7 for i in range(9)],
        "shuffled": [15, 7, 9, 8, 11, 12, 13, 14, 10],
        "shuffled with a gap": [15, 7, 9, 8, 11, 12, 13, 16, 10],
    }[ids]
    wrong = {8, 9, 13}
    rows = [(i, s, 0, int(i in wrong)) for i, s in zip(ids, splits, strict=True)]
    path = write(tmp_path / "p.parquet", rows)
    scan = scan_split_metrics(path, id_bits=(5, 16))
    if ids == [15, 7, 9, 8, 11, 12, 13, 14, 10]:
        assert (scan.id_range, scan.id_bits) == (None, {})
        return
    assert scan.id_range == (5, 16)
    expected = {}
    for i, s in zip(ids, splits, strict=True):
        expected.setdefault(normalize_split(s), set()).add(i)
    assert {s: decoded(bits[0], (5, 16)) for s, bits in scan.id_bits.items()} == expected
    assert {s: decoded(bits[1], (5, 16)) & wrong for s, bits in scan.id_bits.items()} == {
        s: v & wrong for s, v in expected.items()
    }
    assert set().union(*(decoded(b[1], (5, 16)) for b in scan.id_bits.values())) == wrong
    assert scan.splits == scan_split_metrics(path).splits  # error counts: the bitmaps' popcounts


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scan_id_bitmaps_with_an_id_repeated_in_a_split_refuses_as_without(tmp_path, suffix):
    """Counting the wrong ids' bits would count a repeated wrong id once: the exact path decides."""
    rows = [(1, "dev", 0, 1), (2, "dev", 0, 1), (2, "dev", 0, 1), (3, "train", 0, 0)]
    path = write(tmp_path / f"p{suffix}", rows)
    with pytest.raises(InputError) as without:
        scan_split_metrics(path)
    with pytest.raises(InputError) as with_bits:
        scan_split_metrics(path, id_bits=(1, 3))
    assert str(with_bits.value) == str(without.value)


def test_tags_of_another_version_are_noted(tmp_path):
    paths = versions(tmp_path, before_wrong={1, 2}, after_wrong={1})
    for comparison in (compared(paths, tags=tag_table()), compare_files(*paths, tags=tag_table())):
        note = [n for n in comparison.notes if "not dev errors of before.csv" in n]
        assert note and note[0].startswith("4 of the 6 reviewed ids")  # 3, 4, 99 and 5

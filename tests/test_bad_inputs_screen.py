"""The third catalogue, part two (issue 31, items 7–17): nothing on screen misleads.

Each case stands for a class of inputs that used to crash or to state something false; the test
ids read as the catalogue. CLI cases assert the exit code and the line the user reads; library
cases assert the numbers and the words every surface shows (the CLI, the app and the report word
them through the same functions).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diagnostics.compare import DECISION_RULE, LevelChange, compare
from diagnostics.compare_rows import level_rows, method_note
from diagnostics.fastcompare import compare_files
from diagnostics.ingest import read_predictions, split_metrics
from diagnostics.metrics import NO_SPREAD
from diagnostics.paired import ChangeTest, PairedSums, paired_error_change, paired_loss_change
from diagnostics.waterfall import diagnose, gap_rows
from strategy_app import cli


def write(path: Path, text: str) -> Path:
    """Write ``text`` (a CSV) to ``path`` and return it."""
    path.write_text(text)
    return path


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# -- 12: compare on regression files with one-row splits --------------------------------------

REGRESSION_BEFORE = """id,split,y_true,y_pred
1,train,1.0,1.5
2,train,2.0,2.1
3,train_dev,3.0,3.4
4,dev,4.0,4.2
5,dev,5.0,5.9
6,test,6.0,6.1
"""
REGRESSION_AFTER = """id,split,y_true,y_pred
1,train,1.0,1.2
2,train,2.0,2.0
3,train_dev,3.0,3.1
4,dev,4.0,4.1
5,dev,5.0,5.5
6,test,6.0,6.3
"""


@pytest.mark.parametrize("metric", ["mae", "rmse"])
@pytest.mark.parametrize(
    "ids",
    [pytest.param(True, id="shared-ids"), pytest.param(False, id="no-ids")],
)
def test_compare_regression_with_one_row_splits_is_not_a_traceback(tmp_path, capsys, metric, ids):
    """12: a split of one row on either side is shown untested, with a note; exit 0."""

    def strip(text: str) -> str:
        return text if ids else "\n".join(line.split(",", 1)[1] for line in text.splitlines())

    before = write(tmp_path / "before.csv", strip(REGRESSION_BEFORE))
    after = write(tmp_path / "after.csv", strip(REGRESSION_AFTER))
    code, out, err = run_cli(
        ["compare", str(before), str(after), "--metric", metric, "--json"], capsys
    )
    assert code == 0 and err == "", err
    data = json.loads(out)
    for split in ("train_dev", "test"):
        level = data["levels"][split]
        assert level["p_value"] is None and level["interval"] is None and level["real"] is False
    note = next(n for n in data["notes"] if n.startswith("test:"))
    assert note == (
        f"test: no interval in {before} (one example) and {after} (one example), so its "
        "change is not tested"
    )
    rows = {row["level"]: row for row in level_rows(data)}
    assert rows["test"]["test"] == "not tested: one example" and rows["test"]["real?"] == ""
    # the exact path (the app's comparison reads the same files through compare_files)
    read = [read_predictions(p, metric=metric, display_name=str(p)) for p in (before, after)]
    exact = compare(*read).to_dict()
    assert exact["levels"]["test"] == data["levels"]["test"]
    assert compare_files(before, after, metric=metric).to_dict()["verdict"] == data["verdict"]


def test_compare_verdict_on_an_untested_dev_level_says_not_tested(tmp_path):
    """12: no gap to focus on and a one-row dev: the verdict says the change is not tested."""
    before = write(tmp_path / "b.csv", "id,split,y_true,y_pred\n1,dev,1.0,2.0\n")
    after = write(tmp_path / "a.csv", "id,split,y_true,y_pred\n1,dev,1.0,1.5\n")
    comparison = compare_files(before, after, metric="mae")
    assert comparison.verdict == "no gap stands out; dev 1.00 → 0.50: down 0.50, not tested"


# -- 13: zero-width intervals; one decision rule on compare ----------------------------------


def test_equal_losses_give_no_interval_and_no_priority(tmp_path, capsys):
    """13: three equal absolute errors are no evidence of zero spread: no interval, and the
    gap they make is not a priority (it used to lead the plan with a zero-width interval)."""
    rows = "".join(f"{i},train,{i}.0,{i + (i % 3) / 10}\n" for i in range(1, 201))
    rows += "".join(f"{i},train_dev,{i}.0,{i + (i % 4) / 10}\n" for i in range(201, 401))
    rows += "".join(f"{i},dev,{i}.0,{i + 2}.0\n" for i in range(401, 404))
    path = write(tmp_path / "p.csv", "id,split,y_true,y_pred\n" + rows)
    code, out, err = run_cli(["diagnose", str(path), "--metric", "mae", "--json"], capsys)
    assert code == 0 and err == "", err
    data = json.loads(out)
    assert data["intervals"]["dev"] is None and data["counts"]["dev"] == 3
    assert data["gaps"]["data_mismatch"] > 1.8 and "data_mismatch" not in data["priority"]
    assert any(
        "dev has no spread (all losses equal), so no interval, and it is not a priority" in w
        for w in data["warnings"]
    )
    code, out, _ = run_cli(["diagnose", str(path), "--metric", "mae"], capsys)
    assert NO_SPREAD in out
    levels = split_metrics(read_predictions(path))
    status = {row["name"]: row["status"] for row in gap_rows(diagnose(levels, metric="mae"))}
    assert status["data_mismatch"] == NO_SPREAD


def test_equal_paired_loss_changes_are_not_tested():
    """13: every example improved by exactly the same amount: no zero-width interval, no p = 0."""
    sums = PairedSums(n=3, improved=3, worsened=0, before=6.0, after=3.0, diff2=3.0)
    assert paired_loss_change(sums, "mae") is None
    assert paired_loss_change(PairedSums(4, 0, 0, 2.0, 2.0, 0.0), "rmse") is None


def test_compare_paired_equal_changes_note(tmp_path):
    """13: on compare, equal loss changes on shared ids: not tested, with the note."""
    before = write(
        tmp_path / "b.csv",
        "id,split,y_true,y_pred\n" + "".join(f"{i},dev,{i}.0,{i}.5\n" for i in range(3)),
    )
    after = write(
        tmp_path / "a.csv",
        "id,split,y_true,y_pred\n" + "".join(f"{i},dev,{i}.0,{i}.25\n" for i in range(3)),
    )
    data = compare_files(before, after, metric="mae").to_dict()
    assert data["levels"]["dev"]["interval"] is None and data["levels"]["dev"]["paired"]
    assert (
        "dev: the 3 shared examples' loss changes are all equal, so its change is not tested "
        "(no spread to measure it by)" in data["notes"]
    )


def test_mcnemar_and_interval_that_disagree_are_one_decision():
    """13: 20 paired examples, 5 broken and none fixed: Newcombe's interval excludes 0 but the
    exact McNemar p is 0.0625. One rule: within noise, borderline, and said so."""
    test = paired_error_change(PairedSums(20, 0, 5, 0.0, 5.0, 5.0))
    assert test.p_value == pytest.approx(0.0625) and test.low > 0
    level = LevelChange("dev", None, None, True, 20, 0, 5, test)
    assert level.borderline and not level.real
    data = {"metric": "error", "unit": None, "levels": {"dev": level.to_dict()}}
    data["levels"]["dev"].update(before=0.0, after=0.25, change=0.25)
    row = level_rows(data)[0]
    assert row["real?"] == "within noise (borderline: the test and the interval disagree)"
    assert "p < 0.05 and the interval excludes 0" in method_note()
    assert "p < 0.05 and its 95% interval excludes 0" in DECISION_RULE
    agreeing = LevelChange(
        "dev", None, None, True, 20, 0, 9, ChangeTest(0.45, 0.2, 0.6, 0.004, "mcnemar")
    )
    assert agreeing.real and not agreeing.borderline


def test_compare_text_states_the_decision_rule(tmp_path, capsys):
    """13: the CLI's text output states the one decision rule."""
    before = write(tmp_path / "b.csv", REGRESSION_BEFORE)
    after = write(tmp_path / "a.csv", REGRESSION_AFTER)
    code, out, _ = run_cli(["compare", str(before), str(after)], capsys)
    assert code == 0 and f"Decision rule: {DECISION_RULE}." in out


# -- 15: ids, dates, columns, prob_, 16-bit PNG, search dataset values ------------------------


def _pairing_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """BEFORE as Parquet with text ids '00001'…, AFTER as CSV with numbers, tags with '1.0'."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 40
    truth = [i % 2 for i in range(n)]
    before = tmp_path / "before.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [f"{i:05d}" for i in range(1, n + 1)],
                "split": ["dev"] * n,
                "y_true": truth,
                "y_pred": [v if i % 5 else 1 - v for i, v in enumerate(truth)],
            }
        ),
        before,
    )
    after = write(
        tmp_path / "after.csv",
        "id,split,y_true,y_pred\n"
        + "".join(f"{i + 1},dev,{v},{v if i % 10 else 1 - v}\n" for i, v in enumerate(truth)),
    )
    tags = write(
        tmp_path / "tags.csv", "id,blurry\n" + "".join(f"{i + 1}.0,1\n" for i in range(0, n, 5))
    )
    return before, after, tags


def test_text_ids_that_are_numbers_pair_with_numeric_ids(tmp_path, capsys):
    """15: Parquet '00001' against CSV 1 pairs on all 40 ids (it was 'unpaired' with a note
    that the ids differ); tags written '1.0' match ids 1 and '00001' (all were 'missing')."""
    before, after, tags = _pairing_files(tmp_path)
    code, out, err = run_cli(
        ["compare", str(before), str(after), "--labels", str(tags), "--json"], capsys
    )
    assert code == 0 and err == "", err
    data = json.loads(out)
    dev = data["levels"]["dev"]
    assert dev["paired"] and dev["n_shared"] == 40 and (dev["improved"], dev["worsened"]) == (4, 0)
    (blurry,) = data["categories"]
    assert (blurry["tagged"], blurry["fixed"], blurry["missing"]) == (8, 4, 0)
    assert data["notes"] == []  # every tagged id is a dev error of BEFORE
    from diagnostics.tags import read_tags_csv

    exact = compare(
        read_predictions(before, display_name=str(before)),
        read_predictions(after, display_name=str(after)),
        tags=read_tags_csv(tags),
    ).to_dict()
    assert exact["levels"]["dev"] == dev and exact["categories"] == data["categories"]


def _dated(tmp_path: Path) -> Path:
    """A Parquet file whose day column holds dates, and a narrow timestamp column."""
    import datetime
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(1)
    n = 600
    day = [datetime.date(2024, 1, 1 + i % 5) for i in range(n)]
    truth = [rng.randint(0, 2) for _ in range(n)]
    wrong = [(d.day == 3 and rng.random() < 0.6) or rng.random() < 0.1 for d in day]
    path = tmp_path / "dated.parquet"
    pq.write_table(
        pa.table(
            {
                "id": list(range(n)),
                "split": ["train"] * 200 + ["dev"] * 400,
                "y_true": truth,
                "y_pred": [(v + 1) % 3 if w else v for v, w in zip(truth, wrong, strict=True)],
                "day": day,
                "ts": [1.7e9 + i * 0.5 for i in range(n)],
            }
        ),
        path,
    )
    return path


def test_slices_of_a_date_column_are_json(tmp_path, capsys):
    """15: a date column gives predicates whose values are text, so --json (and every JSON
    report and share link built from ``to_dict``) works; the predicate selects its rows."""
    from diagnostics.slices import find_slices_in_file

    path = _dated(tmp_path)
    code, out, err = run_cli(["slices", str(path), "--columns", "day", "--json"], capsys)
    assert code == 0 and err == "", err
    top = json.loads(out)["slices"][0]
    assert top["predicates"] == [{"column": "day", "op": "==", "value": "2024-01-03"}]
    assert top["n"] == 80
    found = find_slices_in_file(path, columns=["day"])
    frame = read_predictions(path, extra_columns=("day",)).frame
    assert int(found.slices[0].mask(frame[frame["split"] == "dev"]).sum()) == 80


def test_slices_repeated_column_is_one_column(tmp_path, capsys):
    """15: --columns day,day is day (it raised AttributeError)."""
    path = _dated(tmp_path)
    code, out, err = run_cli(["slices", str(path), "--columns", "day,day", "--json"], capsys)
    assert code == 0 and err == "", err
    assert json.loads(out)["columns"] == ["day"]


def test_slices_narrow_numeric_range_keeps_its_cuts(tmp_path, capsys):
    """15: timestamps 1700000100 … 1700000300 keep their quantile cuts (3 significant digits
    rounded them all to 1.7e9, outside the range: no predicate, silently)."""
    path = _dated(tmp_path)
    code, out, err = run_cli(
        ["slices", str(path), "--columns", "ts", "--json", "--max-predicates", "1"], capsys
    )
    assert code == 0 and err == "", err
    data = json.loads(out)
    assert data["tried"] == 8
    code, out, _ = run_cli(["slices", str(path), "--columns", "day,ts"], capsys)
    assert "ts<1700000180" in out or "ts>=1700000180" in out


def test_slices_column_without_predicates_is_said(tmp_path, capsys):
    """15: a column that yields no predicate is named in a warning, not dropped silently."""
    rows = "".join(f"{i},dev,{i % 2},{(i % 3 == 0) * 1},site{i}\n" for i in range(100))
    path = write(tmp_path / "p.csv", "id,split,y_true,y_pred,site\n" + rows)
    code, out, err = run_cli(["slices", str(path), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["warnings"] == [
        "no slice of site: one value, or every value on fewer than 20 rows of dev (--min-support)"
    ]


def test_label_issues_accepts_a_class_no_row_has(tmp_path, capsys):
    """15: prob_2 for a class the model knows but no row is labelled with is accepted."""
    rows = []
    for i in range(200):
        y = i % 2
        p = [0.05, 0.05, 0.05]
        p[y], p[1 - y] = 0.8, 0.15
        if i == 3:
            p = [0.9, 0.05, 0.05]  # labelled 1, surely 0
        rows.append(f"{i},dev,{y},{p.index(max(p))},{p[0]},{p[1]},{p[2]}")
    path = write(
        tmp_path / "p.csv", "id,split,y_true,y_pred,prob_0,prob_1,prob_2\n" + "\n".join(rows)
    )
    code, out, err = run_cli(["label-issues", str(path), "--json"], capsys)
    assert code == 0 and err == "", err
    data = json.loads(out)
    assert data["classes"] == [0, 1, 2] and data["issues"][0]["id"] == "3"


def test_label_issues_cleanlab_warning_is_in_the_result_not_stderr(tmp_path, capsys):
    """15: cleanlab's 'too few examples' warning is a warning of the result, with the label."""
    rows = "".join(f"{i},dev,{int(i < 1)},0,0.9,0.1\n" for i in range(200))
    path = write(tmp_path / "p.csv", "id,split,y_true,y_pred,prob_0,prob_1\n" + rows)
    code, out, err = run_cli(["label-issues", str(path), "--json"], capsys)
    assert code == 0 and err == "", err
    assert json.loads(out)["warnings"] == [
        "cleanlab: May not flag all label issues in class 1, it has too few examples"
    ]


def _png16(values) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.asarray(values, dtype=np.uint16)).save(out, "PNG")
    return out.getvalue()


def test_16_bit_png_is_not_dark(tmp_path):
    """15: a 16-bit greyscale PNG spanning 0…65535 is neither dark nor low-information (clipped
    at 255 it was both)."""
    import numpy as np

    from diagnostics.image_flags import flag_images

    rng = np.random.default_rng(0)
    (tmp_path / "wide.png").write_bytes(_png16(rng.random((64, 64)) * 65535))
    (tmp_path / "dark.png").write_bytes(_png16(rng.random((64, 64)) * 2000))
    flags = {r.path: r.flags for r in flag_images(tmp_path).images}
    assert flags["wide.png"] == [] and "dark" in flags["dark.png"]


def test_one_unreadable_image_leaves_the_others_flagged(tmp_path):
    """15: in the app, one damaged image is left out by name; the others are still flagged."""
    import numpy as np

    from diagnostics.image_flags import flag_images

    (tmp_path / "ok.png").write_bytes(_png16(np.full((32, 32), 100)))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    flags = flag_images(tmp_path, ["ok.png", "bad.png"], skip_unreadable=True)
    assert [r.path for r in flags.images] == ["ok.png"] and "dark" in flags.images[0].flags
    assert list(flags.unreadable) == ["bad.png"] and "bad.png" in flags.unreadable["bad.png"]
    assert flags.to_dict()["unreadable"] == flags.unreadable


@pytest.mark.parametrize(
    ("cell", "shown"),
    [("inf", "inf"), ("1e300", "1e+300"), ("-5e38", "-5e+38")],
)
def test_search_dataset_refuses_values_beyond_float32(tmp_path, capsys, cell, shown):
    """15: inf, 1e300 and values beyond float32 are refused by name (they trained to NaN)."""
    rows = "".join(f"{i / 10},{cell if i == 7 else i},{i % 2}\n" for i in range(300))
    path = write(tmp_path / "d.csv", "a,b,label\n" + rows)
    code, _, err = run_cli(
        ["search", "--dataset", f"csv:{path}", "--label", "label", "--trials", "1"], capsys
    )
    assert code == 2 and err.count("\n") == 1, err
    assert (
        f"{path}, column 'b': 1 values infinite or beyond ±3.4e+38 (rows [8], e.g. {shown})" in err
    )


def test_search_dataset_large_values_and_na_labels_train(tmp_path):
    """15: features near 1e30 standardize to finite numbers (float64), labels NA/None/null are
    classes; the trained model's predictions are accepted by the upload."""
    import numpy as np

    from diagnostics.search.datasets import load_dataset
    from diagnostics.search.outputs import predictions_frame
    from diagnostics.search.training import TrainConfig, model_for
    from strategy_app.diagnose.service import validate_upload

    rng = np.random.default_rng(0)
    labels = ["NA", "None", "null"]
    rows = "".join(f"{rng.random()},{rng.random() * 1e30},{labels[i % 3]}\n" for i in range(300))
    data = load_dataset(
        f"csv:{write(tmp_path / 'd.csv', 'a,b,label' + chr(10) + rows)}", label="label"
    )
    assert data.classes == ["NA", "None", "null"]
    assert all(np.isfinite(x).all() for x in data.x.values())
    model = model_for(TrainConfig(), data.n_features, data.n_classes)
    frame = predictions_frame(model, data)
    assert frame["score"].notna().all()
    validate_upload("predictions.csv", frame.to_csv(index=False).encode())


# -- 11: split --disagreement sized for the exact McNemar test --------------------------------


def test_exact_mcnemar_power_equals_enumeration():
    """11: the power formula equals the enumeration of every (b, c) of 60 paired examples
    scored by the p-value compare computes (an independent oracle)."""
    from scipy import stats

    from diagnostics.paired import mcnemar_p
    from diagnostics.splits import exact_mcnemar_power

    n, delta, psi = 60, 0.1, 0.2
    worse, better = (psi - delta) / 2, (psi + delta) / 2
    total = 0.0
    for b in range(n + 1):
        for c in range(n + 1 - b):
            if mcnemar_p(b, c) < 0.05:
                total += stats.multinomial.pmf([b, c, n - b - c], n, [worse, better, 1 - psi])
    assert exact_mcnemar_power(n, delta, psi) == pytest.approx(total, abs=1e-9)


def test_split_disagreement_is_sized_for_the_exact_test(capsys):
    """11: the issue's plan: dev 191 (Connor's 186 gives the exact test 78.6%), the detectable
    difference and its warning are the exact paired test's (it said 7.07%, independent)."""
    from diagnostics.splits import exact_mcnemar_power

    code, out, err = run_cli(
        [
            "split", "--size", "100000", "--min-difference", "5%", "--baseline-error", "10%",
            "--disagreement", "6%", "--json",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["counts"]["dev"] == 191
    assert exact_mcnemar_power(191, 0.05, 0.06) >= 0.8 > exact_mcnemar_power(190, 0.05, 0.06)
    assert exact_mcnemar_power(186, 0.05, 0.06) == pytest.approx(0.786, abs=0.001)
    assert data["power"]["detectable_difference"] <= 0.05
    assert data["warnings"] == [
        "A dev set of 191 can only tell apart models about 5% apart (95% confidence, 80% power, "
        "exact McNemar test at 6% disagreement); a dev set of 1,000–10,000 examples is the "
        "usual rule."
    ]
    assert "exact McNemar" in data["power"]["paired_test"]


def test_split_paired_dev_lists_each_share_once(capsys):
    """11: a given disagreement equal to a plausible share (2 × 1%) is listed once."""
    code, out, _ = run_cli(
        [
            "split", "--size", "1000000", "--min-difference", "1%", "--baseline-error", "10%",
            "--disagreement", "2%", "--json",
        ],
        capsys,
    )  # fmt: skip
    shares = [row["disagreement"] for row in json.loads(out)["power"]["paired_dev"]]
    assert code == 0 and shares == [0.02, 0.015, 0.03, 0.05]


# -- 8: carried tags are not random draws -----------------------------------------------------


def test_ceiling_counts_carried_tags_as_themselves_and_extrapolates_the_draws():
    """8: 10 carried examples (all blurry) and 20 random draws (4 blurry) of 100 dev errors: the
    share is (10 + 0.2 · 90) / 100 = 28%, not 14 / 30 = 47%; the interval is the draws' Wilson
    interval on the 90 other errors; a note says which rows are extrapolated."""
    from diagnostics.metrics import wilson_interval
    from diagnostics.tags import TagRow, TagTable
    from strategy_app.errors.service import ceiling_for

    carried = [f"c{i}" for i in range(10)]
    drawn = [f"d{i}" for i in range(20)]
    rows = [TagRow(i, frozenset({"blurry"}), True) for i in carried]
    rows += [
        TagRow(i, frozenset({"blurry"} if k < 4 else set()), True) for k, i in enumerate(drawn)
    ]
    table = TagTable(("blurry",), tuple(rows))
    summary = {"dev_error": 0.2, "dev_errors": 100}
    ceiling, _ = ceiling_for(table, summary, carried)
    (blurry,) = ceiling.categories
    low, high = wilson_interval(0.2, 20)
    assert blurry.count == 14 and blurry.share == pytest.approx(0.28)
    assert blurry.interval == pytest.approx(((10 + low * 90) / 100, (10 + high * 90) / 100))
    assert blurry.estimated_dev_errors == pytest.approx((28, 10 + low * 90, 10 + high * 90))
    assert ceiling.notes[0] == (
        "10 of the 30 reviewed errors were carried over from an earlier version (the ones it "
        "still gets wrong), not drawn at random from this version's errors: they count as "
        "themselves, and only the 20 random draws are extrapolated to the other dev errors"
    )
    naive, _ = ceiling_for(table, summary)
    assert naive.categories[0].share == pytest.approx(14 / 30)  # what the page said before


def test_ceiling_of_carried_tags_only_is_not_extrapolated():
    """8: before any new draw is reviewed, the carried rows are not extrapolated at all."""
    from diagnostics.tags import TagRow, TagTable
    from strategy_app.errors.service import ceiling_for

    table = TagTable(("blurry",), (TagRow("c0", frozenset({"blurry"}), True), TagRow("c1")))
    ceiling, _ = ceiling_for(table, {"dev_error": 0.2, "dev_errors": 100}, ["c0", "c1"])
    assert ceiling.categories[0].estimated_dev_errors is None
    assert "not extrapolated to all dev errors" in ceiling.notes[0]


# -- 7: a filtered review queue stays filtered after a decision -------------------------------


def test_filtered_queue_stays_filtered_after_dismiss_and_accept(data_dir, monkeypatch):
    """7: Show 'likely mislabeled', dismiss the first, accept the next after Next: the box keeps
    the filter with its new count, and each action acts on the filter's example shown (the
    filter used to drop to every example, and the next click acted on another example)."""
    from tests.test_app_pages import run_page
    from tests.test_evidence_pages import SAMPLE, _panel, _sampled, _sheet

    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(SAMPLE))
    store, version = _sampled(data_dir)
    at = run_page("error_analysis.py")
    _panel(at, version, "Detail view")
    next(s for s in at.selectbox if s.label == "Show").select("likely mislabeled").run()
    queue = list(_sheet(at, version)["id"])
    assert len(queue) >= 4

    def show_box():
        return next(s for s in at.selectbox if s.label == "Show")

    next(b for b in at.button if b.label == "Dismiss").click().run()
    assert not at.exception
    assert [t.value for t in at.toast] == [f"Dismissed the suggestion for {queue[0]}"]  # 17
    assert show_box().value == "likely mislabeled"
    assert show_box().options == [show_box().format_func(o) for o in show_box().options]
    assert f"{len(queue) - 1} examples in the sample" in [c.value for c in at.caption]
    assert list(_sheet(at, version)["id"]) == queue[1:]  # the next one of the filter
    next(b for b in at.button if b.label == "Next").click().run()
    assert _sheet(at, version)["id"].iloc[0] == queue[2]
    next(b for b in at.button if b.label == "Accept").click().run()
    assert show_box().value == "likely mislabeled"
    assert _sheet(at, version)["id"].iloc[0] == queue[3]  # position kept: the next one
    decided = {
        (s.suggestion.id, s.status)
        for s in store.suggestions.of_version(version.id)
        if s.suggestion.kind == "mislabeled" and not s.pending
    }
    assert decided == {(queue[0], "dismissed"), (queue[2], "accepted")}
    store.close()


# -- 9: a numeric slice column on Diagnose ------------------------------------------------------


def _bright(tmp_path: Path, rows_per_split: int = 300, digits: int = 3) -> Path:
    """Predictions whose brightness (many distinct values) darkens dev and test below 0.2."""
    import random

    rng = random.Random(3)
    lines, row = ["id,split,y_true,y_pred,brightness,site"], 0
    for split, n in [("train", 2 * rows_per_split), ("train_dev", rows_per_split),
                     ("dev", rows_per_split), ("test", rows_per_split)]:  # fmt: skip
        for _ in range(n):
            b = round(rng.random(), digits)
            y = rng.randint(0, 1)
            wrong = rng.random() < (0.5 if b < 0.2 and split in ("dev", "test") else 0.1)
            lines.append(f"{row},{split},{y},{1 - y if wrong else y},{b},site{row}")
            row += 1
    return write(tmp_path / "bright.csv", "\n".join(lines) + "\n")


def test_numeric_slice_column_is_binned_on_the_cli(tmp_path, capsys):
    """9: 1,000 distinct brightness values make 5 quantile bins, not a waterfall per value."""
    path = _bright(tmp_path)
    code, out, err = run_cli(["diagnose", str(path), "--slice", "brightness", "--json"], capsys)
    assert code == 0 and err == "", err
    values = [v["value"] for v in json.loads(out)["slices"]["values"]]
    assert len(values) == 5 and values[0].startswith("< 0.") and "missing" not in values
    assert {v.split(" ")[0] for v in values} >= {"<", "≥"}


def test_numeric_slice_column_beyond_the_value_cap_is_binned(tmp_path, capsys):
    """9: 1,500 distinct timestamps (above the 1,000-value cap) are binned, not refused; a
    text column of as many values is still refused in one line."""
    path = _bright(tmp_path, rows_per_split=300, digits=6)
    code, out, err = run_cli(["diagnose", str(path), "--slice", "brightness", "--json"], capsys)
    assert code == 0, err
    assert len(json.loads(out)["slices"]["values"]) == 5
    code, _, err = run_cli(["diagnose", str(path), "--slice", "site"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "slice column 'site': 1,500 distinct values, more than the 1,000" in err


def test_a_slice_level_of_few_rows_makes_no_priority():
    """9: test 100% wrong on 4 rows against a clean dev: no 'fix first: dev overfitting 100%'
    in that slice, and a warning says why (the interval excludes 0; 4 rows are no slice)."""
    from diagnostics.metrics import LevelEstimate, wilson_interval
    from diagnostics.waterfall import diagnose_slices

    def level(p: float, n: int) -> LevelEstimate:
        return LevelEstimate(p, *wilson_interval(p, n), n)

    per_slice = {
        "tiny": {"train": level(0.0, 400), "dev": level(0.0, 40), "test": level(1.0, 4)},
        "big": {"train": level(0.05, 400), "dev": level(0.3, 200), "test": level(0.05, 200)},
    }
    (first, big), (second, tiny) = diagnose_slices(per_slice)
    assert (first, second) == ("big", "tiny")
    assert big.priority and tiny.priority == [] and tiny.recommendations == []
    assert any(
        "dev overfitting gap is not a priority of this slice: test (4) has fewer than 20 rows" in w
        for w in tiny.warnings
    )


def test_diagnose_page_bins_a_numeric_slice_column(data_dir, tmp_path):
    """9: on the page, the brightness column gives 5 tabs (it gave one per value)."""
    from strategy_app.store import open_store
    from tests.test_app_pages import run_page

    store = open_store()
    project = store.projects.create("bright")
    at = run_page("diagnose.py")
    at.file_uploader(key=f"upload_{project.id}").set_value(
        ("bright.csv", _bright(tmp_path).read_bytes(), "text/csv")
    ).run()
    at.selectbox(key=f"slice_{project.id}").set_value("brightness").run()
    assert not at.exception
    assert len(at.tabs) == 5 and at.tabs[0].label.startswith("brightness = \\< 0.")  # escaped
    store.close()


# -- 10: the report: what is ticked is what is in the file; charts fit --------------------------


def test_report_section_that_gains_content_is_ticked_and_in_the_file(data_dir, tmp_path):
    """10: the ceiling section, disabled (no tags) on the first run, gains content in the same
    session: its box is then ticked and enabled and the file holds it (it stayed unticked, and
    a section that lost its content stayed ticked and disabled, left out of the file)."""
    from streamlit.testing.v1 import AppTest

    from strategy_app.auth import LOCAL_USER
    from strategy_app.diagnose.service import accept_upload
    from strategy_app.errors.service import draw_sample
    from strategy_app.shell.navigation import PAGES_DIR
    from strategy_app.store import open_store
    from strategy_app.store.labels import LabelEdit
    from strategy_app.versions.service import read_version
    from tests.conftest import write_predictions

    store = open_store()
    project = store.projects.create("model")
    data = write_predictions(tmp_path / "p.csv").read_bytes()
    accept_upload(store, project.id, "p.csv", data, LOCAL_USER)
    at = AppTest.from_file(str(PAGES_DIR / "report.py"), default_timeout=120).run()
    box = at.checkbox(key=f"report_section_{project.id}_ceiling")
    assert box.disabled and not box.value
    sample = draw_sample(
        store,
        project.id,
        read_version(store, store.diagnose_state.load(project.id)),
        10,
        seed=0,
        user=LOCAL_USER,
    )
    blurry = store.labels.categories(project.id)[0]
    store.labels.save_edit(project.id, LabelEdit(sample.ids[0], "", add={blurry.id}), 0)
    at.run()
    box = at.checkbox(key=f"report_section_{project.id}_ceiling")
    assert not box.disabled and box.value
    html = next(e.proto.srcdoc for e in at.get("iframe"))
    assert "Error analysis: ceilings" in html
    store.close()


def test_ceiling_chart_keeps_its_figures_inside_the_chart():
    """10: the count and best error after the fix are axis text (laid out inside the chart's
    width), not marks past the bars' ends; the x axis has at most 5 ticks."""
    import vl_convert

    from diagnostics.ceiling import ceiling_from_counts
    from diagnostics.charts import ceiling_chart

    ceiling = ceiling_from_counts(
        {"blurry/low quality": 38, "mislabeled": 20, "partially occluded by a hand": 5}, 100, 0.085
    )
    spec = ceiling_chart(ceiling).to_dict()
    assert all(layer["mark"]["type"] != "text" for layer in spec["layer"])
    assert spec["layer"][0]["encoding"]["y"]["axis"]["labelLimit"] == 0
    svg = vl_convert.vegalite_to_svg(spec)
    for text in ("blurry/low quality", "38 → best 5.3%", "partially occluded by a hand"):
        assert f">{text}<" in svg


# -- 16: newcomer stumbles ---------------------------------------------------------------------


def test_the_app_opens_on_the_diagnosis_of_the_sample(data_dir, tmp_path, monkeypatch):
    """16: with the sample project the app opens on Diagnose, its waterfall shown (the README
    promises the sample 'already diagnosed'); on an empty database it still opens on Home."""
    from streamlit.testing.v1 import AppTest

    from strategy_app.shell.navigation import PAGES_DIR
    from tests.conftest import write_predictions

    app = str(PAGES_DIR.parent / "strategy_app" / "app.py")
    empty = AppTest.from_file(app, default_timeout=120).run()
    assert empty.title[0].value == "Home"
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "with-sample"))
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(write_predictions(tmp_path / "s.csv")))
    at = AppTest.from_file(app, default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Diagnose"
    assert any("Action plan" in h.value for h in at.subheader)


@pytest.mark.parametrize("human", ["1", "1.0"])
def test_cli_human_level_of_a_bare_one_is_refused(capsys, human):
    """16: --human 1 was read as 100%; a bare 1 is as ambiguous as 8: exit 2, one line."""
    code, _, err = run_cli(["diagnose", "--train", "5%", "--dev", "8%", "--human", human], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"a bare {human} is ambiguous (1% or 100%?); write 1% or 100%" in err


# -- 17: smaller UI items -----------------------------------------------------------------------


def test_diagnose_by_this_slice_twice_makes_one_column_and_the_box_shows_it(data_dir, monkeypatch):
    """17: the Slice column box shows the made column, and a second press adds no copy."""
    from strategy_app.store import open_store
    from strategy_app.versions.service import version_file as predictions_path
    from tests.test_app_pages import run_page
    from tests.test_evidence_pages import SAMPLE

    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(SAMPLE))
    at = run_page("diagnose.py")
    for _ in range(2):
        next(b for b in at.button if b.label == "Diagnose by this slice").click().run()
        assert not at.exception
    store = open_store()
    (project,) = store.projects.list()
    state = store.diagnose_state.load(project.id)
    header = predictions_path(store, state).read_text().splitlines()[0]
    made = [c for c in header.split(",") if "in slice:" in c]
    assert len(made) == 1, made
    box = next(s for s in at.selectbox if s.label.startswith("Slice column"))
    assert box.value == state.slice_column == made[0].strip('"')
    store.close()


def test_the_page_names_the_sample_images_image_flags_could_not_read(data_dir, monkeypatch):
    """15: the Error analysis page lists the images left out of the image flags (a sample image
    missing from the folder, one damaged), by name, with the fix; the others keep their flags."""
    import shutil

    from strategy_app.auth import LOCAL_USER
    from strategy_app.errors import evidence
    from strategy_app.errors import service as labeling
    from strategy_app.store import open_store
    from strategy_app.versions.service import read_version
    from tests.test_app_pages import run_page, texts

    folder = data_dir / "sample"
    shutil.copytree(Path(__file__).resolve().parents[1] / "sample_data", folder)
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(folder / "predictions.csv"))
    store = open_store()
    run_page("error_analysis.py")  # creates the sample project from the copy
    (project,) = store.projects.list()
    version = store.versions.current(project.id)
    predictions = read_version(store, version.state)
    sample = labeling.draw_sample(store, version.id, predictions, 40, seed=0, user=LOCAL_USER)
    images = [p for p in sample.examples["input"] if isinstance(p, str) and p]
    assert len(images) >= 8
    for gone in images[:6]:
        (folder / gone).unlink()
    (folder / images[6]).write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    at = run_page("error_analysis.py")
    assert not at.exception
    [warning] = [w.value for w in at.warning if "could not be read" in w.value]
    assert warning.startswith("7 image(s) of the sample could not be read, so they have no")
    assert f"image '{images[0]}' not found" in warning.replace("\\", "")
    assert warning.endswith("and 2 more — upload an images zip holding them as PNG or JPEG")
    found = evidence.version_evidence(store, version, store.labels.snapshot(version.id))
    assert found.image_flags is not None
    assert set(found.image_flags.unreadable) == set(images[:7])
    assert {r.path for r in found.image_flags.images} == set(images[7:])
    assert "could not be read" not in texts(run_page("diagnose.py"))
    store.close()


def test_a_search_whose_trials_diverge_writes_no_empty_scores(tmp_path, monkeypatch, capsys):
    """15: a built-in search whose learning rate makes every trial diverge to NaN fails each
    trial in one line and stops, writing no predictions file with empty scores (exit 2)."""
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    space = write(
        tmp_path / "space.json", '{"lr": {"type": "log_uniform", "low": 10000, "high": 100000}}'
    )
    out = tmp_path / "out"
    argv = ["search", "--space", str(space), "--trials", "4", "--epochs", "1", "--study", "nan"]
    code, stdout, err = run_cli([*argv, "--out", str(out)], capsys)
    assert (code, stdout) == (2, "")
    assert err.splitlines()[-1] == (
        "error: search stopped: its first 3 trials all failed; trial 0: 1797 score value(s) are "
        "NaN, empty or infinite (first at row 0): the model's training diverged? try a lower "
        "learning rate (fix the objective and run the study again)"
    )
    assert not (out / "predictions.csv").exists()


def test_predictions_with_empty_scores_fail_the_trial_in_one_line():
    """15: the check every trial's predictions pass (user objectives, ask/tell, built-in) refuses
    NaN, empty and infinite scores, as the upload does."""
    import pandas as pd

    from diagnostics.search.objective import TrialFailure, score_predictions

    frame = pd.DataFrame(
        {
            "id": range(8),
            "split": ["train", "train_dev", "dev", "test"] * 2,
            "y_true": [0, 1] * 4,
            "y_pred": [0, 1, 1, 0] * 2,
            "score": [0.9, float("nan"), 0.8, float("inf"), 0.7, 0.6, None, 0.5],
        }
    )
    with pytest.raises(TrialFailure) as failed:
        score_predictions(frame)
    assert str(failed.value) == (
        "3 score value(s) are NaN, empty or infinite (first at row 1): the model's training "
        "diverged? try a lower learning rate"
    )
    assert score_predictions(frame.drop(columns="score"))["levels"]["dev"] == 1.0  # 2 of 2

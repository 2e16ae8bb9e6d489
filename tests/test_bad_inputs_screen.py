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

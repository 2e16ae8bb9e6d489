"""Eyeball vs blackbox: did the new version improve mostly on the dev errors people examined?"""

from __future__ import annotations

import json

import pytest

from diagnostics.compare import compare, eyeball_check
from diagnostics.fastcompare import compare_files
from diagnostics.ingest import read_predictions
from diagnostics.metrics import LevelEstimate, mover_interval, wilson_interval
from diagnostics.tags import TagRow, TagTable
from strategy_app.cli import main
from tests.test_compare import write

DEV = range(1, 201)
BEFORE_WRONG = set(range(1, 81))  # 80 dev errors before
EXAMINED = set(range(1, 21))  # 20 of them examined


def files(tmp_path, after_wrong):
    train = [(1000 + i, "train", 0, 0) for i in range(20)]
    before = train + [(i, "dev", 0, int(i in BEFORE_WRONG)) for i in DEV]
    after = train + [(i, "dev", 0, int(i in after_wrong)) for i in DEV]
    return write(tmp_path / "before.csv", before), write(tmp_path / "after.csv", after)


def tags_csv(tmp_path):
    path = tmp_path / "tags.csv"
    path.write_text("id,blurry\n" + "".join(f"{i},1\n" for i in sorted(EXAMINED)))
    return path


def _estimate(k: int, n: int) -> LevelEstimate:
    low, high = wilson_interval(k / n, n)
    return LevelEstimate(k / n, low, high, n)


def test_difference_and_newcombe_interval_by_hand():
    # examined: 18 of 20 fixed; rest: 12 of 60 fixed
    after_wrong = {str(i): not (i <= 18 or 21 <= i <= 32) for i in BEFORE_WRONG}
    found = eyeball_check([str(i) for i in BEFORE_WRONG], after_wrong, map(str, EXAMINED), "v1")
    assert found is not None
    assert (found.examined_fixed, found.examined, found.rest_fixed, found.rest) == (18, 20, 12, 60)
    assert found.difference == pytest.approx(12 / 60 - 18 / 20)
    low, high = mover_interval(_estimate(12, 60), _estimate(18, 20))
    assert found.interval == pytest.approx((-high, -low))
    assert found.warning is not None and "draw a fresh sample" in found.warning
    data = found.to_dict()
    assert set(data) == {"examined", "rest", "difference", "interval", "warning"}
    assert data["examined"]["change"] == pytest.approx(-0.9)
    assert data["rest"]["change"] == pytest.approx(-0.2)


def test_no_warning_when_both_improved_alike_or_a_group_is_empty():
    # examined: 5 of 20 fixed; rest: 15 of 60 fixed (the same 25%)
    fixed = set(range(1, 6)) | set(range(21, 36))
    after_wrong = {str(i): i not in fixed for i in BEFORE_WRONG}
    found = eyeball_check([str(i) for i in BEFORE_WRONG], after_wrong, map(str, EXAMINED), "v1")
    assert found is not None and found.warning is None
    assert found.interval[0] < 0 < found.interval[1]
    assert eyeball_check(["1"], {"1": False}, ["1"], "v1") is None  # no rest
    assert eyeball_check(["1", "2"], {"1": False}, ["3"], "v1") is None  # 2 missing in AFTER


@pytest.mark.parametrize("fast", [True, False])
def test_tuned_to_the_examined_examples_warns_on_both_paths(tmp_path, fast):
    # AFTER fixes 19 of the 20 examined and 6 of the 60 others
    after_wrong = (BEFORE_WRONG - set(range(1, 20))) - set(range(21, 27))
    paths = files(tmp_path, after_wrong)
    examined = [str(i) for i in EXAMINED]
    if fast:
        comparison = compare_files(*paths, examined=examined)
    else:
        comparison = compare(*(read_predictions(p) for p in paths), examined=examined)
    assert comparison.eyeball is not None
    assert (comparison.eyeball.examined_fixed, comparison.eyeball.rest_fixed) == (19, 6)
    assert comparison.eyeball.warning is not None


def test_fast_and_exact_paths_agree(tmp_path):
    after_wrong = BEFORE_WRONG - set(range(1, 10)) - set(range(40, 70))
    paths = files(tmp_path, after_wrong)
    examined = [str(i) for i in EXAMINED]
    fast = compare_files(*paths, examined=examined).to_dict()["eyeball"]
    exact = compare(*(read_predictions(p) for p in paths), examined=examined).to_dict()["eyeball"]
    assert fast == exact and fast["warning"] is None


def test_cli_compare_json_has_eyeball_from_the_tags_ids(tmp_path, capsys):
    after_wrong = (BEFORE_WRONG - set(range(1, 20))) - set(range(21, 27))
    before, after = files(tmp_path, after_wrong)
    argv = ["compare", str(before), str(after), "--labels", str(tags_csv(tmp_path)), "--json"]
    assert main(argv) == 0
    eyeball = json.loads(capsys.readouterr().out)["eyeball"]
    assert eyeball["examined"]["n"] == 20 and eyeball["rest"]["n"] == 60
    assert eyeball["warning"].startswith("The 20 dev errors of ")
    assert "before.csv that people examined improved significantly more" in eyeball["warning"]
    assert main(["compare", str(before), str(after), "--labels", str(tags_csv(tmp_path))]) == 0
    assert "Eyeball vs blackbox" in capsys.readouterr().out
    # fixed evenly: no warning
    before, after = files(tmp_path, BEFORE_WRONG - set(range(1, 6)) - set(range(21, 36)))
    argv = ["compare", str(before), str(after), "--labels", str(tags_csv(tmp_path)), "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["eyeball"]["warning"] is None


def test_without_tags_or_sample_there_is_no_eyeball(tmp_path, capsys):
    before, after = files(tmp_path, BEFORE_WRONG)
    assert main(["compare", str(before), str(after), "--json"]) == 0
    assert "eyeball" not in json.loads(capsys.readouterr().out)


def test_examined_ids_are_every_row_of_the_tags(tmp_path):
    from diagnostics.compare import examined_ids

    table = TagTable(["a"], [TagRow("3", frozenset({"a"})), TagRow("1"), TagRow("3")])
    assert examined_ids(table) == ["3", "1"]

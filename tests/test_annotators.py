"""Human levels from annotators' labels: oracles (pandas, scipy, scikit-learn), refusals, CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score

from diagnostics.annotators import cohen_kappa, measure_annotators, read_annotations
from diagnostics.ingest import read_predictions
from diagnostics.validation import InputError
from strategy_app.cli import main

CLASSES = ["cat", "dog", "fox"]
# annotator → share of examples given a wrong label (carol is careless: mostly random)
ERROR_SHARES = {"alice": 0.03, "bob": 0.12, "carol": 0.45}


def write_predictions(path, seed: int = 0, dev: int = 150, test: int = 80):
    """Train (ids tr*), dev (d*) and test (t*) rows; the model errs on about 20% of each."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, prefix, count in (("train", "tr", 300), ("dev", "d", dev), ("test", "t", test)):
        truth = rng.choice(CLASSES, size=count)
        wrong = rng.random(count) < 0.2
        pred = np.where(wrong, [CLASSES[(CLASSES.index(t) + 1) % 3] for t in truth], truth)
        rows += [
            {"id": f"{prefix}{i}", "split": split, "y_true": t, "y_pred": p}
            for i, (t, p) in enumerate(zip(truth, pred, strict=True))
        ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def write_annotations(predictions_path, path, seed: int = 1, ids_per_annotator: int = 120):
    """Each annotator labels a random subset of dev and test, wrong at their share."""
    frame = pd.read_csv(predictions_path)
    held = frame[frame["split"] != "train"].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    rows = []
    for name, share in ERROR_SHARES.items():
        for i in rng.choice(len(held), size=ids_per_annotator, replace=False):
            truth = held.loc[i, "y_true"]
            label = truth
            if rng.random() < share:
                label = CLASSES[(CLASSES.index(truth) + rng.integers(1, 3)) % 3]
            rows.append({"id": held.loc[i, "id"], "annotator": name, "label": label})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def files(tmp_path):
    predictions = write_predictions(tmp_path / "predictions.csv")
    return predictions, write_annotations(predictions, tmp_path / "annotations.csv")


def test_each_annotator_error_and_wilson_interval_match_pandas_and_scipy(files):
    predictions_path, annotations_path = files
    predictions = read_predictions(predictions_path)
    panel = measure_annotators(read_annotations(annotations_path, predictions))
    truth = pd.read_csv(predictions_path).set_index("id")["y_true"]
    given = pd.read_csv(annotations_path)
    given["wrong"] = given["label"].to_numpy() != truth.loc[given["id"]].to_numpy()
    oracle = given.groupby("annotator")["wrong"].agg(["sum", "count", "mean"])
    assert sorted(a.name for a in panel.annotators) == sorted(ERROR_SHARES)
    for level in panel.annotators:
        row = oracle.loc[level.name]
        assert (level.errors, level.n) == (row["sum"], row["count"])
        assert level.error == pytest.approx(row["mean"], abs=1e-15)
        ci = binomtest(int(row["sum"]), int(row["count"])).proportion_ci(method="wilson")
        assert level.interval == pytest.approx((ci.low, ci.high), abs=1e-12)
    errors = sorted(level.error for level in panel.annotators)
    assert panel.best.error == errors[0] and panel.best.name == "alice"
    assert panel.typical.error == errors[1] and panel.typical.name == "bob"


def test_kappa_matches_scikit_learn_on_every_pair_with_the_others(files):
    predictions_path, annotations_path = files
    panel = measure_annotators(
        read_annotations(annotations_path, read_predictions(predictions_path))
    )
    given = pd.read_csv(annotations_path)
    for level in panel.annotators:
        own = given[given["annotator"] == level.name]
        others = given[given["annotator"] != level.name]
        pairs = own.merge(others, on="id")
        assert level.pairs == len(pairs)
        oracle = cohen_kappa_score(pairs["label_x"], pairs["label_y"])
        assert level.kappa == pytest.approx(oracle, abs=1e-12)
    kappas = {level.name: level.kappa for level in panel.annotators}
    assert kappas["carol"] < kappas["bob"] < kappas["alice"]  # the careless one stands out


def test_cohen_kappa_undefined_when_both_give_one_label():
    assert cohen_kappa(np.array(["a", "a"]), np.array(["a", "a"])) is None


def test_team_is_the_majority_vote_and_ties_go_to_the_best_annotator(tmp_path):
    predictions = write_predictions(tmp_path / "p.csv")
    truth = pd.read_csv(predictions).set_index("id")["y_true"]
    wrong = {t: CLASSES[(CLASSES.index(t) + 1) % 3] for t in CLASSES}
    rows = []
    # d0: all right; d1: two of three wrong (team wrong); d2: alice right, bob wrong (tie)
    for annotator, ids_wrong in (("alice", {"d1"}), ("bob", {"d1", "d2"}), ("carol", set())):
        for example in ("d0", "d1", "d2"):
            if annotator == "carol" and example == "d2":
                continue
            label = wrong[truth[example]] if example in ids_wrong else truth[example]
            rows.append({"id": example, "annotator": annotator, "label": label})
    path = tmp_path / "a.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    panel = measure_annotators(read_annotations(path, read_predictions(predictions)))
    assert (panel.team.errors, panel.team.n) == (1, 3)
    assert panel.best.name == "carol"  # 0 of 2 wrong
    # d2 is a tie between alice (1 of 3 wrong) and bob (2 of 3): alice's right label wins,
    # so the team errs on d1 only
    assert panel.team.error == pytest.approx(1 / 3)


def test_adjudicated_reference_is_used_instead_of_y_true(tmp_path):
    predictions = write_predictions(tmp_path / "p.csv")
    rows = [
        {"id": "d0", "annotator": "a", "label": "cat", "reference": "dog"},
        {"id": "d0", "annotator": "b", "label": "dog", "reference": "dog"},
        {"id": "t1", "annotator": "a", "label": "fox", "reference": "fox"},
        {"id": "t1", "annotator": "b", "label": "fox", "reference": "fox"},
    ]
    path = tmp_path / "a.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    annotations = read_annotations(path, read_predictions(predictions))
    assert annotations.adjudicated
    panel = measure_annotators(annotations)
    by_name = {level.name: (level.errors, level.n) for level in panel.annotators}
    assert by_name == {"a": (1, 2), "b": (0, 2)}
    assert panel.floor is not None
    # vote shares: d0 half cat half dog → 0.5; t1 unanimous → 0
    assert panel.floor.estimate == pytest.approx(0.25)


def test_parquet_is_read_like_csv(files, tmp_path):
    predictions_path, annotations_path = files
    parquet = tmp_path / "annotations.parquet"
    pd.read_csv(annotations_path).to_parquet(parquet)
    predictions = read_predictions(predictions_path)
    from_csv = measure_annotators(read_annotations(annotations_path, predictions))
    from_parquet = measure_annotators(read_annotations(parquet, predictions))
    assert from_csv.to_dict()["annotators"] == from_parquet.to_dict()["annotators"]


BAD = [
    ("", "annotations.csv is empty"),
    ("id,annotator,label\n", "has a header but no rows"),
    ("id,label\nd0,cat\n", "has no column 'annotator'"),
    ("id,annotator,label\nd0,a,cat\nzz9,b,cat\n", "column 'id', row 2: 'zz9' is not a dev or test"),
    ("id,annotator,label\ntr0,a,cat\nd0,b,cat\n", "column 'id', row 1: 'tr0' is not a dev or test"),
    ("id,annotator,label\nd0,a,cat\nd1,a,dog\n", "only one annotator ('a')"),
    ("id,annotator,label\nd0,a,cat\nd0,b,wolf\n", "column 'label', row 2: 'wolf' is not a class"),
    (
        "id,annotator,label\nd0,a,cat\nd0,b,cat\nd0,a,dog\n",
        "column 'label', rows 1 and 3: annotator 'a' labels id 'd0' as both 'cat' and 'dog'",
    ),
    (
        "id,annotator,label,reference\nd0,a,cat,cat\nd0,b,cat,\n",
        "column 'reference', row 2: empty (1 empty cells); fill the adjudicated label",
    ),
    (
        "id,annotator,label,reference\nd0,a,cat,cat\nd0,b,cat,dog\n",
        "id 'd0' has two reference labels",
    ),
    ("id,annotator,label\nd0,,cat\nd0,b,cat\n", "column 'annotator', row 1: empty"),
    (
        "id,annotator,label,soft_cat,soft_dog,soft_fox\nd0,a,cat,0.5,0.6,0\nd0,b,cat,0.5,0.6,0\n",
        "row 1: the soft_<class> columns sum to 1.1000",
    ),
    (
        "id,annotator,label,soft_cat,soft_wolf\nd0,a,cat,0.5,0.5\nd0,b,cat,0.5,0.5\n",
        "column 'soft_wolf': 'wolf' is not a class",
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD)
def test_bad_annotations_are_refused_in_one_line(tmp_path, content, message):
    predictions = read_predictions(write_predictions(tmp_path / "p.csv"))
    path = tmp_path / "annotations.csv"
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        read_annotations(path, predictions)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert text.startswith("annotations.csv")


def test_same_label_twice_from_one_annotator_counts_once(tmp_path):
    predictions = read_predictions(write_predictions(tmp_path / "p.csv"))
    path = tmp_path / "a.csv"
    path.write_text("id,annotator,label\nd0,a,cat\nd0,a,cat\nd0,b,cat\n")
    panel = measure_annotators(read_annotations(path, predictions))
    assert {level.name: level.n for level in panel.annotators} == {"a": 1, "b": 1}


def test_annotations_need_ids_in_the_predictions(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("split,y_true,y_pred\ndev,cat,cat\ndev,dog,cat\n")
    annotations = tmp_path / "a.csv"
    annotations.write_text("id,annotator,label\n0,a,cat\n0,b,cat\n")
    with pytest.raises(InputError, match=r"p\.csv has no id column"):
        read_annotations(annotations, read_predictions(path))


def test_cli_diagnose_with_annotations_adds_levels_team_and_floor(files, capsys):
    predictions, annotations = files
    code = main(["diagnose", str(predictions), "--annotations", str(annotations), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    names = {a["name"] for a in data["annotators"]}
    assert names == set(ERROR_SHARES)
    for entry in data["annotators"]:
        assert set(entry) >= {"name", "error", "interval", "n", "kappa"}
    assert data["team"]["name"] == "team (majority vote)"
    assert set(data["floor"]) >= {"estimate", "interval", "method"}
    assert "Ishida" in data["floor"]["method"]
    # the lowest measured level is the Bayes proxy, and the avoidable-bias interval holds it
    proxy = data["human_levels"][0]
    assert data["levels"]["human"] == proxy["value"]
    assert proxy["interval"] is not None and data["intervals"]["human"] == proxy["interval"]
    assert data["gap_intervals"]["avoidable_bias"] is not None
    typed = main(["diagnose", str(predictions), "--human", str(proxy["value"]), "--json"])
    assert typed == 0
    narrow = json.loads(capsys.readouterr().out)["gap_intervals"]["avoidable_bias"]
    wide = data["gap_intervals"]["avoidable_bias"]
    assert wide[1] - wide[0] > narrow[1] - narrow[0]  # the human level's own noise is in it


def test_cli_refuses_bad_annotations_with_exit_2(files, tmp_path, capsys):
    predictions, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("id,annotator,label\nd0,a,cat\n")
    assert main(["diagnose", str(predictions), "--annotations", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, column 'annotator': only one annotator" in err
    assert main(["diagnose", "--dev", "5%", "--annotations", str(bad)]) == 2
    assert "--annotations needs a predictions file" in capsys.readouterr().err


def test_cli_text_lists_annotators(files, capsys):
    predictions, annotations = files
    assert main(["diagnose", str(predictions), "--annotations", str(annotations)]) == 0
    out = capsys.readouterr().out
    assert "Human levels measured from annotations.csv" in out
    assert "measured floor" in out


def test_report_includes_the_floor_section(files, tmp_path, capsys):
    predictions, annotations = files
    out = tmp_path / "r.html"
    argv = ["report", str(predictions), "--annotations", str(annotations), "--out", str(out)]
    assert main([*argv, "--json"]) == 0
    assert "floor" in json.loads(capsys.readouterr().out)["sections"]
    html = out.read_text()
    assert "Human levels, the floor and label noise" in html
    assert "team (majority vote)" in html and "Measured floor" in html
    assert "measured on" in html  # the proxy's n beside the human levels
    data_out = tmp_path / "r.json"
    argv = [*argv[:-1], str(data_out), "--format", "json"]
    assert main(argv) == 0
    data = json.loads(data_out.read_text())
    assert {a["name"] for a in data["floor"]["annotators"]} == set(ERROR_SHARES)

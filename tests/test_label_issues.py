"""Likely label errors: planted flips found, suggestions right, refusals clear."""

import functools
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from diagnostics.label_issues import find_label_issues_in_file
from strategy_app.cli import main

FLIP_SHARE = 0.05


@functools.cache
def digit_probabilities(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The train rows, and every digit's probabilities from a model trained on them only."""
    rng = np.random.default_rng(seed)
    digits = load_digits()
    train = rng.permutation(len(digits.target))[:1000]
    model = LogisticRegression(C=10.0, max_iter=3000).fit(
        digits.data[train] / 16, digits.target[train]
    )
    return train, model.predict_proba(digits.data / 16)  # out of sample for the others


def flipped_digits(path, seed: int = 0):
    """A predictions file: a digit model trained on clean train labels, dev with 5% flipped.

    Returns the path and the planted flips as {id: (flipped label, true label)}.
    """
    train, probabilities = digit_probabilities(seed)
    labels = load_digits().target.copy()
    dev = np.setdiff1d(np.arange(len(labels)), train)
    rng = np.random.default_rng(seed + 1)
    flips = rng.choice(dev, size=round(FLIP_SHARE * len(dev)), replace=False)
    planted = {}
    for row in flips:
        wrong = int(rng.choice([c for c in range(10) if c != labels[row]]))
        planted[str(row)] = (wrong, int(labels[row]))
        labels[row] = wrong
    frame = pd.DataFrame(
        {
            "id": np.arange(len(labels)),
            "split": np.where(np.isin(np.arange(len(labels)), dev), "dev", "train"),
            "y_true": labels,
            "y_pred": probabilities.argmax(axis=1),
        }
    )
    for k in range(10):
        frame[f"prob_{k}"] = probabilities[:, k].round(5)
    frame.to_csv(path, index=False)
    return path, planted


def test_planted_flips_are_found_with_the_true_label_suggested(tmp_path):
    path, planted = flipped_digits(tmp_path / "p.csv")
    found = find_label_issues_in_file(path)
    flagged = {issue.id: issue for issue in found.issues}
    hits = set(flagged) & set(planted)
    recall, precision = len(hits) / len(planted), len(hits) / len(flagged)
    assert recall >= 0.7 and precision >= 0.8, (recall, precision)
    right = sum(flagged[i].suggested == planted[i][1] for i in hits)
    assert right / len(hits) >= 0.9
    for i in hits:
        assert flagged[i].given == planted[i][0]
    qualities = [issue.quality for issue in found.issues]
    assert qualities == sorted(qualities) and all(0 <= q <= 1 for q in qualities)
    assert found.rows == 797 and found.classes == list(range(10))


def test_a_clean_file_has_few_issues(tmp_path):
    path, planted = flipped_digits(tmp_path / "p.csv")
    frame = pd.read_csv(path)
    for row, (_, truth) in planted.items():
        frame.loc[int(row), "y_true"] = truth
    frame.to_csv(path, index=False)
    assert len(find_label_issues_in_file(path).issues) <= 0.03 * 797


def test_cli_contract(tmp_path, capsys):
    path, _ = flipped_digits(tmp_path / "p.csv")
    assert main(["label-issues", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    data = json.loads(out)
    assert {"issues", "method"} <= set(data) and "cleanlab 2.9" in data["method"]
    assert {"id", "given", "suggested", "quality"} <= set(data["issues"][0])
    assert main(["label-issues", str(path)]) == 0
    assert "Likely label errors in dev" in capsys.readouterr().out


def test_string_labels_and_a_split_without_a_class(tmp_path):
    rng = np.random.default_rng(0)
    rows = 300
    truth = rng.choice(["cat", "dog", "fox"], rows, p=[0.5, 0.5, 0.0])
    confident = np.where(truth == "cat", 0.9, 0.05)
    frame = pd.DataFrame(
        {
            "split": "dev",
            "y_true": truth,
            "y_pred": truth,
            "prob_cat": confident,
            "prob_dog": 0.95 - confident,
            "prob_fox": 0.05,
        }
    )
    frame.loc[0, "y_pred"] = "fox"  # fox appears as a prediction only
    frame.loc[:4, "y_true"] = np.where(truth[:5] == "cat", "dog", "cat")
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    found = find_label_issues_in_file(path)
    assert found.classes == ["cat", "dog", "fox"]
    assert {issue.row for issue in found.issues} >= {1, 2, 3, 4, 5}
    assert all(issue.id == str(issue.row) for issue in found.issues)  # no id: the row number


def refused(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    return captured.err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=[f"prob_{k}" for k in range(10)]), "no prob_<class> columns"),
        (lambda f: f.assign(prob_3=f["prob_3"] * 0.5), "do not sum to 1"),
        (lambda f: f.drop(columns=["prob_9"]), "no probability column for label(s) 9"),
        (lambda f: f.assign(prob_0=f["prob_0"].where(f["split"] != "dev")), "not probabilities"),
    ],
)
def test_bad_probabilities_are_refused(tmp_path, capsys, change, message):
    path, _ = flipped_digits(tmp_path / "p.csv")
    change(pd.read_csv(path)).to_csv(path, index=False)
    assert message in refused(capsys, "label-issues", str(path))


def test_a_class_no_row_has_is_accepted(tmp_path, capsys):
    """A prob_ column for a class the model knows but no row is labelled with is a class (it
    was refused; issue 31): the flags are those without it, since it carries no mass."""
    path, _ = flipped_digits(tmp_path / "p.csv")
    assert main(["label-issues", str(path), "--json"]) == 0
    without = json.loads(capsys.readouterr().out)
    pd.read_csv(path).assign(prob_11=0.0).to_csv(path, index=False)
    assert main(["label-issues", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["classes"] == [*range(10), 11] and data["issues"] == without["issues"]


def test_regression_and_missing_split_are_refused(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("split,y_true,y_pred,prob_a\ndev,1.5,2.5,1.0\n")
    assert "need class labels" in refused(capsys, "label-issues", str(path))
    path, _ = flipped_digits(tmp_path / "p.csv")
    assert "no rows in split 'test'" in refused(
        capsys, "label-issues", str(path), "--split", "test"
    )

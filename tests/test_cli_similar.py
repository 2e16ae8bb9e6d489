"""CLI ``similar`` and ``ceiling --spread``: JSON contract, text, bad input (one line, exit 2)."""

import json

import numpy as np
import pandas as pd
import pytest

from diagnostics.tags import TagRow, TagTable, write_tags_csv
from strategy_app.cli import main
from tests.text_project import text_frame

SAMPLE = "sample_data/predictions.csv"
KINDS = ("sarcasm", "negation", "shipping")


def run_json(capsys, *argv):
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


@pytest.fixture
def text_project(tmp_path):
    frame = text_frame(3000, seed=4)
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    return path, frame


def dev_errors(frame):
    return frame[(frame.split == "dev") & (frame.y_true != frame.y_pred)]


def write_tags(tmp_path, frame, reviewed=100, seed=0):
    errors = dev_errors(frame)
    rng = np.random.default_rng(seed)
    picked = errors.iloc[rng.choice(len(errors), reviewed, replace=False)]
    rows = tuple(
        TagRow(r.id, frozenset({r.planted} if isinstance(r.planted, str) else ()), True)
        for r in picked.itertuples()
    )
    path = tmp_path / "tags.csv"
    path.write_text(write_tags_csv(TagTable(KINDS, rows)), encoding="utf-8")
    return path


def test_similar_json_on_the_sample_images(capsys):
    code, data, _ = run_json(capsys, "similar", SAMPLE, "--id", "dev_00023", "--k", "5")
    assert code == 0
    assert data["embedding"]["kind"] == "image" and "PCA" in data["embedding"]["method"]
    assert data["search"] == "exact" and data["dev_errors"] == 101
    neighbours = data["neighbours"]
    assert len(neighbours) == 5 and "dev_00023" not in {n["id"] for n in neighbours}
    assert [n["distance"] for n in neighbours] == sorted(n["distance"] for n in neighbours)
    frame = pd.read_csv(SAMPLE).set_index("id")
    for row in neighbours:
        original = frame.loc[row["id"]]
        assert original.split == "dev" and original.y_true != original.y_pred
        assert row["input"] == original.input


def test_similar_on_text_reads_the_text_and_finds_its_kind(capsys, text_project):
    path, frame = text_project
    sarcastic = dev_errors(frame)
    query = sarcastic[sarcastic.text.str.startswith("oh great")].id.iloc[0]
    code, data, _ = run_json(capsys, "similar", str(path), "--id", query, "--k", "3")
    assert code == 0 and data["embedding"]["kind"] == "text"
    planted = frame.set_index("id").planted
    assert all(planted[n["id"]] == "sarcasm" for n in data["neighbours"])
    assert main(["similar", str(path), "--id", query, "--k", "2"]) == 0
    assert "Dev errors most like" in capsys.readouterr().out


def test_similar_prefers_embedding_columns(capsys, tmp_path):
    frame = pd.DataFrame(
        {
            "id": list("abcd"),
            "split": "dev",
            "y_true": [1, 1, 1, 1],
            "y_pred": [0, 0, 0, 1],
            "text": ["x y", "x z", "q r", "q s"],
            "emb_0": [1.0, 0.9, 0.0, 0.5],
            "emb_1": [0.0, 0.1, 1.0, 0.5],
        }
    )
    frame.to_csv(tmp_path / "p.csv", index=False)
    code, data, _ = run_json(capsys, "similar", str(tmp_path / "p.csv"), "--id", "a")
    assert code == 0 and data["embedding"]["kind"] == "file"
    assert [n["id"] for n in data["neighbours"]] == ["b", "c"]  # d is right: not an error
    assert data["neighbours"][0]["distance"] == pytest.approx(
        1 - 0.9 / np.hypot(0.9, 0.1), abs=1e-6
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"emb_1": [0.0, None, 1.0, 0.5]}, "has 1 of the 2 values"),
        ({"emb_0": [0.0, 0.9, 0.0, 0.5], "emb_1": [0.0, 0.1, 1.0, 0.5]}, "'a' is all zeros"),
    ],
)
def test_similar_bad_embeddings_exit_2(capsys, tmp_path, change, message):
    columns = {"id": list("abcd"), "split": "dev", "y_true": [1] * 4, "y_pred": [0, 0, 0, 1]}
    columns |= {"emb_0": [1.0, 0.9, 0.0, 0.5], "emb_1": [0.0, 0.1, 1.0, 0.5]} | change
    pd.DataFrame(columns).to_csv(tmp_path / "p.csv", index=False)
    code, _, err = run_json(capsys, "similar", str(tmp_path / "p.csv"), "--id", "a")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_ceiling_spread_json_covers_the_planted_counts(capsys, tmp_path, text_project):
    path, frame = text_project
    tags = write_tags(tmp_path, frame)
    errors = dev_errors(frame)
    dev = frame[frame.split == "dev"]
    rate = f"{len(errors) / len(dev):.6f}"
    code, data, _ = run_json(
        capsys, "ceiling", str(tags), "--dev-error", rate, "--spread", str(path)
    )
    assert code == 0
    assert data["dev_errors"] == len(errors)
    for row in data["categories"]:
        spread = row["spread"]
        truth = int((errors.planted == row["name"]).sum())
        assert spread["low"] <= truth <= spread["high"]
        assert row["more_precise"] in ("spread", "sample")
        assert spread["reviewed"] == 100 and spread["unreviewed"] == len(errors) - 100
    assert any("Spread to all dev errors" in note for note in data["notes"])
    assert main(["ceiling", str(tags), "--dev-error", rate, "--spread", str(path)]) == 0
    assert "spread ≈" in capsys.readouterr().out


def test_ceiling_spread_refuses_tags_of_other_examples(capsys, tmp_path, text_project):
    path, _ = text_project
    table = TagTable(KINDS, (TagRow("not-an-error", frozenset({"sarcasm"}), True),))
    tags = tmp_path / "tags.csv"
    tags.write_text(write_tags_csv(table), encoding="utf-8")
    code, _, err = run_json(
        capsys, "ceiling", str(tags), "--dev-error", "10%", "--spread", str(path)
    )
    assert code == 2 and "'not-an-error') is not a dev error" in err
    code, _, err = run_json(
        capsys,
        "ceiling",
        "--count",
        "a=1",
        "--reviewed",
        "2",
        "--dev-error",
        "10%",
        "--spread",
        str(path),
    )
    assert code == 2 and "--spread needs a tags CSV" in err


def test_report_includes_the_spread_column(capsys, tmp_path, text_project):
    path, frame = text_project
    tags = write_tags(tmp_path, frame)
    out = tmp_path / "report.html"
    argv = ["report", str(path), "--labels", str(tags), "--spread", "--out", str(out)]
    code, _, err = run_json(capsys, *argv, "--section", "ceiling")
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert "spread to all dev errors" in html and "more precise" in html
    assert "Spread to all dev errors: a logistic regression" in html
    code, _, err = run_json(
        capsys,
        "report",
        "--labels",
        str(tags),
        "--dev-error",
        "10%",
        "--spread",
        "--out",
        str(tmp_path / "r.html"),
    )
    assert code == 2 and "--spread needs the predictions file" in err

"""CLI ``ceiling`` and ``errors``: JSON keys, exit codes, the sample → tags → ceiling loop."""

import csv
import json
import subprocess
import sys

import pytest

from strategy_app.cli import main
from tests.test_errors import write_predictions

SEED_COUNTS = [
    "--count",
    "blurry=190",
    "--count",
    "multiple objects=125",
    "--count",
    "unusual angle=90",
    "--count",
    "mislabeled=60",
    "--count",
    "rare class=35",
]


def run_json(capsys, *argv):
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def test_ceiling_from_counts_json(capsys):
    code, data, _ = run_json(
        capsys, "ceiling", *SEED_COUNTS, "--dev-error", "10%", "--reviewed", "500"
    )
    assert code == 0
    assert {"dev_error", "reviewed", "categories"} <= set(data)
    assert data["dev_error"] == 0.1 and data["reviewed"] == 500
    rows = data["categories"]
    assert [r["name"] for r in rows] == [
        "blurry",
        "multiple objects",
        "unusual angle",
        "mislabeled",
        "rare class",
    ]
    assert [r["error_after_fix"] for r in rows] == [0.062, 0.075, 0.082, 0.088, 0.093]
    for row in rows:
        assert set(row) >= {"name", "count", "share", "reduction", "error_after_fix", "interval"}
        assert row["interval"][0] <= row["share"] <= row["interval"][1]
    assert any("labels together" in a for a in data["advice"])


def test_ceiling_text_output(capsys):
    assert main(["ceiling", *SEED_COUNTS, "--dev-error", "0.1", "--reviewed", "500"]) == 0
    out = capsys.readouterr().out
    assert "blurry" in out and "6.2%" in out and "9.3%" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--count", "blurry=3", "--dev-error", "10%"], "--count needs --reviewed N"),
        (["--count", "blurry", "--dev-error", "10%", "--reviewed", "9"], "NAME=N"),
        (["--count", "blurry=x", "--dev-error", "10%", "--reviewed", "9"], "not a whole number"),
        (["--count", "blurry=30", "--dev-error", "10%", "--reviewed", "9"], "between 0 and"),
        (["--count", "blurry=3", "--dev-error", "10", "--reviewed", "9"], "above 1"),
        (["--dev-error", "10%"], "give a tags CSV"),
        (["--count", "a=1", "--count", "a=2", "--dev-error", "1%", "--reviewed", "9"], "twice"),
        (["missing.csv", "--dev-error", "10%"], "not found"),
    ],
)
def test_ceiling_bad_input_exit_2(capsys, argv, message):
    code, _, err = run_json(capsys, "ceiling", *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_ceiling_from_tags_csv(tmp_path, capsys):
    path = tmp_path / "tags.csv"
    path.write_text(
        "id,reviewed,blurry,mislabeled,notes\n"
        "a,1,1,0,\n"
        "b,0,1,1,tagged so reviewed\n"
        "c,1,0,0,none applies\n"
        "d,0,,,not reviewed yet\n",
        encoding="utf-8",
    )
    code, data, _ = run_json(
        capsys, "ceiling", str(path), "--dev-error", "8%", "--dev-errors", "400"
    )
    assert code == 0
    assert data["reviewed"] == 3 and data["untagged"] == 1
    counts = {r["name"]: r["count"] for r in data["categories"]}
    assert counts == {"blurry": 2, "mislabeled": 1}
    assert data["categories"][0]["estimated_dev_errors"]["value"] == pytest.approx(266.7)
    code, data, _ = run_json(capsys, "ceiling", str(path), "--dev-error", "8%", "--reviewed", "10")
    assert data["reviewed"] == 10 and data["untagged"] == 8


def test_ceiling_with_annotators_reports_agreement(tmp_path, capsys):
    path = tmp_path / "tags.csv"
    rows = ["id,annotator,blurry"]
    rows += [f"{i},ana,{int(i < 5)}" for i in range(10)]
    rows += [f"{i},ben,{int(i < 6)}" for i in range(10)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, data, _ = run_json(capsys, "ceiling", str(path), "--dev-error", "10%")
    assert code == 0
    (agreement,) = data["agreement"]
    assert agreement["method"] == "cohen" and agreement["kappa"] == pytest.approx(0.8)
    assert data["categories"][0]["count"] == 6  # ties count for the consensus
    code, data, _ = run_json(
        capsys, "ceiling", str(path), "--dev-error", "10%", "--annotator", "ana"
    )
    assert data["categories"][0]["count"] == 5 and "agreement" not in data


def test_errors_sample_to_tags_csv_to_ceiling(tmp_path, capsys):
    predictions, _ = write_predictions(tmp_path)
    out = tmp_path / "sample.csv"
    code, data, _ = run_json(
        capsys, "errors", str(predictions), "--n", "30", "--seed", "4", "--out", str(out)
    )
    assert code == 0
    assert data["n"] == 30 and len(data["sample_ids"]) == 30 and data["dev_errors"] > 30
    assert data["confusion_pairs"][0]["count"] >= data["confusion_pairs"][-1]["count"]
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == data["sample_ids"]
    assert {"y_true", "y_pred", "reviewed", "blurry/low quality", "notes"} <= set(rows[0])
    for i, row in enumerate(rows):  # a user tags a third of them blurry, reviews all
        row["reviewed"] = "1"
        row["blurry/low quality"] = "1" if i % 3 == 0 else "0"
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, ceiling, _ = run_json(
        capsys,
        "ceiling",
        str(out),
        "--dev-error",
        str(data["dev_error"]),
        "--dev-errors",
        str(data["dev_errors"]),
    )
    assert code == 0 and ceiling["reviewed"] == 30
    top = ceiling["categories"][0]
    assert (top["name"], top["count"]) == ("blurry/low quality", 10)
    assert top["error_after_fix"] == pytest.approx(data["dev_error"] * 2 / 3)


def test_cli_module_entry_point(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "strategy_app",
            "ceiling",
            "--count",
            "blurry=38",
            "--reviewed",
            "100",
            "--dev-error",
            "10%",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["categories"][0]["error_after_fix"] == 0.062

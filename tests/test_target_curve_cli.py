"""``learning-curve --target-pool``: the CLI contract of the target-data curve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strategy_app.cli import main
from strategy_app.curve.target_service import parse_target_curve
from tests.objectives.target import mismatched_frame

KNN = "tests.objectives.target:knn_target"


def run_cli(capsys, *argv: str) -> tuple[int, dict | str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in argv and code == 0 else out), err


@pytest.fixture
def designed(tmp_path: Path) -> Path:
    path = tmp_path / "mismatched.csv"
    mismatched_frame().to_csv(path, index=False)
    return path


def test_the_json_has_points_fit_forecasts_and_half_the_gap(
    designed: Path, tmp_path: Path, capsys
) -> None:
    code, result, _ = run_cli(
        capsys, "learning-curve", "--dataset", f"csv:{designed}", "--label", "label",
        "--target-pool", "domain=phone", "--objective", KNN, "--seeds", "2",
        "--data-dir", str(tmp_path), "--study", "cli", "--json",
    )  # fmt: skip
    assert code == 0
    assert sorted(result["points"][0]) == sorted(
        ["k", "n", "seeds", "train_error", "train_dev_error", "dev_error", "data_mismatch",
         "interval"]
    )  # fmt: skip
    assert [p["k"] for p in result["points"]] == [0, 12, 25, 50, 100, 200]
    assert [p["n"] for p in result["points"]] == [1000, 1012, 1025, 1050, 1100, 1200]
    assert set(result["fit"]) >= {"form", "a", "b", "c", "m", "noise"}
    assert sorted(result["forecasts"][0]) == sorted(
        ["multiple", "k", "dev_error", "interval", "data_mismatch", "gap_closed"]
    )
    assert result["kind"] == "target_data" and result["pool"]["rows"] == 200
    assert set(result["half_gap"]) == {"dev_error", "k", "interval", "measured"}
    assert result["failures"] == [] and result["warnings"] == []
    assert parse_target_curve(json.dumps(result).encode(), "curve.json") == result

    code, text, _ = run_cli(
        capsys, "learning-curve", "--dataset", f"csv:{designed}", "--label", "label",
        "--target-pool", "domain=phone", "--objective", KNN, "--seeds", "2",
        "--data-dir", str(tmp_path), "--study", "cli",
    )  # fmt: skip
    assert code == 0 and "target pool domain=phone: 200 rows" in text
    assert "fit: err(k) = a + b * (k + m)^(-c)" in text and "mismatch gap" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target-pool", "domain=tablet"], "no train rows with domain = tablet"),
        (["--target-pool", "domain="], "give a split name (e.g. pool) or COLUMN=VALUE"),
        (["--target-pool", "domain=phone", "--fractions", "1/400,1"], "fewer than the smallest"),
        (["--target-pool", "domain=phone", "--run", "a.csv", "10"], "not --run files"),
        (["--target-pool", "domain=phone", "--epochs", "0"], "--epochs must be at least 1"),
    ],
)
def test_bad_input_is_one_line(designed: Path, tmp_path: Path, capsys, extra, message) -> None:
    code, _, err = run_cli(
        capsys, "learning-curve", "--dataset", f"csv:{designed}", "--label", "label", *extra,
        "--data-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_no_dataset_is_one_line(capsys) -> None:
    code, _, err = run_cli(capsys, "learning-curve", "--target-pool", "pool", "--objective", KNN)
    assert code == 2 and "--target-pool needs --dataset csv:FILE" in err


def test_a_file_that_is_not_a_target_curve_is_one_line() -> None:
    from diagnostics.validation import InputError

    with pytest.raises(InputError, match=r"up\.json: not JSON"):
        parse_target_curve(b"\x89PNG", "up.json")
    with pytest.raises(InputError, match=r"up\.json: not a target-data curve"):
        parse_target_curve(b'{"points": [], "fit": null}', "up.json")

"""The ``diagnose`` command: exit codes, the JSON contract, text output, files and slices."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from strategy_app.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "predictions.csv"
REGRESSION = ROOT / "sample_data" / "regression.csv"
JSON_KEYS = {"metric", "levels", "gaps", "priority", "recommendations", "warnings"}
DONE_WHEN = ["--human", "1%", "--train", "8%", "--train-dev", "9%", "--dev", "12%", "--test", "13%"]


def run_json(capsys, *argv) -> dict:
    """Run ``diagnose ... --json`` in-process; exit code 0 and exactly one JSON object."""
    assert main(["diagnose", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out)


def run_refused(capsys, *argv) -> str:
    """Run a command that must be refused: exit 2, one line on stderr, nothing on stdout."""
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err
    return captured.err


def test_done_when_typed_levels(capsys):
    data = run_json(capsys, *DONE_WHEN)
    assert set(data) >= JSON_KEYS
    assert data["metric"] == "error"
    assert data["levels"] == {
        "human": 0.01, "train": 0.08, "train_dev": 0.09, "dev": 0.12, "test": 0.13
    }  # fmt: skip
    assert data["gaps"] == {
        "avoidable_bias": 0.07, "variance": 0.01, "data_mismatch": 0.03, "dev_overfitting": 0.01
    }  # fmt: skip
    assert data["priority"][0] == "avoidable_bias"
    assert data["priority"] == ["avoidable_bias", "data_mismatch", "variance", "dev_overfitting"]
    assert [r["gap"] for r in data["recommendations"]] == data["priority"]
    assert all(r["actions"] for r in data["recommendations"])
    assert "intervals" not in data  # typed levels carry no intervals


def test_fractions_equal_percent(capsys):
    percent = run_json(capsys, *DONE_WHEN)
    fractions = run_json(
        capsys, "--human", "0.01", "--train", "0.08", "--train-dev", "0.09", "--dev", "0.12",
        "--test", "0.13",
    )  # fmt: skip
    assert percent == fractions


def test_text_output(capsys):
    assert main(["diagnose", *DONE_WHEN]) == 0
    out = capsys.readouterr().out
    assert "Waterfall (error)" in out
    assert "avoidable bias" in out and "+7.0%" in out
    assert "fix this first" in out
    assert "Action plan" in out


def test_no_train_dev_warns(capsys):
    data = run_json(capsys, "--human", "1%", "--train", "8%", "--dev", "10%")
    assert data["levels"]["train_dev"] is None
    assert data["gaps"]["data_mismatch"] is None
    assert data["gaps"]["variance"] == pytest.approx(0.02)
    assert any("train-dev" in w for w in data["warnings"])


def test_several_humans_best_is_proxy(capsys):
    data = run_json(
        capsys, "--human", "typical=3%", "--human", "expert=0.7%", "--train", "5%", "--dev", "6%"
    )
    assert data["levels"]["human"] == pytest.approx(0.007)
    assert data["gaps"]["avoidable_bias"] == pytest.approx(0.043)


def test_regression_levels_in_unit(capsys):
    data = run_json(
        capsys, "--metric", "mae", "--unit", "₹", "--human", "8", "--train", "12",
        "--train-dev", "15", "--dev", "28", "--test", "30",
    )  # fmt: skip
    assert data["metric"] == "mae"
    assert data["priority"][0] == "data_mismatch"
    assert data["gaps"]["data_mismatch"] == 13


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["diagnose", "--train", "8"], "--train: 8 is above 1"),
        (["diagnose", "--dev", "lots"], "--dev"),
        (["diagnose", "--human", "1%", "--train", "-3%"], "--train"),
        (["diagnose", "missing.csv"], "not found"),
        (["diagnose", "--slice", "device", "--train", "1%"], "--slice needs a predictions file"),
        (["diagnose", "--metric", "accuracy"], "invalid choice"),
        (["diagnose", "--nonsense"], "unrecognized arguments"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    assert needle in run_refused(capsys, *argv)


def test_file_and_typed_levels_together_refused(capsys):
    err = run_refused(capsys, "diagnose", str(SAMPLE), "--dev", "5%")
    assert "not both" in err


def test_bad_file_exits_2(capsys, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("split,y_true,y_pred\nholdout,1,1\n")
    err = run_refused(capsys, "diagnose", str(path))
    assert "unknown split 'holdout'" in err


def test_missing_slice_column_exits_2(capsys):
    err = run_refused(capsys, "diagnose", str(SAMPLE), "--slice", "browser")
    assert "'browser'" in err and "columns found" in err


def test_sample_predictions(capsys):
    data = run_json(capsys, str(SAMPLE), "--human", "0.5%")
    assert JSON_KEYS | {"intervals"} <= set(data)
    assert data["metric"] == "error"
    levels = data["levels"]
    assert levels["train"] < levels["train_dev"] < levels["dev"]
    assert data["priority"][0] == "data_mismatch"
    assert {"avoidable_bias", "variance"} <= set(data["priority"])
    for split, (low, high) in data["intervals"].items():
        assert low <= levels[split] <= high


def test_sample_predictions_text(capsys):
    assert main(["diagnose", str(SAMPLE), "--human", "0.5%"]) == 0
    out = capsys.readouterr().out
    assert "95% interval" in out
    assert "data mismatch" in out.split("fix this first")[0].splitlines()[-1]


def test_slice(capsys):
    data = run_json(capsys, str(SAMPLE), "--human", "0.5%", "--slice", "device")
    assert data["slices"]["column"] == "device"
    values = {v["value"]: v for v in data["slices"]["values"]}
    assert set(values) == {"web", "phone"}
    assert values["web"]["levels"]["dev"] is None
    assert values["phone"]["levels"]["train"] is None
    assert set(values["phone"]) >= JSON_KEYS


def test_slice_text(capsys):
    assert main(["diagnose", str(REGRESSION), "--unit", "₹", "--slice", "city"]) == 0
    out = capsys.readouterr().out
    assert "Waterfall (mae, ₹)" in out
    assert "Slices by city (largest gap first)" in out
    assert "Mumbai:" in out


def test_regression_file(capsys):
    data = run_json(capsys, str(REGRESSION), "--unit", "₹")
    assert data["metric"] == "mae"
    assert data["unit"] == "₹"
    assert data["priority"][0] == "data_mismatch"
    rmse = run_json(capsys, str(REGRESSION), "--metric", "rmse")
    assert rmse["metric"] == "rmse"
    assert rmse["levels"]["dev"] > data["levels"]["dev"]


def test_module_entry_point_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "strategy_app", "diagnose", *DONE_WHEN, "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["gaps"]["avoidable_bias"] == 0.07
    refused = subprocess.run(
        [sys.executable, "-m", "strategy_app", "diagnose", "--train", "8"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr


def test_one_dev_row_has_no_interval_and_no_priority(capsys, tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text(
        "split,y_true,y_pred\ntrain,10.5,11.5\ntrain,20.5,20.0\ntrain,3.5,3.5\ndev,10.5,14.0\n"
    )
    data = run_json(capsys, str(path), "--human", "0.1")
    assert data["metric"] == "mae"
    assert data["intervals"]["dev"] is None  # was [3.5, 3.5]: noise-free on one row
    assert data["gap_intervals"]["variance"] is None
    assert "variance" not in data["priority"]
    assert data["interval_methods"]["levels"].startswith("Student t")
    assert any("dev has one example" in w for w in data["warnings"])
    assert main(["diagnose", str(path), "--human", "0.1"]) == 0
    assert "one example: no interval" in capsys.readouterr().out


def test_gap_intervals_in_json(capsys):
    data = run_json(capsys, str(SAMPLE), "--human", "0.5%")
    assert "gap_noise" not in data
    for name, value in data["gaps"].items():
        if value is None:
            assert data["gap_intervals"][name] is None
            continue
        low, high = data["gap_intervals"][name]
        assert low <= value <= high
        assert (name in data["priority"]) == (low > 0)
    assert set(data["interval_methods"]["gaps"]) == set(data["priority"]) | {
        n for n, v in data["gaps"].items() if v is not None
    }


@pytest.mark.parametrize("command", ["diagnose", "compare"])
def test_human_levels_of_one_name_refused_alike_everywhere(capsys, command):
    """One rule (diagnostics.waterfall.check_human_levels) for the CLI, the API and the page:
    names are compared case-insensitively."""
    import diagnostics

    sample = str(Path(__file__).resolve().parents[1] / "sample_data" / "predictions.csv")
    files = [sample] if command == "diagnose" else [sample, sample]
    argv = [command, *files, "--human", "expert=1%", "--human", "Expert=2%"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'Expert' is named twice (as 'expert' too)" in err
    with pytest.raises(diagnostics.InputError, match="named twice"):
        diagnostics.human_levels({"expert": 0.01, "EXPERT": 0.02})
    assert [h.name for h in diagnostics.human_levels(["1%", "2%"])] == ["human 1", "human 2"]

"""``learning-curve``: the CLI contract, measured runs and predictions files alone."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from strategy_app.cli import main
from strategy_app.curve.service import forecast_line
from tests.objectives import models

FRACTIONS = "1/16,1/8,1/4,1/2,1"


def run_cli(capsys, *argv: str) -> tuple[int, dict | str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in argv and code == 0 else out), err


def test_an_objective_gives_points_fit_and_forecasts(tmp_path: Path, capsys) -> None:
    code, result, _ = run_cli(
        capsys, "learning-curve", "--objective", "tests.objectives.models:ridge_curve",
        "--params", '{"C": 1.0}', "--fractions", FRACTIONS, "--seeds", "2",
        "--data-dir", str(tmp_path), "--study", "cli", "--json",
    )  # fmt: skip
    assert code == 0
    assert sorted(result["points"][0]) == sorted(
        ["fraction", "n", "seeds", "train_error", "dev_error", "interval"]
    )
    assert [p["n"] for p in result["points"]] == [56, 112, 224, 449, 898]
    assert result["fit"]["form"] == "err(n) = a + b * n^(-c)"
    assert {"a", "b", "c"} <= set(result["fit"])
    assert [f["n"] for f in result["forecasts"]] == [1796, 3592, 8980]
    assert all(f["interval"][0] <= f["dev_error"] <= f["interval"][1] for f in result["forecasts"])

    # the same runs as predictions files with their train sizes: the same fit
    runs = []
    for run in result["runs"]:
        context = SimpleNamespace(train_fraction=run["fraction"], seed=run["seed"])
        path = tmp_path / f"v-{run['fraction']}-{run['seed']}.csv"
        models.ridge_curve({"C": 1.0}, context).to_csv(path, index=False)
        runs += ["--run", str(path), str(run["n"])]
    code, uploads, _ = run_cli(capsys, "learning-curve", *runs, "--json")
    assert code == 0
    assert uploads["points"] == [{**p, "fraction": None} for p in result["points"]]
    for key in ("a", "b", "c"):
        assert uploads["fit"][key] == pytest.approx(result["fit"][key], rel=1e-9)
    assert uploads["forecasts"] == result["forecasts"]


def test_the_text_names_the_fit_and_the_verdict(tmp_path: Path, capsys) -> None:
    code, text, _ = run_cli(
        capsys, "learning-curve", "--dataset", "digits", "--fractions", "1/8,1/4,1/2,1",
        "--seeds", "2", "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    assert "fit: err(n) = a + b * n^(-c) with a=" in text
    assert "10× the data (n=8990)" in text


def test_bad_input_is_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.csv"
    models.ridge_curve({"C": 1.0}, SimpleNamespace(train_fraction=1.0, seed=0)).to_csv(path)
    code, result, _ = run_cli(capsys, "learning-curve", "--run", str(path), "900", "--json")
    assert code == 0 and result["fit"] is None  # too few points: the point, and the line
    assert result["problem"].startswith("too few points to fit a learning curve: 1 runs")
    assert len(result["points"]) == 1
    for argv, message in [
        (["--run", str(path), "many"], "the train size must be a count"),
        (["--run", str(path), "0"], "must be a positive count"),
        (["--dataset", "digits", "--params", "[1]"], "--params: give a JSON object"),
        (["--dataset", "digits", "--fractions", "1/0"], "'1/0' is not a number or a/b"),
        (["--dataset", "digits", "--run", str(path), "9"], "not both"),
        ([], "give --dataset or --objective"),
    ]:
        assert main(["learning-curve", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_the_plan_line_carries_the_forecast() -> None:
    curve = {
        "fit": {"a": 0.05},
        "forecasts": [
            {"multiple": 2.0, "dev_error": 0.091, "interval": [0.078, 0.106]},
            {"multiple": 10.0, "dev_error": 0.07, "interval": [0.059, 0.083]},
        ],
    }
    assert forecast_line(curve) == (
        "about 2× the data for dev error 9.1% (7.8%–10.6%); 10×: 7.0% (5.9%–8.3%)"
    )
    assert forecast_line({**curve, "flattened": True}).endswith("more data will not close the gap")
    assert forecast_line({"fit": None, "forecasts": []}) is None


def synthetic_curve(path: Path) -> dict:
    from diagnostics.learning_curve import CurvePoint, fit_curve

    points = [
        CurvePoint(
            n=n, dev_error=0.05 + 2 * n**-0.5 + w, train_error=0.02, seed=s, fraction=n / 800
        )
        for n in (50, 100, 200, 400, 800)
        for s, w in enumerate((-0.003, 0.003))
    ]
    curve = fit_curve(points).to_dict()
    path.write_text(json.dumps(curve))
    return curve


def test_the_report_has_the_curve_and_the_plan_carries_the_forecast(tmp_path: Path, capsys) -> None:
    from diagnostics.learning_curve import forecast_line

    curve = synthetic_curve(tmp_path / "curve.json")
    predictions = Path(__file__).resolve().parents[1] / "sample_data" / "predictions.csv"
    out = tmp_path / "report.json"
    code = main(["report", str(predictions), "--learning-curve", str(tmp_path / "curve.json"),
                 "--format", "json", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert "curve" in data["sections"]
    assert data["learning_curve"]["forecasts"] == curve["forecasts"]
    html_out = tmp_path / "report.html"
    assert main(["report", str(predictions), "--learning-curve", str(tmp_path / "curve.json"),
                 "--out", str(html_out)]) == 0  # fmt: skip
    html = html_out.read_text()
    assert "Learning curve" in html and "<svg" in html
    line = forecast_line(curve)
    assert line and line.startswith("about 2× the data for dev error ")
    assert f"Get more training data — {line}".replace("×", "×") in html
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    capsys.readouterr()
    assert main(["report", str(predictions), "--learning-curve", str(bad), "--out",
                 str(tmp_path / "r2.html")]) == 2  # fmt: skip
    assert "not a learning curve" in capsys.readouterr().err


SCRIPT = """
import argparse, sys
from types import SimpleNamespace
sys.path.insert(0, {root!r})
from tests.objectives import models
parser = argparse.ArgumentParser()
for flag in ("--fraction", "--seed", "--C", "--out", "--k"):
    parser.add_argument(flag)
args = parser.parse_args()
assert args.k == "0", args.k  # a learning curve's run adds no target rows
context = SimpleNamespace(train_fraction=float(args.fraction), seed=int(args.seed))
models.ridge_curve({{"C": float(args.C)}}, context).to_csv(args.out, index=False)
"""


def test_a_training_script_through_command_gives_the_objectives_points(
    tmp_path: Path, capsys
) -> None:
    import shlex
    import sys

    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(root=str(Path(__file__).resolve().parent.parent)))
    command = shlex.join([sys.executable, str(script)]) + (
        " --fraction {train_fraction} --seed {seed} --C {C} --k {target_k} --out {predictions}"
    )
    common = ("--params", '{"C": 1.0}', "--fractions", "1/4,1/2,1", "--seeds", "2")
    code, by_script, err = run_cli(
        capsys, "learning-curve", "--command", command, *common, "--trial-timeout", "120",
        "--data-dir", str(tmp_path), "--study", "script", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert by_script["objective"].startswith("command: ")
    code, in_process, _ = run_cli(
        capsys, "learning-curve", "--objective", "tests.objectives.models:ridge_curve", *common,
        "--data-dir", str(tmp_path), "--study", "function", "--json",
    )  # fmt: skip
    assert code == 0
    assert by_script["points"] == in_process["points"]
    assert by_script["forecasts"] == in_process["forecasts"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--command", "x {predictions}", "--objective", "a.b:c"), "--objective or --command"),
        (("--objective", "a.b:c", "--trial-timeout", "5"), "--trial-timeout goes with --command"),
        (("--command", "x {predictions} {nope}"), "{nope} is neither a parameter"),
        (("--dataset", "digits", "--epochs", "0"), "--epochs must be at least 1"),
    ],
)
def test_command_flags_refused_in_one_line(tmp_path: Path, capsys, flags, message) -> None:
    code, _, err = run_cli(capsys, "learning-curve", *flags, "--data-dir", str(tmp_path))
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1

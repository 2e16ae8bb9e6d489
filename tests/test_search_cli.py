"""The ``search`` and ``lr-find`` commands: JSON contracts and bad input (exit 2)."""

import json

import pandas as pd
import pytest

from strategy_app.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_json_contract_with_progress_on_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path))
    code, out, err = _run(
        capsys, "search", "--trials", "3", "--epochs", "1", "--study", "cli", "--json"
    )
    assert code == 0, err
    data = json.loads(out)  # exactly one JSON object on stdout
    assert {"study", "storage", "n_complete", "n_pruned", "best", "trials", "predictions"} <= set(
        data
    )
    assert {"params", "value", "dev_accuracy"} <= set(data["best"])
    assert [set(t) >= {"number", "params", "value", "state"} for t in data["trials"]] == [True] * 3
    assert data["storage"].endswith("optuna-journal.log") and data["study"] == "cli"
    assert "round 1: 3/3 finished" in err
    code, out, _ = _run(capsys, "diagnose", data["predictions"], "--json")
    assert code == 0 and json.loads(out)["levels"]["test"] is not None


def test_lr_find_json_contract(capsys):
    code, out, err = _run(capsys, "lr-find", "--steps", "40", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"suggested_lr", "method", "lrs", "losses"} <= set(data)
    assert data["method"] == "valley" and len(data["lrs"]) == len(data["losses"])


@pytest.fixture
def table(tmp_path):
    frame = pd.DataFrame(
        {"a": range(40), "b": [0.5] * 40, "colour": ["red"] * 40, "target": [0, 1] * 20}
    )
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


def _space(tmp_path, name, space):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(space))
    return str(path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
        (["--dataset", "csv:{table}", "--label", "nope"], "no label column 'nope'"),
        (["--dataset", "csv:{table}", "--label", "target"], "non-numeric feature columns colour"),
        (["--dataset", "csv:{table}"], "--label"),
        (["--dataset", "csv:{missing}", "--label", "target"], "no such file"),
        (["--space", "{empty}"], "search space is empty"),
        (["--space", "{reversed}"], "low 0.1 is above high 0.001"),
        (["--space", "{zero}"], "log range must stay above 0"),
        (["--sampler", "grid"], "'lr' is continuous"),
        (["--trials", "0"], "--trials must be at least 1"),
        (["--rounds", "2", "--promote", "-1"], "--promote must be 0 or more"),
        (["--sampler", "bayes"], "invalid choice"),
    ],
)
def test_bad_search_input_exits_2(tmp_path, monkeypatch, capsys, table, argv, message):
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path))
    files = {
        "table": table,
        "missing": tmp_path / "missing.csv",
        "empty": _space(tmp_path, "empty", {}),
        "reversed": _space(
            tmp_path, "reversed", {"lr": {"type": "log_uniform", "low": 0.1, "high": 1e-3}}
        ),
        "zero": _space(tmp_path, "zero", {"lr": {"type": "log_uniform", "low": 0, "high": 0.1}}),
    }
    argv = [a.format(**files) for a in argv]
    budget = [] if "--trials" in argv else ["--trials", "1"]
    code, out, err = _run(capsys, "search", *argv, *budget, "--epochs", "1")
    assert code == 2
    assert out == ""
    assert message in err and err.count("\n") == 1


def test_bad_lr_find_input_exits_2(capsys):
    code, _, err = _run(capsys, "lr-find", "--dataset", "mnist")
    assert code == 2 and "unknown dataset" in err

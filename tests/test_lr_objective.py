"""The LR range test on the user's objective (issue 26): an objective that exposes its model
and data through its ``lr_range(params, context)`` hook is tested like the built-in MLP, by the
same code; one without the hook, or a hook that returns the wrong thing, is refused in one line.
Real torch models throughout: a user's CNN, the built-in CNN on PNGs, the examples' CNN."""

import json
import math

import pytest
from streamlit.testing.v1 import AppTest

from diagnostics.lr_finder import LR_HOOK, find_lr, objective_lr_test
from diagnostics.search.builtin import BuiltinMLP
from diagnostics.search.datasets import load_dataset
from diagnostics.search.training import TrainConfig
from diagnostics.validation import InputError
from strategy_app.cli import main
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from tests.objectives import models
from tests.test_search_cnn import _image_dataset

LR_KEYS = {
    "suggested_lr", "method", "lrs", "losses", "suggestions", "loss_min_lr", "rule_of_thumb",
    "stopped",
}  # fmt: skip


def test_a_python_objective_with_the_hook_gets_its_range_test_and_its_model_back():
    result = objective_lr_test(models.cnn, {"channels": 4}, device="cpu", seed=1)
    assert result.lrs[0] == pytest.approx(1e-7)
    # one pass of its 14 batches is under 100 steps: at least 100 are run (or it diverged)
    assert len(result.lrs) == 100 or "its best" in result.stopped
    assert 1e-7 < result.suggested_lr < 10 and math.isfinite(result.losses[0])
    again = objective_lr_test("tests.objectives.models:cnn", {"channels": 4}, seed=1)
    assert again.lrs == result.lrs and again.losses == result.losses  # seeded, the same


def test_the_builtin_mlp_runs_through_the_same_hook():
    digits = load_dataset("digits")
    config = TrainConfig.from_params({"optimizer": "adam", "batch_size": 8}, seed=2)
    assert callable(getattr(BuiltinMLP(digits, 1), LR_HOOK))
    result = find_lr(digits, config, device="cpu")
    one_pass = math.ceil(len(digits.y["train"]) / 8)
    assert one_pass > 100
    assert len(result.lrs) == one_pass or "its best" in result.stopped
    direct = objective_lr_test(
        BuiltinMLP(digits, 1), {"optimizer": "adam", "batch_size": 8}, device="cpu", seed=2
    )
    assert direct.lrs == result.lrs and direct.losses == result.losses


def test_the_examples_cnn_offers_the_hook():
    from examples import sample_cnn

    params = {"channels": 8, "synthesize": True, "batch_size": 64}
    result = objective_lr_test("examples.sample_cnn:objective", params, num_steps=25)
    assert len(result.lrs) <= 25 and result.suggested_lr > 0
    model, _, _, batches = sample_cnn.lr_range(params, _Context())
    first = [len(b[1]) for b in batches]
    assert len(first) == len(batches) and sum(first) == 2 * len(batches.labels)  # + synthesized
    assert sum(len(b[1]) for b in batches) == sum(first)  # iterated again: a fresh pass
    assert sum(p.numel() for p in model.parameters()) > 0


class _Context:
    device, seed, train_fraction, dataset = "cpu", 0, 0.5, None


def test_lr_find_on_the_builtin_cnn_keeps_its_json_keys(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path))
    dataset = _image_dataset(tmp_path / "project")
    argv = ["lr-find", "--objective", "builtin:cnn", "--dataset", f"csv:{dataset}"]
    code = main([*argv, "--params", '{"channels": 8, "batch_size": 16}', "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    assert set(result) == LR_KEYS | {"objective"} and result["objective"] == "builtin:cnn"
    assert len(result["lrs"]) == len(result["losses"]) >= 3


@pytest.mark.parametrize(
    ("returns", "says"),
    [
        ("three", r"must return \(model, optimizer, loss_fn, batches\).*not a tuple of 3$"),
        ("model", "its model is a str$"),
        ("optimizer", "its optimizer is a str$"),
        ("loss", "its loss_fn is a int, not callable$"),
        ("batches", "its batches are a int, not iterable$"),
        ("raise", r"lr_range failed \(ValueError: no data here\)$"),
        ("generator", "batches ran out after 1: give batches it can iterate again"),
        ("shape", "could not train on what lr_range returned"),
    ],
)
def test_a_hook_that_returns_the_wrong_thing_is_one_line(returns, says):
    with pytest.raises(InputError, match=says) as caught:
        objective_lr_test("tests.objectives.models:hooked", {"returns": returns})
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("tests.objectives.models:hooked: ")


def test_an_objective_without_the_hook_is_told_what_to_add(capsys):
    code = main(["lr-find", "--objective", "tests.objectives.models:logistic"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.endswith(
        "the objective tests.objectives.models:logistic offers no LR range test: give it an "
        "lr_range(params, context) hook returning (model, optimizer, loss_fn, batches) "
        "(see diagnostics.lr_finder)"
    )
    assert main(["lr-find", "--objective", "tests.objectives.models:cnn", "--params", "[1]"]) == 2
    assert "--params: give a JSON object" in capsys.readouterr().err


def test_the_lr_tab_runs_a_configured_model_with_the_hook_and_names_one_without(data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "objectives.toml").write_text(models.LR_OBJECTIVES)
    store = open_store()
    pid = store.projects.create("lr").id
    at = AppTest.from_file(str(PAGES_DIR / "search.py"), default_timeout=60).run()
    at.selectbox(key=f"lrf_{pid}_model").set_value("linear").run()
    assert not at.exception
    [info] = [i.value for i in at.info if "LR range test" in i.value]
    assert "tests.objectives.models:logistic offers no LR range test" in info
    assert not _has_button(at, f"lrf_{pid}_run")
    at.selectbox(key=f"lrf_{pid}_model").set_value("torch").run()
    at.text_input(key=f"lrf_{pid}_params").set_value('{"channels": 4}').run()
    at.button(key=f"lrf_{pid}_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    metric = next(m for m in at.metric if "Suggested learning rate" in m.label)
    assert metric.label.endswith("for torch")
    saved = store.search_state.load(pid).lr_finder
    assert saved["objective"] == "torch" and float(metric.value) == pytest.approx(
        saved["suggested_lr"], rel=0.01
    )
    assert not _has_button(at, f"lrf_{pid}_to_panda")  # the MLP's buttons are the MLP's only
    store.close()


def _has_button(at: AppTest, key: str) -> bool:
    return any(b.key == key for b in at.button)

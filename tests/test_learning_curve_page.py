"""AppTest: Diagnose fits a learning curve from versions with their train sizes; the plan's
more-data line then carries the forecast and the curve is drawn beside it."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
from streamlit.testing.v1 import AppTest

from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from tests.objectives import models

SIZES = {1 / 8: 112, 1 / 4: 224, 1 / 2: 449, 1.0: 898}


def test_versions_with_train_sizes_give_the_curve_and_the_forecast(data_dir, tmp_path) -> None:
    store = open_store()
    project = store.projects.create("curve")
    for fraction in sorted(SIZES, reverse=True):  # the current version: the smallest
        for seed in (0, 1) if fraction < 1 else (0,):
            context = SimpleNamespace(train_fraction=fraction, seed=seed)
            frame: pd.DataFrame = models.ridge_curve({"C": 1.0}, context)
            path = tmp_path / f"v{fraction}-{seed}.csv"
            frame.to_csv(path, index=False)
            accept_upload(
                store, project.id, path.name, path.read_bytes(), LOCAL_USER, label=f"{fraction:g}"
            )
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    assert not at.exception
    for version in store.versions.list(project.id):
        size = SIZES[float(version.name.split(" · ")[1])]
        at.number_input(key=f"curve_size_{project.id}_{version.id}").set_value(size)
    at.button(key=f"curve_fit_{project.id}").click().run()
    assert not at.exception and not at.error
    text = "\n".join(m.value for m in at.markdown)
    assert "Get more training data — about 2× the data for dev error " in text
    assert any("the data" in c.value for c in at.caption)
    curve = at.session_state[f"_learning_curve_{project.id}"]
    assert [p["n"] for p in curve["points"]] == list(SIZES.values())
    assert curve["fit"]["form"] == "err(n) = a + b * n^(-c)"


def test_too_few_sizes_is_one_line_and_nothing_saved_changes(data_dir, tmp_path) -> None:
    store = open_store()
    project = store.projects.create("few")
    context = SimpleNamespace(train_fraction=1.0, seed=0)
    path = tmp_path / "v.csv"
    models.ridge_curve({"C": 1.0}, context).to_csv(path, index=False)
    accept_upload(store, project.id, "v.csv", path.read_bytes(), LOCAL_USER, label="full")
    before = store.versions.list(project.id)
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    (version,) = before
    at.number_input(key=f"curve_size_{project.id}_{version.id}").set_value(898)
    at.button(key=f"curve_fit_{project.id}").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "too few points to fit a learning curve: 1 runs at 1 sizes; give at least 4 runs at 3 "
        "or more training sizes"
    ]
    # the typed size is saved with the version (audited); nothing else of it changes
    assert store.versions.list(project.id) == [replace(version, train_size=898)]
    (entry,) = [c for c in store.audit.history(project.id) if c.action == "train size"]
    assert (entry.target, entry.detail) == (version.name, {"train_size": [None, 898]})

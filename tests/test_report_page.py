"""The Report page offers every section the project has content for, from the pages' services."""

from __future__ import annotations

import json
from dataclasses import replace

from streamlit.testing.v1 import AppTest

from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload
from strategy_app.errors.service import draw_sample
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from strategy_app.store.labels import LabelEdit
from strategy_app.versions.service import read_version
from tests.conftest import write_predictions

TIMEOUT = 120
SECTIONS = ("splits", "ceiling", "search")


def finished_search(store, project_id: int, folder) -> None:
    """A real two-trial search, recorded for the project as the Search page records one."""
    from diagnostics.search.rounds import run_search
    from diagnostics.search.settings import SearchSettings
    from diagnostics.search.space import SearchSpace
    from diagnostics.search.storage import resolve_storage

    storage = resolve_storage(None, store.folder)
    out_dir = folder / "run"
    settings = SearchSettings(
        study="s1", storage=storage, trials=2, epochs=1, sampler="random", pruner="none",
        out_dir=str(out_dir), data_dir=str(store.folder),
    )  # fmt: skip
    result = run_search(settings)
    (out_dir / "result.json").write_text(json.dumps(result))
    record = {
        "dataset": "digits", "sampler": "random", "pruner": "none", "trials": 2, "epochs": 1,
        "rounds": None, "workers": 1, "seed": 0, "space": SearchSpace.default().to_dict(),
    }  # fmt: skip
    store.search_runs.add(project_id, "caviar", "s1", storage, record, str(out_dir))


def test_split_plan_ceiling_and_search_are_offered_and_rendered(data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("model")
    predictions = write_predictions(tmp_path / "p.csv")
    accept_upload(store, project.id, "p.csv", predictions.read_bytes(), LOCAL_USER)
    store.split_plans.save(project.id, replace(store.split_plans.load(project.id), size="10000"))
    sample = draw_sample(
        store,
        project.id,
        read_version(store, store.diagnose_state.load(project.id)),
        10,
        seed=0,
        user=LOCAL_USER,
    )
    blurry = store.labels.categories(project.id)[0]
    store.labels.save_edit(project.id, LabelEdit(sample.ids[0], "", add={blurry.id}), 0)
    finished_search(store, project.id, tmp_path)
    store.close()

    at = AppTest.from_file(str(PAGES_DIR / "report.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    for section in SECTIONS:
        box = at.checkbox(key=f"report_section_{project.id}_{section}")
        assert not box.disabled and box.value, section
    html = next(e.proto.srcdoc for e in at.get("iframe"))
    assert "Split plan" in html and "10,000 examples" in html
    assert "Error analysis: ceilings" in html and "blurry/low quality" in html
    assert "Hyperparameter search" in html and "Study s1: 2 trials complete" in html


def test_a_project_with_only_a_diagnosis_keeps_the_other_sections_disabled(data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("model")
    data = write_predictions(tmp_path / "p.csv").read_bytes()
    accept_upload(store, project.id, "p.csv", data, LOCAL_USER)
    store.close()
    at = AppTest.from_file(str(PAGES_DIR / "report.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    for section in SECTIONS:
        assert at.checkbox(key=f"report_section_{project.id}_{section}").disabled
    assert not at.checkbox(key=f"report_section_{project.id}_waterfall").disabled

"""The Search page's widgets: space editor, caviar runs, panda runs, LR finder, grid vs random.

Every computation and process lives in :mod:`strategy_app.search.service` and ``diagnostics``;
this module only lays out widgets and polls (``st.fragment(run_every=...)``) while a run works.
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from diagnostics.charts import (
    grid_random_chart,
    importance_chart,
    lr_finder_chart,
    pareto_chart,
    search_history_chart,
    search_params_chart,
    training_curves_chart,
)
from diagnostics.search.budget import compare_grid_random
from diagnostics.search.choices import BUILTIN_SAMPLERS, OPTIMIZERS
from diagnostics.search.cnn import CNN
from diagnostics.search.space import (
    ROW_COLUMNS,
    TYPES,
    SearchSpace,
    space_from_rows,
    space_rows,
)
from diagnostics.search.training import PARAM_NAMES
from diagnostics.validation import InputError
from diagnostics.waterfall import GAP_LABELS
from strategy_app.search import service as search_jobs
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.page import switch_to
from strategy_app.shell.signin import current_user
from strategy_app.shell.uploads import handle_once
from strategy_app.store import SearchRun, Store
from strategy_app.store.projects import PROJECT_DATASET

POLL_S = 2.0
DATASETS = ("digits", "classification")
DATASET_NAMES = {
    "project": "this project's dataset",
    "digits": "digits (scikit-learn, split here)",
    "classification": "synthetic classification",
}
TIERS = {
    1: "1 · most important",
    2: "2 · important",
    3: "3 · less important",
    4: "4 · keep defaults",
}
TIER_BY_LABEL = {label: tier for tier, label in TIERS.items()}
LIVE = ("running", "stopping")
ELSEWHERE_NOTE = (
    "Another server of the team started this run, and this server cannot see its process: it "
    "may still be running there, or it ended there without a result. Its trials show as they "
    "reach the shared database; its outputs arrive here when it finishes."
)
CONTINUE_THERE = (
    "Another server of the team trained this model and keeps its checkpoint: continue it there."
)
TRIAL_COLUMNS = {
    "epochs_run": st.column_config.NumberColumn("epochs run"),
    "duration_s": st.column_config.NumberColumn("seconds", format="%.1f"),
    "lr": st.column_config.NumberColumn("learning rate", format="%.2e"),
    "momentum": st.column_config.NumberColumn("momentum β", format="%.4f"),
    "hidden_units": st.column_config.NumberColumn("hidden units"),
    "batch_size": st.column_config.NumberColumn("batch size"),
    "layers": st.column_config.NumberColumn("hidden layers"),
    "lr_decay": st.column_config.TextColumn("LR decay"),
    "weight_decay": st.column_config.NumberColumn("L2 (weight decay)", format="%.1e"),
    "warmup_epochs": st.column_config.NumberColumn("warm-up epochs"),
    "batch_norm": st.column_config.CheckboxColumn("batch norm"),
}


# ---------------------------------------------------------------- the space as a table


def space_frame(space: SearchSpace) -> pd.DataFrame:
    """The space as the editor's table: one row per parameter, tiers in words."""
    rows = [{**row, "tier": TIERS[row["tier"]]} for row in space_rows(space)]
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS)).astype({"low": float, "high": float})


def space_of_frame(frame: pd.DataFrame) -> SearchSpace:
    """The edited table back to a validated space; bad cells raise InputError."""
    rows = [
        {**row, "tier": TIER_BY_LABEL.get(row.get("tier"), 2)} for row in frame.to_dict("records")
    ]
    return space_from_rows(rows, PARAM_NAMES)


def _rows_key(project_id: int) -> str:
    return f"search_space_rows_{project_id}"


def _editor_key(project_id: int) -> str:
    return f"search_space_editor_{project_id}"


def saved_space(store: Store, project_id: int) -> SearchSpace:
    """The project's saved search space (the default until the user edits it)."""
    saved = store.search_state.load(project_id).space
    return SearchSpace.from_dict(saved, PARAM_NAMES) if saved else SearchSpace.default()


def set_space(store: Store, project_id: int, space: SearchSpace) -> None:
    """Save ``space`` (an editor's) and show it in the editor (a callback: reset, LR finder
    suggestion)."""
    search_jobs.save_space(store, project_id, space, current_user())
    st.session_state[_rows_key(project_id)] = space_frame(space)
    st.session_state.pop(_editor_key(project_id), None)


def space_editor(store: Store, project_id: int) -> SearchSpace | None:
    """The editable tiered space, saved per project as it changes; returns the valid space,
    or None after showing the error (the project keeps its last valid space)."""
    key = _rows_key(project_id)
    if key not in st.session_state:
        st.session_state[key] = space_frame(saved_space(store, project_id))
    st.markdown(
        ":material/low_priority: **Tiers** rank the parameters by how much they matter: 1 (the "
        "learning rate) most, 4 (e.g. Adam's β1, β2, ε) least. Search tier 1 first; log types "
        "sample evenly across decades."
    )
    edited = st.data_editor(
        st.session_state[key],
        key=_editor_key(project_id),
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "parameter": st.column_config.SelectboxColumn(options=sorted(PARAM_NAMES)),
            "tier": st.column_config.SelectboxColumn(options=list(TIERS.values())),
            "type": st.column_config.SelectboxColumn(options=list(TYPES)),
            "low": st.column_config.NumberColumn(format="%.4g"),
            "high": st.column_config.NumberColumn(format="%.4g"),
            "log": st.column_config.CheckboxColumn(
                help="ticked for the log types (always log scale); for int, tick to sample "
                "on a log scale"
            ),
            "choices / grid points": st.column_config.TextColumn(
                help="comma-separated: the values of a choice, or the grid points of a range"
            ),
        },
    )
    st.button(
        "Reset to the default space",
        key=f"search_space_reset_{project_id}",
        on_click=set_space,
        args=(store, project_id, SearchSpace.default()),
    )
    try:
        space = space_of_frame(edited)
    except InputError as exc:
        st.error(
            f"{escape_markdown(exc)}. The project keeps its last valid space.",
            icon=":material/error:",
        )
        return None
    if space.to_dict() != store.search_state.load(project_id).space:
        search_jobs.save_space(store, project_id, space, current_user())
    tier4 = [p.name for p in space.params if p.tier == 4]
    if tier4:
        st.warning(
            f"Budget goes to tier-4 parameters ({', '.join(tier4)}): their defaults are "
            "usually fine (e.g. Adam's β1, β2, ε). Fix them and spend the trials on the "
            "learning rate and other tier-1/2 parameters.",
            icon=":material/savings:",
        )
    return space


# ---------------------------------------------------------------- grid vs random


def budget_panel(project_id: int, space: SearchSpace, trials: int) -> None:
    """Grid vs random for this space and budget, drawn."""
    axes = max(1, space.varying())
    width = st.slider(
        "Width of the sweet spot of the most important parameter (share of its range)",
        min_value=1,
        max_value=50,
        value=10,
        format="%d%%",
        key=f"search_sweet_spot_{project_id}",
    )
    comparison = compare_grid_random(trials, axes, width / 100)
    st.altair_chart(grid_random_chart(comparison.to_dict()))
    st.caption(
        f"With {trials} trials over {axes} parameters a grid tries only "
        f"{comparison.grid_values} values of each (⌊{trials}^(1/{axes})⌋) and hits the sweet "
        f"spot with probability 1 − (1 − {width}%)^{comparison.grid_values} = "
        f"{comparison.grid_hit:.0%}; random search tries {trials} distinct values of every "
        f"parameter: {comparison.random_hit:.0%}. Use random (or TPE), not grid."
    )


# ---------------------------------------------------------------- caviar runs


def dataset_name(dataset: str) -> str:
    """A dataset choice in the page's words."""
    return DATASET_NAMES.get(dataset, dataset)


def dataset_choices(store: Store, project_id: int) -> list[str]:
    """The datasets a search can train on: the project's own first, when it holds one."""
    own = [PROJECT_DATASET] if store.projects.dataset(project_id) else []
    return [*own, *DATASETS]


def dataset_section(store: Store, project_id: int) -> None:
    """The project's dataset (a features file: id, split, label, numeric features): which one
    it holds, and an upload to add or replace it (checked as the search will read it)."""
    found = store.projects.dataset(project_id)
    if found is not None:
        st.caption(
            f":material/dataset: This project's dataset: **{found[0]}** · searches on it keep "
            "its splits and ids."
        )
    uploaded = st.file_uploader(
        "Project dataset (CSV or Parquet: id, split, label, numeric feature columns)",
        type=["csv", "parquet", "pq"],
        key=f"dataset_upload_{project_id}",
    )
    if uploaded is None:
        return

    def accept(name: str, data: bytes) -> str:
        summary = search_jobs.accept_dataset(store, project_id, name, data, current_user())
        # the dataset selects (drawn below in this run) now point at the new dataset, so an
        # immediate Start trains on it
        for key in ("search_dataset_{}", "panda_{}_dataset", "lrf_{}_dataset"):
            st.session_state[key.format(project_id)] = PROJECT_DATASET
        return f"Saved {summary}"

    refusal = handle_once(uploaded, "search datasets", accept)
    if refusal:
        st.error(f"{refusal}\n\nThe project keeps its dataset as it was.")


def caviar_form(store: Store, project_id: int, space: SearchSpace | None) -> None:
    """The search settings, the grid-vs-random figure, and the Start button."""
    k = project_id
    left, middle, right = st.columns(3)
    try:
        configured = search_jobs.model_objectives()
    except InputError as exc:
        st.error(escape_markdown(exc), icon=":material/error:")
        configured = {}
    model = left.selectbox(
        "Model",
        [BUILTIN_MODEL, *configured],
        format_func=lambda name: MODEL_NAMES.get(name, name),
        key=f"search_model_{k}",
        help="The built-in MLP (numeric features), the built-in CNN (a dataset whose input "
        "column names image files), or a model an admin configured for this server "
        f"({search_jobs.OBJECTIVES_FILE}): its own code, scored by the waterfall per trial.",
    )
    optimize = "dev_error"
    if model != BUILTIN_MODEL:
        entry = configured[model]
        space = entry.space
        optimize = str(
            left.selectbox(
                "Minimise", list(GOALS), format_func=GOALS.__getitem__, key=f"search_optimize_{k}"
            )
        )
        st.caption(
            f":material/code: {escape_markdown(model)} runs "
            f"{escape_markdown(search_jobs.objective_label(entry))} over "
            + ", ".join(escape_markdown(p.name) for p in entry.space.params)
        )
    dataset = left.selectbox(
        "Dataset",
        dataset_choices(store, project_id),
        format_func=dataset_name,
        key=f"search_dataset_{k}",
        help="This project's dataset: the search trains on exactly its splits and ids, so the "
        "best model compares paired with the project's versions.",
    )
    sampler = left.selectbox("Sampler", BUILTIN_SAMPLERS, key=f"search_sampler_{k}")
    pruning = left.toggle(
        "Prune bad trials early (median)", value=True, key=f"search_prune_{k}", wrap=True
    )
    workers = middle.number_input(
        "Workers (processes)", 1, max(1, os.cpu_count() or 1), 1, key=f"search_workers_{k}"
    )
    rounds = middle.number_input(
        "Coarse-to-fine rounds", 1, 4, 2, key=f"search_rounds_{k}",
        help="1: one plain study. More: each round narrows around the best and doubles epochs.",
    )  # fmt: skip
    trials = right.number_input("Trials per round", 1, 500, 20, key=f"search_trials_{k}")
    epochs = right.number_input("Epochs per trial (round 1)", 1, 200, 5, key=f"search_epochs_{k}")
    mlflow = right.text_input(
        "MLflow tracking URI (optional)",
        key=f"search_mlflow_{k}",
        placeholder="sqlite:///data/mlflow.db",
        help="Log every trial to MLflow, one experiment per study: sqlite:, http(s): or "
        "postgresql:. Needs the [tracking] extra; empty: no tracking.",
    )
    name = middle.text_input("Run name (optional)", key=f"search_name_{k}")
    if space is not None:
        with st.expander("Grid vs random for this budget", expanded=False):
            budget_panel(project_id, space, int(trials * rounds))
    running = [
        r.name
        for r in store.search_runs.list(project_id)
        if r.kind == "caviar" and search_jobs.is_running(r)
    ]
    started = st.button(
        "Start search",
        type="primary",
        key=f"search_start_{k}",
        disabled=space is None or bool(running),
        icon=":material/play_arrow:",
        help=f"{running[0]} is running: stop it or wait for it to finish" if running else None,
    )
    if started and space is not None:
        request = search_jobs.CaviarRequest(
            dataset=dataset,
            sampler=sampler,
            pruner="median" if pruning else "none",
            trials=int(trials),
            epochs=int(epochs),
            rounds=int(rounds) if rounds > 1 else None,
            workers=int(workers),
            space=space,
            mlflow=mlflow,
            objective=None if model == BUILTIN_MODEL else model,
            optimize=optimize,
        )
        try:
            run = search_jobs.start_search(store, project_id, request, name, user=current_user())
        except InputError as exc:
            st.error(escape_markdown(exc), icon=":material/error:")
        else:
            st.session_state[f"search_run_{k}_caviar"] = run.id
            st.toast(f"Started {escape_markdown(run.name)} in the background")
            st.rerun()  # Start is disabled from now on


BUILTIN_MODEL = "builtin"

MODEL_NAMES = {BUILTIN_MODEL: "built-in MLP", CNN: "built-in CNN (images)"}  # others: their name
GOALS = {
    "dev_error": "dev error",
    "dev_error,data_mismatch": "dev error and data mismatch (Pareto front)",
    "dev_error,time": "dev error and training time (Pareto front)",
    "data_mismatch": "the data-mismatch gap",
    "variance": "the variance gap",
}
LEVEL_COLUMNS = {"train": "train", "train_dev": "train-dev", "dev": "dev", "test": "test"}


def pick_run(store: Store, project_id: int, kind: str) -> SearchRun | None:
    """A selector over the project's runs of ``kind`` (newest first)."""
    runs = [r for r in store.search_runs.list(project_id) if r.kind == kind]
    if not runs:
        return None
    key = f"search_run_{project_id}_{kind}"
    ids = [r.id for r in runs]
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    names = {r.id: r.name for r in runs}
    chosen = st.selectbox("Run", ids, format_func=lambda run_id: names[run_id], key=key)
    return next(r for r in runs if r.id == chosen)


def caviar_runs(store: Store, project_id: int) -> None:
    """The chosen run, polled while it works."""
    run = pick_run(store, project_id, "caviar")
    if run is None:
        st.info("No search yet: set the space and budget above and press **Start search**.")
        return
    live = search_jobs.is_running(run)
    st.fragment(_caviar_body, run_every=POLL_S if live else None)(store, project_id, run.id, live)


def _polled_run(store: Store, run_id: int) -> SearchRun | None:
    """The run a fragment polls, or None after saying it is gone (its project was deleted)."""
    run = store.search_runs.get(run_id)
    if run is None:
        st.warning("This run is gone: its project was deleted.", icon=":material/delete:")
    return run


def _caviar_body(store: Store, project_id: int, run_id: int, was_live: bool) -> None:
    run = _polled_run(store, run_id)
    if run is None:
        return
    status = search_jobs.search_status(run)
    live = status["state"] in LIVE
    if was_live and not live:
        st.rerun()  # the whole page: stop polling, show the finished run
    best = status["best_value"]
    scored = bool(run.settings.get("objective"))
    st.progress(
        min(1.0, status["done"] / max(1, status["planned"])),
        text=f"**{status['state']}** · round {status['round']}/{status['rounds']} · "
        f"{status['done']}/{status['planned']} trials finished"
        + (f" · best trial's dev error {best:.1%}" if best is not None else ""),
    )
    target = search_jobs.mlflow_target(run)
    if target is not None:
        uri, experiments = target
        st.caption(
            f":material/monitoring: Trials logged to MLflow at {escape_markdown(uri)}, "
            f"experiment{'s' * (len(experiments) > 1)} "
            + ", ".join(escape_markdown(name) for name in experiments)
        )
    buttons = st.container(horizontal=True)  # side by side, each as wide as its label
    if live and buttons.button("Stop", key=f"search_stop_{run_id}", icon=":material/stop:"):
        try:
            search_jobs.stop_search(store, run, current_user())
            st.toast("Stop requested: workers finish their current epoch")
        except InputError as exc:
            st.error(escape_markdown(exc))
    if status["state"] in ("stopped", "failed") and buttons.button(
        "Resume", key=f"search_resume_{run_id}", icon=":material/replay:"
    ):
        try:
            search_jobs.resume_search(store, run, current_user())
            st.rerun()
        except InputError as exc:
            st.error(escape_markdown(exc))
    result = status["result"]
    if result and buttons.button(
        "Diagnose the best model", key=f"search_diagnose_{run_id}", type="primary"
    ):
        try:
            name = search_jobs.send_best_to_diagnose(store, project_id, run, current_user())
        except InputError as exc:
            st.error(escape_markdown(exc))
        else:
            switch_to("diagnose", f"Added {name} as the project's new version.")
    if status["state"] == search_jobs.ELSEWHERE:
        st.info(ELSEWHERE_NOTE, icon=":material/dns:")
    if status["state"] == "failed":
        st.error("The search process ended without a result. Its last lines:")
        st.code(search_jobs.log_tail(run) or "(no output)")
    if scored:
        _scored_trials(store, project_id, run, result)
        return
    if result:
        best = result["best"]
        as_trial = (
            f" (dev error {best['value']:.1%} as a trial)" if best.get("value") is not None else ""
        )
        st.success(
            f"Best: trial {best['trial']} of {best['study']}{as_trial}, retrained from scratch "
            f"for {best['epochs']} epoch{'s' * (best['epochs'] != 1)}: dev accuracy "
            f"{best['dev_accuracy']:.1%}, test accuracy {best['test_accuracy']:.1%} (the "
            "retrained winner only, evaluated on test once)."
        )
        st.dataframe(pd.DataFrame([best["params"]]), hide_index=True, column_config=TRIAL_COLUMNS)
    rows = search_jobs.scored_trials(run)
    if not rows:
        st.caption("Waiting for the first trial…")
        return
    trials_table(rows)
    points = search_jobs.trial_points(rows)
    if any(p["value"] is not None for p in points):
        st.altair_chart(search_history_chart({"trials": points, "direction": "minimize"}))
        st.altair_chart(search_params_chart(points, search_jobs.round_spaces(run)))
    importances = search_jobs.run_importances(run)
    if importances:
        st.altair_chart(importance_chart(importances))


def trials_table(rows: list[dict]) -> None:
    """Every trial of a run, whatever its objective: its waterfall (levels and gaps, as
    Diagnose names them) first, then its parameters, epochs, seconds and error (one line)."""
    rounds = len({r["round"] for r in rows}) > 1
    table = pd.DataFrame(
        [
            {
                **({"round": r["round"]} if rounds else {}),
                "trial": r["number"],
                "state": r["state"],
                **{label: (r["levels"] or {}).get(name) for name, label in LEVEL_COLUMNS.items()},
                **{label: (r["gaps"] or {}).get(name) for name, label in GAP_LABELS.items()},
                **r["params"],
                "epochs_run": r["epochs_run"],
                "duration_s": r["duration_s"],
                "error": r["error"],
            }
            for r in rows
        ]
    )
    percent = st.column_config.NumberColumn(format="percent")
    waterfall = {label: percent for label in [*LEVEL_COLUMNS.values(), *GAP_LABELS.values()]}
    st.dataframe(table, hide_index=True, height=240, column_config={**TRIAL_COLUMNS, **waterfall})


def _scored_trials(store: Store, project_id: int, run: SearchRun, result: dict | None) -> None:
    """A configured model's run: every trial's waterfall, and any kept trial made a version
    after it is shown beside the current one."""
    if result:
        best = result["best"]
        levels = ", ".join(
            f"{LEVEL_COLUMNS[k]} {v:.1%}"
            for k, v in best["levels"].items()
            if k in LEVEL_COLUMNS
            if v is not None
        )
        st.success(f"Best: trial {best['trial']} ({levels}).")
        removed = result.get("removed") or {}
        if removed.get("files"):
            front = result.get("pareto")
            holders = (
                f"the {len(front)} trials on the Pareto front"
                if front
                else f"the best {len(result['finalists'])} trials"
            )
            st.caption(
                f"Predictions kept for {holders}; "
                f"{removed['files']} others removed ({removed['bytes'] / 1e6:.1f} MB freed)."
            )
    rows = search_jobs.scored_trials(run)
    if not rows:
        st.caption("Waiting for the first trial…")
        return
    trials_table(rows)
    if result and result.get("pareto"):
        targets = result["goal"]["targets"]
        st.altair_chart(pareto_chart(rows, targets, result["pareto"]), width="stretch")
    kept = [r["number"] for r in rows if r["predictions"] and r["state"] == "complete"]
    if not result or not kept:
        return
    trial = st.selectbox(
        "Trial to keep",
        kept,
        key=f"search_pick_{run.id}",
        help="Trials whose predictions are kept: the best few. See one beside the current "
        "version (paired on shared ids), then make it the current version if you choose.",
    )
    show_keep = st.container(horizontal=True)
    if show_keep.button("Compare with the current version", key=f"search_beside_{run.id}"):
        try:
            beside = search_jobs.trial_beside_current(store, project_id, run, int(trial))
        except InputError as exc:
            st.error(escape_markdown(exc))
        else:
            (st.warning if beside["worse"] else st.info)(escape_markdown(beside["summary"]))
    if show_keep.button("Make it the current version", key=f"search_keep_{run.id}"):
        try:
            name = search_jobs.trial_to_version(store, project_id, run, int(trial), current_user())
        except InputError as exc:
            st.error(escape_markdown(exc))
        else:
            st.success(f"Added {escape_markdown(name)} as the project's new version.")


# ---------------------------------------------------------------- panda runs


def _model_inputs(prefix: str, project_id: int, columns) -> dict:
    """Optimizer and model widgets shared by the panda run and the LR finder."""
    k = f"{prefix}_{project_id}"
    return {
        "optimizer": columns[0].selectbox("Optimizer", OPTIMIZERS, key=f"{k}_optimizer"),
        "momentum": columns[0].number_input(
            "Momentum β", 0.0, 0.999, 0.9, format="%.3f", key=f"{k}_momentum"
        ),
        "batch_size": int(columns[1].number_input("Batch size", 1, 4096, 64, key=f"{k}_batch")),
        "hidden_units": int(
            columns[1].number_input("Hidden units", 1, 2048, 128, key=f"{k}_hidden")
        ),
        "layers": int(columns[2].number_input("Hidden layers", 0, 8, 2, key=f"{k}_layers")),
    }


def panda_key(project_id: int) -> str:
    """Session key of the panda learning-rate input (the LR finder can fill it)."""
    return f"panda_{project_id}_lr"


def panda_section(store: Store, project_id: int) -> None:
    """Start one model; watch its curves; stop, change settings, continue."""
    panda_runs = [r for r in store.search_runs.list(project_id) if r.kind == "panda"]
    with st.expander("New panda run", expanded=not panda_runs):
        columns = st.columns(3)
        dataset = columns[2].selectbox(
            "Dataset",
            dataset_choices(store, project_id),
            format_func=dataset_name,
            key=f"panda_{project_id}_dataset",
        )
        params = _model_inputs("panda", project_id, columns)
        lr_key = panda_key(project_id)
        st.session_state.setdefault(lr_key, 0.01)
        params["lr"] = columns[0].number_input(
            "Learning rate", 1e-6, 10.0, format="%.2e", key=lr_key
        )
        epochs = columns[2].number_input("Epochs", 1, 500, 20, key=f"panda_{project_id}_epochs")
        if st.button("Start training", key=f"panda_{project_id}_start", type="primary"):
            try:
                started = search_jobs.start_panda(
                    store, project_id, dataset, params, int(epochs), user=current_user()
                )
            except InputError as exc:
                st.error(escape_markdown(exc))
            else:
                st.session_state[f"search_run_{project_id}_panda"] = started.id
    run = pick_run(store, project_id, "panda")
    if run is None:
        return
    live = search_jobs.is_running(run)
    st.fragment(_panda_body, run_every=POLL_S if live else None)(store, run.id, live)


def _panda_body(store: Store, run_id: int, was_live: bool) -> None:
    run = _polled_run(store, run_id)
    if run is None:
        return
    status = search_jobs.panda_status(run)
    live = status["state"] in LIVE
    if was_live and not live:
        st.rerun()
    history = status["history"]
    epochs = history["epochs"]
    planned = (history.get("config") or {}).get("epochs") or run.settings["epochs"]
    st.progress(
        min(1.0, len(epochs) / max(1, planned)),
        text=f"**{status['state']}** · epoch {len(epochs)}/{planned}"
        + (f" · dev accuracy {epochs[-1]['dev_accuracy']:.1%}" if epochs else ""),
    )
    if epochs:
        st.altair_chart(training_curves_chart(history))
    if live:
        if st.button("Stop after this epoch", key=f"panda_stop_{run_id}", icon=":material/stop:"):
            try:
                search_jobs.stop_panda(store, run, current_user())
            except InputError as exc:
                st.error(escape_markdown(exc))
        return
    if status["state"] == "failed":
        st.code(search_jobs.log_tail(run) or "(no output)")
    if search_jobs.started_elsewhere(run):  # its checkpoint is on that server
        elsewhere = status["state"] == search_jobs.ELSEWHERE
        st.info(ELSEWHERE_NOTE if elsewhere else CONTINUE_THERE, icon=":material/dns:")
        return
    params = run.settings["params"]
    with st.form(f"panda_continue_{run_id}"):
        st.markdown("**Continue from the last checkpoint** (changes are marked on the curves)")
        columns = st.columns(5)
        fields = (
            ("lr", "Learning rate", 1e-6, 10.0, 0.01, "%.2e"),
            ("momentum", "Momentum β", 0.0, 0.999, 0.9, "%.3f"),
            ("weight_decay", "L2 (weight decay)", 0.0, 1.0, 0.0, "%.1e"),
        )
        changed = {
            name: column.number_input(
                label, low, high, float(params.get(name, default)), format=fmt
            )
            for column, (name, label, low, high, default, fmt) in zip(columns, fields, strict=False)
        }
        changed["batch_size"] = int(
            columns[3].number_input("Batch size", 1, 4096, int(params.get("batch_size", 64)))
        )
        more = columns[4].number_input("More epochs", 1, 500, 10)
        if st.form_submit_button("Continue training", type="primary"):
            try:
                search_jobs.continue_panda(
                    store, run, {**params, **changed}, int(more), current_user()
                )
            except InputError as exc:
                st.error(escape_markdown(exc))
            else:
                st.rerun()


# ---------------------------------------------------------------- LR finder


def lr_finder_panel(store: Store, project_id: int) -> None:
    """Run the range test inline (its result saved with the project) on the built-in MLP or a
    model whose code has the ``lr_range`` hook; show the curve; for the MLP, push the
    suggestion into the space or the panda run."""
    k = f"lrf_{project_id}"
    try:
        models = [BUILTIN_MODEL, *search_jobs.model_objectives()]
    except InputError as exc:
        st.error(escape_markdown(exc), icon=":material/error:")
        models = [BUILTIN_MODEL]
    columns = st.columns(3)
    model = columns[0].selectbox(
        "Model", models, format_func=lambda name: MODEL_NAMES.get(name, name), key=f"{k}_model"
    )
    dataset = columns[2].selectbox(
        "Dataset",
        dataset_choices(store, project_id),
        format_func=dataset_name,
        key=f"{k}_dataset",
    )
    refusal, params = None, {}
    if model == BUILTIN_MODEL:
        params = _model_inputs("lrf", project_id, columns)
    else:
        refusal = search_jobs.lr_test_refusal(model)
        text = columns[1].text_input(
            "Parameters (JSON)",
            "{}",
            key=f"{k}_params",
            help='The model\'s parameters for the test, e.g. {"channels": 16}; its own '
            "defaults for those left out.",
        )
        try:
            params = search_jobs.parse_params(text, "Parameters (JSON)")
        except InputError as exc:
            refusal = str(exc)
    if refusal:
        st.info(escape_markdown(refusal), icon=":material/info:")
    elif st.button("Run the range test", key=f"{k}_run", type="primary"):
        with st.spinner("LR range test…"):
            chosen = None if model == BUILTIN_MODEL else model
            try:
                search_jobs.run_lr_finder(
                    store, project_id, dataset, params, current_user(), model=chosen
                )
            except InputError as exc:
                st.error(escape_markdown(exc))
    result = store.search_state.load(project_id).lr_finder
    if result is None:
        st.caption("The LR grows from 1e-7 to 10 over one pass while the loss is watched.")
        return
    lr = result["suggested_lr"]
    low, high = result["rule_of_thumb"]
    tested = result.get("objective")
    st.metric(
        f"Suggested learning rate ({result['method']}) for "
        + escape_markdown(MODEL_NAMES.get(tested or BUILTIN_MODEL, tested)),
        f"{lr:.2e}",
    )
    st.altair_chart(lr_finder_chart(result))
    st.caption(
        ", ".join(f"{m} {v:.2e}" for m, v in result["suggestions"].items())
        + f" · rule of thumb {low:.2e} … {high:.2e} · stopped: {result['stopped']}"
    )
    search_low, search_high = min(lr, low) / 3, max(lr, high) * 3
    if tested:
        st.caption(
            f"To search it, set lr's range to {search_low:.1e} … {search_high:.1e} in "
            f"{escape_markdown(tested)}'s space."
        )
        return
    left, right = st.columns(2)
    left.button(
        f"Search LR in {search_low:.1e} … {search_high:.1e}",
        key=f"{k}_to_space",
        on_click=_lr_into_space,
        args=(store, project_id, search_low, search_high),
    )
    right.button(
        f"Use {lr:.2e} in the panda run",
        key=f"{k}_to_panda",
        on_click=st.session_state.__setitem__,
        args=(panda_key(project_id), lr),
    )


def _lr_into_space(store: Store, project_id: int, low: float, high: float) -> None:
    lr = {"type": "log_uniform", "low": low, "high": high, "tier": 1}
    set_space(store, project_id, saved_space(store, project_id).with_param("lr", lr))

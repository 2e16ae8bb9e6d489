"""The Error analysis page's widgets: sample, categories, the tagging table, ceilings, CSV.

Everything on the page belongs to the project's current model version (chosen in the sidebar):
its sample of that version's dev errors, its tags, and the ceiling at that version's dev error;
a newer version can carry an older one's tags over on the examples it still gets wrong, and
says what it fixed of them.

All logic lives in :mod:`strategy_app.errors.service`; this module only lays it out. The tagging
table saves in its ``on_change`` callback, so an edit is in the database before the rerun that
shows it. Each rerun reads the version's labels once (:func:`load_labels`), and the rarely used
panels (redraw, categories, detail, confusion pairs, agreement, CSV) are built only while the
user has one open: an expander or tab would build its contents on every rerun.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from diagnostics.ceiling import Ceiling
from diagnostics.charts import ceiling_chart
from diagnostics.compare_rows import category_lines
from diagnostics.embeddings import display_text
from diagnostics.errors import DEFAULT_SAMPLE_SIZE
from diagnostics.tags import PRESET_CATEGORIES
from diagnostics.validation import InputError
from strategy_app.errors import service as labeling
from strategy_app.errors import similar_ui
from strategy_app.errors import suggestions_ui as evidence_ui
from strategy_app.errors.evidence import suggested_texts
from strategy_app.errors.service import (
    CARRIED,
    ID,
    INPUT,
    NOTES,
    REVIEWED,
    SCORE,
    SUGGESTED,
    TEXT,
    Y_PRED,
    Y_TRUE,
    View,
    confusion_pairs_of,
    dev_error_summary_of,
    full_image,
    images_here,
    thumbnail_url,
)
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.page import (
    open_page,
    page_link,
    require_project,
)
from strategy_app.shell.signin import current_user
from strategy_app.shell.uploads import handle_once
from strategy_app.store import ModelVersion, Store
from strategy_app.store.diagnose_state import DiagnoseState
from strategy_app.store.labels import LabelSnapshot
from strategy_app.store.suggestions import StoredSuggestion
from strategy_app.versions.service import read_required, read_version

VIEW_KEY = "label_view_{}"
NOTICES_KEY = "label_notices_{}"
DETAIL_KEY = "label_detail_{}"
GENERATION_KEY = "_label_view_generation"
SAVED_KEY = "_label_rows_saved"
PANEL_KEY = "label_panel_{}"
ANNOTATOR_KEY = "annotator_{}"
SUGGESTIONS = "Suggestions"
SIMILAR = "Similar"
ANNOTATOR, SAMPLE, CATEGORIES, DETAIL, PAIRS, AGREEMENT, CSV = (
    "Annotator",
    "Redraw sample",
    "Categories",
    "Detail view",
    "Confusion pairs",
    "Agreement",
    "Import / export",
)
PANELS = (DETAIL, SIMILAR, SUGGESTIONS, CATEGORIES, ANNOTATOR, SAMPLE, PAIRS, AGREEMENT, CSV)

GRID_ROWS = 20  # the tagging sheet shows about this many rows at once
ROW_PX = 35
SHORT_LABEL = 12
MIN_WORD = 4
# Shorter names on the tool bar's buttons, so that its nine fit two rows at 1024 px.
PANEL_LABELS = {SAMPLE: "Sample", PAIRS: "Pairs", CSV: "CSV"}
PANEL_ICONS = {
    ANNOTATOR: ":material/person:",
    SUGGESTIONS: ":material/tips_and_updates:",
    SIMILAR: ":material/scatter_plot:",
    DETAIL: ":material/zoom_in:",
    CATEGORIES: ":material/label:",
    SAMPLE: ":material/casino:",
    PAIRS: ":material/compare_arrows:",
    AGREEMENT: ":material/group:",
    CSV: ":material/import_export:",
}


def load_labels(store: Store, version: ModelVersion) -> LabelSnapshot:
    """The version's labels, read in one session; the sample's examples are reused from the
    session's view while it shows the same draw."""
    view: View | None = st.session_state.get(VIEW_KEY.format(version.id))
    return store.labels.snapshot(version.id, known=None if view is None else view.sample)


def panel_choice(version: ModelVersion) -> str | None:
    """The panel the user opened from the tool bar (None: all closed)."""
    return st.segmented_control(
        "Tools",
        PANELS,
        format_func=lambda name: f"{PANEL_ICONS[name]} {PANEL_LABELS.get(name, name)}",
        key=PANEL_KEY.format(version.id),
        label_visibility="collapsed",
    )


def invalidate(project_id: int) -> None:
    """Make the next run rebuild the tagging table from the database."""
    view = st.session_state.get(VIEW_KEY.format(project_id))
    if view is not None:
        view.stale = True


def annotator_name(version: ModelVersion) -> str:
    """The annotator's name (kept for the session; empty for a single unnamed annotator).

    Typed in the Annotator panel; remembered while the panel is closed. With sign-in on, it is
    the signed-in user's email, never typed.
    """
    user = current_user()
    if user.email is not None:  # signed in
        return user.email
    typed = st.session_state.get(ANNOTATOR_KEY.format(version.project_id))
    remembered = f"_{ANNOTATOR_KEY.format(version.project_id)}"
    if typed is not None:
        st.session_state[remembered] = typed.strip()
    return st.session_state.get(remembered, "")


def annotator_input(version: ModelVersion) -> None:
    """The annotator's name field (the Annotator panel), or the signed-in account's."""
    user = current_user()
    if user.signed_in:
        st.text(f"You tag as {user.email} (your account); agreement compares annotators' tags.")
        return
    key = ANNOTATOR_KEY.format(version.project_id)
    if key not in st.session_state:
        st.session_state[key] = annotator_name(version)
    st.text_input(
        "Annotator",
        key=key,
        placeholder="your name (optional; needed when several people tag)",
        help="Each annotator's tags are kept apart; the ceiling uses their consensus and the "
        "agreement table compares them.",
    )


def sample_controls(store: Store, version: ModelVersion, labels: LabelSnapshot) -> None:
    """Draw (or redraw, after confirmation) the sample of misclassified dev examples."""
    pid = version.id
    sample = labels.sample
    if sample is None:
        st.subheader("Draw a sample", anchor=False)
    else:
        st.caption(
            f"Sample: {sample.size} errors, seed {sample.seed}"
            + (", stratified by confusion pair" if sample.stratified else "")
        )
    size_col, seed_col, strat_col = st.columns(3, vertical_alignment="bottom")
    size = size_col.number_input(
        "Errors to review", 1, 10_000, DEFAULT_SAMPLE_SIZE, key=f"sample_n_{pid}"
    )
    seed = seed_col.number_input("Seed", 0, 2**31 - 1, 0, key=f"sample_seed_{pid}")
    stratify = strat_col.checkbox(
        "Stratify by confusion pair",
        key=f"sample_stratify_{pid}",
        help="Spread the draws over the true → predicted pairs in proportion to their size.",
    )
    within = evidence_ui.draw_from(store, version)
    allowed = True
    if sample is not None and labels.has_reviews:
        allowed = st.checkbox(
            "Replace the current sample and delete every tag saved on it",
            key=f"confirm_redraw_{pid}",
        )
    if st.button("Draw sample", key=f"draw_{pid}", disabled=not allowed, icon=":material/casino:"):
        try:
            predictions = read_required(store, version, "drawing a sample")
            drawn = labeling.draw_sample(
                store,
                pid,
                predictions,
                int(size),
                seed=int(seed),
                stratify=stratify,
                user=current_user(),
                within=within,
            )
        except InputError as exc:
            st.error(escape_markdown(exc))
            return
        st.session_state.pop(f"confirm_redraw_{pid}", None)
        st.toast(f"Drew {drawn.size} dev errors", icon=":material/check:")
        st.rerun()


def confusion_table(pairs: pd.DataFrame) -> None:
    """The confusion pairs of the dev errors (:func:`~diagnostics.errors.confusion_pairs`)."""
    st.caption(f"{len(pairs)} confusion pairs (true → predicted), the 50 largest shown.")
    shown = pairs.head(50).rename(
        columns={"y_true": "true", "y_pred": "predicted", "share": "share of errors"}
    )
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "share of errors": st.column_config.ProgressColumn(
                format="percent", min_value=0.0, max_value=1.0
            )
        },
    )


def images_upload(store: Store, version: ModelVersion, view: View) -> None:
    """When the inputs are image paths without images: upload a zip of them (checked safely)."""
    pid = version.id
    if not view.images or view.images_root is not None:
        return
    st.info(
        "The inputs are image paths: upload a zip of those images, or name their folder in "
        "object storage, to see thumbnails."
    )
    uploaded = st.file_uploader(
        "Images (a zip of the PNG/JPEG files the `input` column names)",
        type=["zip"],
        key=f"images_zip_{pid}",
    )
    images_location(store, version)
    if uploaded is None:
        return

    def accept(name: str, data: bytes) -> str:
        count = labeling.accept_images_zip(store, version.project_id, name, data, current_user())
        invalidate(pid)
        return f"Extracted {count} images"

    # this run built the sheet without the images: rerun once to show their thumbnails
    refusal = handle_once(uploaded, "image zips", accept, rerun=True)
    if refusal:
        st.error(refusal)


def images_location(store: Store, version: ModelVersion) -> None:
    """…or the images' folder in object storage, read in place (the path ``input`` names is
    relative to it)."""
    pid = version.id
    with st.form(f"images_location_{pid}", border=False):
        location = st.text_input(
            "…or their folder in object storage",
            placeholder="s3://bucket/images/",
            key=f"images_location_text_{pid}",
        )
        if not st.form_submit_button("Use this folder") or not location.strip():
            return

    def use() -> None:
        labeling.use_images_location(store, version.project_id, location, current_user())
        invalidate(pid)

    _run(use, "Reading the folder's images in place")


def category_controls(store: Store, version: ModelVersion, labels: LabelSnapshot) -> None:
    """Add, rename, merge and remove categories (removal asks first)."""
    pid = version.id
    categories = labels.categories
    by_id = {c.id: c.name for c in categories}
    st.caption(
        f"{len(categories)} categories. Presets: " + ", ".join(PRESET_CATEGORIES) + ". Add "
        "what your errors share; tags follow a rename and a merge."
    )
    add, rename, merge, remove = st.tabs(["Add", "Rename", "Merge", "Remove"])
    with add:
        name = st.text_input("New category", key=f"cat_new_{pid}")
        if st.button("Add category", key=f"cat_add_{pid}", icon=":material/add:"):
            _run(
                lambda: labeling.add_category(store, pid, name, current_user()),
                f"Added '{name.strip()}'",
            )
    if not categories:
        return
    with rename:
        chosen = st.selectbox(
            "Category",
            list(by_id),
            format_func=lambda category_id: by_id[category_id],
            key=f"cat_rn_{pid}",
        )
        new = st.text_input("New name", key=f"cat_rn_name_{pid}")
        if st.button("Rename", key=f"cat_rn_go_{pid}"):
            _run(
                lambda: labeling.rename_category(store, pid, chosen, new, current_user()), "Renamed"
            )
    with merge:
        sources = st.multiselect(
            "Merge these",
            list(by_id),
            format_func=lambda category_id: by_id[category_id],
            key=f"cat_mg_src_{pid}",
        )
        target = st.selectbox(
            "into",
            list(by_id),
            format_func=lambda category_id: by_id[category_id],
            key=f"cat_mg_dst_{pid}",
        )
        if st.button("Merge", key=f"cat_mg_go_{pid}"):
            _run(
                lambda: labeling.merge_categories(store, pid, sources, target, current_user()),
                "Merged",
            )
    with remove:
        gone = st.selectbox(
            "Category",
            list(by_id),
            format_func=lambda category_id: by_id[category_id],
            key=f"cat_rm_{pid}",
        )
        sure = st.checkbox(
            f"Delete '{by_id.get(gone)}' and every tag in it", key=f"cat_rm_ok_{pid}"
        )
        if st.button("Remove", key=f"cat_rm_go_{pid}", disabled=not sure):
            _run(lambda: labeling.remove_category(store, pid, gone, current_user()), "Removed")


def _run(action, done: str) -> None:
    try:
        action()
    except InputError as exc:
        st.error(escape_markdown(exc))
        return
    st.toast(done, icon=":material/check:")
    st.rerun()


@dataclass(frozen=True)
class Sheet:
    """What the tagging sheet shows besides the saved tags: the suggestions' text per example,
    the ids kept (None: all) and the filter's name (a change of either rebuilds the view)."""

    suggested: dict[str, str] = field(default_factory=dict)
    only: tuple[str, ...] | None = None
    shown: str = ""
    texts: dict[str, object] | None = field(default=None, compare=False)

    @property
    def signature(self) -> tuple:
        """What forces a new view when it changes."""
        return (self.shown, self.only, tuple(sorted(self.suggested.items())))


def current_view(
    store: Store, version: ModelVersion, annotator: str, labels: LabelSnapshot, sheet: Sheet
) -> View | None:
    """The session's view, rebuilt from ``labels`` (just read) when missing, stale, out of
    layout or showing another selection (``sheet``)."""
    key = VIEW_KEY.format(version.id)
    view: View | None = st.session_state.get(key)
    if (
        view is None
        or view.stale
        or view.annotator != annotator
        or view.layout != labeling.layout_of(labels)
        or view.shown != sheet.signature
    ):
        if view is not None and view.conflicts:
            st.session_state[NOTICES_KEY.format(version.id)] = list(view.conflicts)
        generation = st.session_state.get(GENERATION_KEY, 0) + 1
        st.session_state[GENERATION_KEY] = generation
        view = labeling.build_view(
            store,
            version.id,
            annotator,
            thumbnail=thumbnail_url,
            generation=generation,
            snapshot=labels,
            suggested=sheet.suggested,
            only=sheet.only,
            shown=sheet.signature,
            texts=sheet.texts,
        )
        st.session_state[key] = view
    return view


def _on_edit(store: Store, key: str, view_key: str) -> None:
    """The tagging table's ``on_change``: :func:`_save_edits`."""
    _save_edits(store, key, view_key)


def _save_edits(store: Store, key: str, view_key: str) -> int:
    """Save the editor's delta; returns the rows saved. Shows nothing (an element shown from
    a fragment's callback lands at the top of the page, and Streamlit warns); counts the saved
    rows for the run that follows to announce."""
    view = st.session_state.get(view_key)
    if view is None or view.key != key:
        return 0
    try:
        result = labeling.apply_editor_state(store, view, st.session_state.get(key), current_user())
    except InputError as exc:  # a refused role: nothing saved, the table shows what is saved
        view.conflicts.append(str(exc))
        view.stale = True
        return 0
    st.session_state[SAVED_KEY] = st.session_state.get(SAVED_KEY, 0) + result.saved
    return result.saved


def editor(store: Store, version: ModelVersion, view: View) -> bool:
    """The tagging table: saved on every change, keyed by example id.

    True when this run saved an edit itself (its callback did not run before it), so what was
    read at the start of the run is out of date.
    """
    config = {
        ID: st.column_config.TextColumn("id", width="small", pinned=True),
        INPUT: (
            st.column_config.ImageColumn("input", width="small", pinned=True)
            if view.images
            else st.column_config.TextColumn("input", width="medium", pinned=True)
        ),
        Y_TRUE: st.column_config.TextColumn("true", width="small"),
        TEXT: st.column_config.TextColumn(
            "text", width="medium", help="the file's text (long texts folded; Detail shows it all)"
        ),
        Y_PRED: st.column_config.TextColumn("predicted", width="small"),
        SCORE: st.column_config.NumberColumn("confidence", format="%.2f", width="small"),
        NOTES: st.column_config.TextColumn("notes", width="medium", max_chars=2000),
        REVIEWED: st.column_config.CheckboxColumn(
            "reviewed", width=header_width("reviewed"), help="reviewed, even if no category applies"
        ),
        CARRIED: st.column_config.CheckboxColumn(
            "carried",
            width=header_width("carried"),
            help="its tags were carried over from an older version's sample (editable)",
        ),
        SUGGESTED: st.column_config.TextColumn(
            "suggested",
            width="medium",
            help="evidence, not tags: accept a suggestion in the Suggestions or Detail panel",
        ),
    }
    labels = short_labels([category.name for category in view.categories])
    for category in view.categories:
        label = labels[category.name]
        config[category.name] = st.column_config.CheckboxColumn(
            label, width=header_width(label), help=category.name
        )
    read_only = not current_user().can("tag errors")
    if read_only:
        st.caption(":material/visibility: Your role can read the tags but not change them.")
    row_px = 56 if view.images else ROW_PX
    st.data_editor(
        view.frame,
        key=view.key,
        column_config=config,
        column_order=[
            ID,
            *([TEXT] if TEXT in view.frame else [INPUT]),
            REVIEWED,
            *([CARRIED] if view.frame[CARRIED].any() else []),
            Y_TRUE,
            Y_PRED,
            *(category.name for category in view.categories),
            *([SUGGESTED] if view.frame[SUGGESTED].astype(bool).any() else []),
            SCORE,
            NOTES,
        ],
        disabled=True if read_only else list(labeling.READ_ONLY_COLUMNS),
        hide_index=True,
        num_rows="fixed",
        row_height=row_px,
        height=(min(len(view.frame), GRID_ROWS) + 1) * row_px + 3,
        on_change=_on_edit,
        args=(store, view.key, VIEW_KEY.format(version.id)),
    )
    # The callback saved the edit before this run; saving again here is a no-op then, and
    # catches an edit whose callback did not run (state set programmatically).
    saved = _save_edits(store, view.key, VIEW_KEY.format(version.id))
    announced = st.session_state.pop(SAVED_KEY, 0)
    if announced:
        st.toast(f"Saved ({announced} row{'s' * (announced > 1)})", icon=":material/save:")
    if view.stale:
        st.rerun()
    return saved > 0


def short_labels(names: list[str], limit: int = SHORT_LABEL) -> dict[str, str]:
    """A short column header per category (its full name stays as the column's help): the part
    before a '/', else the first word of a long name (its start if that word is tiny); the full
    name where two would clash."""
    labels = {}
    for name in names:
        short = name.split("/")[0].strip() or name
        if len(short) > limit:
            first = short.split()[0]
            short = first if len(first) >= MIN_WORD else short[:limit].strip()
        labels[name] = short[:limit]
    seen = list(labels.values())
    return {name: (name if seen.count(label) > 1 else label) for name, label in labels.items()}


def header_width(label: str) -> int:
    """Pixels a checkbox column needs to show its header without cutting it."""
    return max(64, 8 * len(label) + 28)


def notices(version: ModelVersion) -> None:
    """Conflicts found while saving, shown once after the view was rebuilt."""
    for message in st.session_state.pop(NOTICES_KEY.format(version.id), []):
        st.warning(escape_markdown(message), icon=":material/sync_problem:")


def progress_bar(labels: LabelSnapshot, annotator: str) -> None:
    """'63 of 100 reviewed' and a bar."""
    done, total = labeling.progress_of(labels, annotator)
    who = f" by {escape_markdown(annotator)}" if annotator else ""
    st.progress(
        done / total if total else 0.0,
        text=f"{done} of {total} reviewed{who} · tagging an example counts as reviewing it; "
        "mark untaggable ones *reviewed*",
    )


def detail(
    store: Store,
    version: ModelVersion,
    ids: list[str],
    labels: LabelSnapshot,
    annotator: str,
    stored: list[StoredSuggestion],
    texts: dict[str, object] | None = None,
) -> list[str]:
    """One example of ``ids`` (the sheet's, in order) large, with previous/next (keys J and
    K) and its suggestions; returns the ids the sheet shows meanwhile: from this example on,
    so *Next* moves the sheet and the example is always its first row."""
    key = DETAIL_KEY.format(version.id)
    position = max(0, min(st.session_state.get(key, 0), len(ids) - 1))
    back, where, forward = st.columns([1, 3, 1], vertical_alignment="center")
    if back.button("Previous", key=f"prev_{version.id}", shortcut="J", disabled=position == 0):
        position -= 1
    if forward.button(
        "Next", key=f"next_{version.id}", shortcut="K", disabled=position >= len(ids) - 1
    ):
        position += 1
    st.session_state[key] = position
    example = ids[position]
    examples = labels.sample.examples if labels.sample is not None else pd.DataFrame()
    record = examples[examples[ID] == example].iloc[0]
    where.markdown(
        f"**{position + 1} of {len(ids)}** · id {escape_markdown(example)} · true "
        f"**{escape_markdown(record[Y_TRUE])}** · predicted **{escape_markdown(record[Y_PRED])}**"
        + ("" if pd.isna(record[SCORE]) else f" · confidence {record[SCORE]:.2f}")
    )
    image = full_image(images_here(store, labels.images_root), record[INPUT])
    if image is not None:
        st.image(image, width=320)
    elif texts is not None and example in texts:
        text_block(texts[example])
    elif isinstance(record[INPUT], str):
        st.text(record[INPUT])
    evidence_ui.example_suggestions(
        store,
        version,
        annotator,
        example,
        stored,
        VIEW_KEY.format(version.id),
        [c.name for c in labels.categories],
    )
    review = labels.reviews_by(annotator).get(example)
    names = [c.name for c in labels.categories if review and c.id in review.tags]
    st.caption(
        ("Tags: " + ", ".join(map(escape_markdown, names)) if names else "No tags yet")
        + (f" · notes: {escape_markdown(review.notes)}" if review and review.notes else "")
        + " · tag it in the first row of the table below (it follows *Next*)."
    )
    with st.expander("History of this example", icon=":material/history:"):
        history(store, version.project_id, example)
    return ids[position : position + GRID_ROWS]


def text_block(value: object) -> None:
    """An example's text as plain text (never markdown or HTML): folded when long, the whole
    of it in an expander."""
    folded, full = display_text(value), display_text(value, fold=None)
    st.text(folded)
    if folded != full:
        with st.expander("Whole text", icon=":material/notes:"):
            st.text(full)


def history(store: Store, project_id: int, example: str) -> None:
    """Who changed the example's tags, and when (the audit log), oldest first."""
    changes = store.audit.history(project_id, example)
    if not changes:
        st.caption("No change recorded yet.")
        return
    rows = [
        {
            "when (UTC)": f"{c.at:%Y-%m-%d %H:%M:%S}",
            "who": c.user,
            "annotator": c.detail.get("annotator", ""),
            "added": ", ".join(c.detail.get("added", [])),
            "removed": ", ".join(c.detail.get("removed", [])),
            "reviewed": c.detail.get("reviewed"),
            "notes": c.detail.get("notes"),
        }
        for c in changes
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


@st.cache_data(max_entries=64, show_spinner=False)
def ceiling_chart_spec(ceiling: Ceiling) -> dict:
    """The Vega-Lite spec of :func:`~diagnostics.charts.ceiling_chart`, built once per ceiling
    (building and validating the Altair chart takes tens of milliseconds per rerun)."""
    return ceiling_chart(ceiling).to_dict()


# The ceiling table's headers on the page (the full names stay as their help): short enough
# for its seven columns to fit the main column at 1024 px.
CEILING_COLUMNS = {
    "category": ("category", 120),
    "count": ("n", 40),
    "share of reviewed errors": ("share", 58),
    "95% interval": ("95% interval", 98),
    "most it removes": ("removes ≤", 72),
    "best dev error after fix": ("after fix", 74),
    "est. in all dev errors": ("in all dev", 84),
    "spread to all dev errors": ("spread", 84),
    "more precise": ("tighter", 60),
}
SPREAD_COLUMN = "spread to all dev errors"
CHART_DRAWS = ("most it removes", "best dev error after fix")  # the ceiling chart's bars, labels


def ceiling_section(
    store: Store, version: ModelVersion, labels: LabelSnapshot, summary: dict
) -> None:
    """The ceiling table and chart from the saved tags (``summary``: the dev error summary),
    with the spread estimate when the user asks for it."""
    carried = labels.sample.carried if labels.sample is not None else ()
    ceiling, _ = labeling.ceiling_for(labels.tag_table(), summary, carried)
    if ceiling is None:
        st.info("Tag or mark reviewed at least one example to see the ceiling per category.")
        return
    head, toggle = st.columns([3, 2], vertical_alignment="bottom")
    head.subheader("Ceiling per category", anchor=False)
    if toggle.toggle(
        "Spread to the rest of dev",
        key=f"spread_{version.id}",
        help="A classifier over the embeddings, trained on the reviewed errors' tags, "
        "estimates each category's count among the unreviewed dev errors.",
    ):
        try:
            ceiling = similar_ui.spread_ceiling(store, version, labels, ceiling)
        except InputError as exc:
            st.caption(f":material/info: No spread estimate: {escape_markdown(exc)}")
    frame = labeling.ceiling_frame(ceiling)
    spread = SPREAD_COLUMN in frame
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            name: st.column_config.Column(short, help=name, width=width)
            for name, (short, width) in CEILING_COLUMNS.items()
        },
        # with the spread, what the chart below draws leaves the table, so it fits 1024 px
        column_order=[c for c in frame if not spread or c not in CHART_DRAWS],
    )
    if spread:
        st.caption("What each category removes and the best dev error after its fix: the chart.")
    st.vega_lite_chart(ceiling_chart_spec(ceiling))
    for advice in ceiling.advice:
        st.markdown(f":material/lightbulb: {advice}")
    for note in ceiling.notes:
        st.caption(note)


def agreement_section(labels: LabelSnapshot, summary: dict) -> None:
    """Per-category agreement between the annotators (Cohen's or Fleiss' kappa)."""
    _, agreements = labeling.ceiling_for(labels.tag_table(), summary)
    if not agreements:
        st.info("Agreement needs the tags of two or more annotators on the sample.")
        return
    st.dataframe(labeling.agreement_frame(agreements), hide_index=True)


def csv_section(store: Store, version: ModelVersion) -> None:
    """Export the tags CSV; import one (validated, all or nothing)."""
    pid = version.id
    st.download_button(
        "Export tags CSV",
        data=lambda: labeling.export_csv(store, pid),  # built when clicked, not per rerun
        file_name=f"tags-{pid}.csv",
        mime="text/csv",
        key=f"export_{pid}",
        icon=":material/download:",
        on_click="ignore",
    )
    uploaded = st.file_uploader("Import a tags CSV", type=["csv"], key=f"import_{pid}")
    if uploaded is None:
        return

    def accept(name: str, data: bytes) -> str:
        count = labeling.import_csv(store, pid, data, name, current_user())
        invalidate(pid)
        return f"Imported {count} rows"

    refusal = handle_once(uploaded, "tag imports", accept)
    if refusal:
        st.error(refusal)


def page() -> None:
    """The Error analysis page (the page file only calls this: a rerun compiles less)."""
    context = open_page("error_analysis")
    project, store = require_project(context.project), context.store
    st.caption(
        f"Project **{escape_markdown(project.name)}** · "
        "review about 100 misclassified dev examples, tag what each "
        "one shows, and see which category is worth fixing. Every edit is saved as you make it."
    )
    version = _version_or_stop(context.version)
    summary = _dev_error_summary_or_stop(store, version.state)
    version_caption(version, summary)
    labels = load_labels(store, version)  # read once per run, shared below
    annotator = annotator_name(version)
    if labels.sample is None:
        carry_controls(store, version)
        sample_controls(store, version, labels)
        st.stop()
    stored = evidence_ui.sample_suggestions(store, version, labels)
    texts = _texts_or_none(store, version)
    shown, kept = evidence_ui.filter_choice(version, labels, stored)
    ids = labels.sample.ids if kept is None else kept
    opened = similar_ui.opened_example(version)
    if opened is not None and opened in ids:  # a click on the map's point: its detail
        st.session_state[PANEL_KEY.format(version.id)] = DETAIL
        st.session_state[DETAIL_KEY.format(version.id)] = ids.index(opened)
    panel = panel_choice(version)
    only = kept
    if panel == DETAIL and ids:
        only = detail(store, version, ids, labels, annotator, stored, texts)
    elif panel == SIMILAR:
        boxed = similar_ui.similar_panel(
            store, version, labels, annotator, ids, stored, VIEW_KEY.format(version.id)
        )
        only = kept if boxed is None else boxed
    elif panel is not None:
        panels = {
            DETAIL: lambda: st.caption("No example is shown: choose another filter."),
            SUGGESTIONS: lambda: evidence_ui.suggestions_panel(
                store,
                version,
                ids,
                annotator,
                stored,
                VIEW_KEY.format(version.id),
                [c.name for c in labels.categories],
            ),
            ANNOTATOR: lambda: annotator_input(version),
            CATEGORIES: lambda: category_controls(store, version, labels),
            SAMPLE: lambda: sample_controls(store, version, labels),
            PAIRS: lambda: confusion_table(confusion_pairs_of(store, version.state)),
            AGREEMENT: lambda: agreement_section(labels, summary),
            CSV: lambda: csv_section(store, version),
        }
        panels[panel]()
    evidence_ui.evidence_problems(version)
    sheet = Sheet(suggested_texts(stored), None if only is None else tuple(only), shown, texts)
    view = current_view(store, version, annotator, labels, sheet)
    if view is None:  # the sample was removed in another session
        st.rerun()
    images_upload(store, version, view)
    tagging(store, version, annotator, summary, sheet, {"labels": labels})
    fixed_section(store, version)


@st.fragment
def tagging(
    store: Store, version: ModelVersion, annotator: str, summary: dict, sheet: Sheet, first: dict
) -> None:
    """The tagging table, the progress and the ceiling: an edit reruns only this part.

    ``first`` holds the labels the page read for this run; a rerun of this part alone (called
    again with the same arguments) finds it empty and reads the labels afresh.
    """
    labels = first.pop("labels", None) or load_labels(store, version)
    view = current_view(store, version, annotator, labels, sheet)
    if view is None:  # the sample was removed in another session
        st.rerun()
    notices(version)
    progress = st.empty()
    if editor(store, version, view):
        labels = load_labels(store, version)
    with progress:
        progress_bar(labels, annotator)
    ceiling_section(store, version, labels, summary)


def _texts_or_none(store: Store, version: ModelVersion) -> dict[str, object] | None:
    """The file's texts by example id (None: no ``text`` column, or it cannot be read now)."""
    try:
        return similar_ui.sample_texts(store, version)
    except InputError:
        return None


def version_caption(version: ModelVersion, summary: dict) -> None:
    """Which version the sample, tags and ceiling on this page belong to, with its dev error."""
    st.caption(
        f":material/history: **{version.name}** · dev error {summary['dev_error']:.1%} "
        f"({summary['dev_errors']} errors): the sample, its tags and the ceiling below are this "
        "version's. Switch versions in the sidebar."
    )


def carry_controls(store: Store, version: ModelVersion) -> None:
    """Start this version's sample from an older version's tags on the examples still wrong."""
    earlier = labeling.carry_candidates(store, version)
    if not earlier:
        return
    st.subheader("Carry tags over", anchor=False)
    names = {v.id: v.name for v in earlier}
    source = st.selectbox(
        "From the tagged sample of",
        list(names),
        format_func=lambda version_id: names[version_id],
        key=f"carry_{version.id}",
    )
    st.caption(
        "The examples of that sample this version still gets wrong keep their tags (marked "
        "*carried*, editable); the rest of the sample is newly drawn from this version's errors."
    )
    size = st.number_input(
        "Errors to review", 1, 10_000, DEFAULT_SAMPLE_SIZE, key=f"carry_n_{version.id}"
    )
    if st.button("Start from the still-wrong examples", key=f"carry_go_{version.id}"):
        try:
            predictions = read_required(store, version, "carrying tags over")
            sample = labeling.carry_from(
                store, version.id, source, predictions, int(size), seed=0, user=current_user()
            )
        except InputError as exc:
            st.error(str(exc))
            return
        st.toast(
            f"{len(sample.carried)} examples carried over, {sample.size - len(sample.carried)} "
            "newly drawn",
            icon=":material/check:",
        )
        st.rerun()


def fixed_section(store: Store, version: ModelVersion) -> None:
    """What this version fixed of each older tagged version's errors, per category."""
    earlier = labeling.carry_candidates(store, version)
    if not earlier:
        return
    try:
        predictions = read_version(store, version.state)
    except InputError:
        return
    if predictions is None:
        return
    for older in earlier[:1]:
        try:
            fixes = labeling.fixed_by(store, older, predictions)
        except InputError as exc:
            st.caption(f"What the new model fixed: {exc}")
            continue
        if not fixes:
            continue
        st.subheader(f"What the new model fixed (of {older.name}'s tagged errors)", anchor=False)
        for line in category_lines({"categories": [fix.to_dict() for fix in fixes]}):
            st.markdown(f"- {line}")
        st.caption("Fixed: the example is right in this version; 95% Wilson intervals.")


def _version_or_stop(version: ModelVersion | None) -> ModelVersion:
    """The version this session shows, or stop the page saying there is none."""
    if version is None:
        st.info(
            "This project has no current model version: choose one in the sidebar, or upload "
            "predictions on Diagnose.",
            icon=":material/info:",
        )
        page_link("diagnose", label="Open Diagnose to upload predictions")
        st.stop()
    return version


def _dev_error_summary_or_stop(store: Store, state: DiagnoseState) -> dict:
    """The predictions' dev error summary, or stop the page saying what to fix."""
    try:
        errors = dev_error_summary_of(store, state)
    except InputError as exc:
        st.error(
            f"{escape_markdown(exc)}\n\n"
            "Error analysis needs a classification predictions file with dev rows."
        )
        page_link("diagnose", label="Open Diagnose to fix the predictions")
        st.stop()
    if errors is None:
        st.info(
            "Error analysis samples misclassified dev examples from the project's predictions, and "
            "this project has none (typed levels only). Upload a predictions file with split, "
            "y_true, y_pred (and ideally id, score, input) on Diagnose.",
            icon=":material/info:",
        )
        page_link("diagnose", label="Open Diagnose to upload predictions")
        st.stop()
    return errors

"""The Error analysis page's evidence widgets: suggestions beside the sample, accepted into tags
by a person, the sheet's filter by suggestion, and a sample drawn from one slice.

All logic lives in :mod:`strategy_app.errors.evidence`; the searches are cached per version
(:mod:`strategy_app.shell.page`), and a session offers a sample's suggestions once per draw.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from diagnostics.slices import Predicate, Slice
from diagnostics.validation import InputError
from strategy_app.diagnose.service import error_slices
from strategy_app.errors import evidence
from strategy_app.errors.service import ID, layout_of
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.signin import current_user
from strategy_app.store import ModelVersion, Store
from strategy_app.store.labels import Conflict, LabelSnapshot
from strategy_app.store.suggestions import StoredSuggestion

FILTER_KEY = "label_filter_{}"
CHOICE_KEY = "label_filter_choice_{}"  # the chosen filter, kept across decisions
DECIDED_KEY = "_suggestion_decided_{}"  # the last decision, toasted by the next run
OFFERED_KEY = "_label_offered_{}"
PROBLEMS_KEY = "_label_evidence_problems_{}"
UNREADABLE_KEY = "_label_unreadable_images_{}"
DECISIONS_KEY = "label_decisions_{}_{}"
DRAW_FROM_KEY = "sample_from_{}"
ALL_ERRORS = "all dev errors"
ACCEPT, DISMISS = "accept", "dismiss"
TAG_AS = "tag if accepted"
TAG_AS_HELP = (
    "The category the accepted suggestion becomes: the suggested one, or any category of this "
    "version"
)


def sample_suggestions(
    store: Store, version: ModelVersion, labels: LabelSnapshot
) -> list[StoredSuggestion]:
    """The sample's saved suggestions; the evidence is searched and offered once per session
    and draw (and images folder), later runs only read what is saved."""
    if labels.sample is None:
        return []
    key = OFFERED_KEY.format(version.id)
    if st.session_state.get(key) == layout_of(labels):
        return store.suggestions.of_version(version.id)
    found = evidence.version_evidence(store, version, labels)
    stored = evidence.offer_suggestions(store, version, labels, found)
    st.session_state[key] = layout_of(labels)
    st.session_state[PROBLEMS_KEY.format(version.id)] = list(found.problems)
    st.session_state[UNREADABLE_KEY.format(version.id)] = found.unreadable_images()
    return stored


def evidence_problems(version: ModelVersion) -> None:
    """Why a search found nothing to suggest (a refused ``prob_`` column, say), as captions; the
    images image-flags could not read, as a warning; and the toast of the last *Accept* /
    *Dismiss* (its callback cannot show one)."""
    decided = st.session_state.pop(DECIDED_KEY.format(version.id), None)
    if decided:
        st.toast(escape_markdown(decided), icon=":material/check:")
    for problem in st.session_state.get(PROBLEMS_KEY.format(version.id), []):
        st.caption(f":material/info: No suggestions from one search: {escape_markdown(problem)}")
    unreadable = st.session_state.get(UNREADABLE_KEY.format(version.id))
    if unreadable:
        st.warning(escape_markdown(unreadable), icon=":material/broken_image:")


def filter_choice(
    version: ModelVersion, labels: LabelSnapshot, stored: Sequence[StoredSuggestion]
) -> tuple[str, list[str] | None]:
    """The sheet's *Show* filter (:func:`~strategy_app.errors.evidence.sheet_filters`).
    Returns the choice and the ids it keeps (None: all)."""
    if labels.sample is None:
        return evidence.ALL_EXAMPLES, None
    key, choice_key = FILTER_KEY.format(version.id), CHOICE_KEY.format(version.id)
    chosen = st.session_state.get(choice_key, evidence.ALL_EXAMPLES)
    filters = evidence.sheet_filters(labels.sample, stored, keep=chosen)
    if chosen not in filters:
        chosen = evidence.ALL_EXAMPLES
    if len(filters) == 1:
        return evidence.ALL_EXAMPLES, None
    names = list(filters)
    # The options' texts never change (no counts in them): the browser keeps the chosen text,
    # and a text that a decision changed ("likely mislabeled (5)" → "(4)") matched no option,
    # so the queue fell back to every example while the box still showed the old count.
    shown = st.selectbox(
        "Show",
        names,
        index=names.index(chosen),
        key=key,
        help="Filter the sheet by the evidence beside it; click a column header to sort.",
    )
    st.session_state[choice_key] = shown
    count = len(filters[shown])
    st.caption(f"{count} example{'s' * (count != 1)} {'in the sample' if count else 'left'}")
    return shown, None if shown == evidence.ALL_EXAMPLES else filters[shown]


def suggestions_panel(
    store: Store,
    version: ModelVersion,
    ids: Sequence[str],
    annotator: str,
    stored: Sequence[StoredSuggestion],
    view_key: str,
    categories: Sequence[str],
) -> None:
    """The open suggestions of the examples shown (``ids``), each accepted into a tag of
    ``annotator`` or dismissed with one click, and how often people confirmed each kind on
    this project. A suggestion becomes its suggested category or one the person picks of the
    version's ``categories``. ``view_key`` names the sheet's view in the session, rebuilt
    after a decision."""
    shown = set(ids)
    open_ = [s for s in stored if s.pending and s.suggestion.id in shown]
    if not open_:
        st.caption("No open suggestion for the examples shown.")
    else:
        st.caption(
            "Evidence, not tags: tick *accept* to tag the example with the category in *tag if "
            "accepted* (the suggested one, or pick one of yours) "
            f"(as {escape_markdown(annotator) or 'you'}), *dismiss* when it is wrong. "
            "The ceiling counts only tags."
        )
        options, defaults = evidence.category_choices(categories, open_)
        frame = pd.DataFrame(
            {
                ID: [s.suggestion.id for s in open_],
                "suggestion": [s.suggestion.text for s in open_],
                TAG_AS: defaults,
                ACCEPT: False,
                DISMISS: False,
            }
        )
        decided = sum(not s.pending for s in stored)  # a decision makes a fresh table
        key = DECISIONS_KEY.format(version.id, decided)
        read_only = not current_user().can("tag errors")
        st.data_editor(
            frame,
            key=key,
            hide_index=True,
            num_rows="fixed",
            disabled=True if read_only else [ID, "suggestion"],
            column_order=[ID, ACCEPT, DISMISS, "suggestion", TAG_AS],
            column_config={
                ID: st.column_config.TextColumn("id", width="small"),
                "suggestion": st.column_config.TextColumn(width="medium"),
                TAG_AS: st.column_config.SelectboxColumn(
                    options=options, required=True, width="medium", help=TAG_AS_HELP
                ),
                ACCEPT: st.column_config.CheckboxColumn(width=72),
                DISMISS: st.column_config.CheckboxColumn(width=84),
            },
            on_change=_decide_ticked,
            args=(store, version, annotator, open_, key, view_key),
        )
        # the callback decided before this run (and the table's key moved on); this catches
        # ticks whose callback did not run (state set programmatically)
        if _ticked(open_, key):
            _decide_ticked(store, version, annotator, open_, key, view_key)
            st.rerun()
    rows = evidence.precision_rows(store, version.project_id)
    if rows:
        st.caption("How often people confirmed each kind of suggestion on this project:")
        st.dataframe(pd.DataFrame(rows), hide_index=True)


def _ticked(
    open_: list[StoredSuggestion], key: str
) -> list[tuple[StoredSuggestion, bool, str | None]]:
    """The suggestions ticked in the decisions table ``key`` (rows of ``open_``), each with
    True to accept it, False to dismiss it, and the category picked for it (None: the
    suggested one)."""
    edited = (st.session_state.get(key) or {}).get("edited_rows") or {}
    return [
        (open_[int(position)], bool(cells.get(ACCEPT)), cells.get(TAG_AS))
        for position, cells in edited.items()
        if (cells.get(ACCEPT) or cells.get(DISMISS)) and int(position) < len(open_)
    ]


def _decide_ticked(
    store: Store,
    version: ModelVersion,
    annotator: str,
    open_: list[StoredSuggestion],
    key: str,
    view_key: str,
) -> None:
    """The decisions table's ``on_change``: accept or dismiss each ticked suggestion at once."""
    for entry, accepted, category in _ticked(open_, key):
        _decide(store, version, annotator, entry, accepted, view_key, category)


def example_suggestions(
    store: Store,
    version: ModelVersion,
    annotator: str,
    example: str,
    stored: Sequence[StoredSuggestion],
    view_key: str,
    categories: Sequence[str],
) -> None:
    """The detail view's open suggestions for one example, each with the category it becomes
    when accepted (the suggested one, or one the person picks of ``categories``), *Accept*
    and *Dismiss*."""
    mine = [s for s in stored if s.pending and s.suggestion.id == example]
    allowed = current_user().can("tag errors")
    options, defaults = evidence.category_choices(categories, mine)
    for number, entry in enumerate(mine):
        text, as_col, accept_col, dismiss_col = st.columns(
            [3, 2, 1, 1], vertical_alignment="center"
        )
        text.markdown(f":material/tips_and_updates: {escape_markdown(entry.suggestion.text)}")
        chosen = f"accept_as_{version.id}_{example}_{number}"
        as_col.selectbox(
            TAG_AS,
            options,
            index=options.index(defaults[number]),
            key=chosen,
            disabled=not allowed,
            label_visibility="collapsed",
            help=TAG_AS_HELP,
        )
        args = (store, version, annotator, entry)
        accept_col.button(
            "Accept",
            key=f"accept_{version.id}_{example}_{number}",
            disabled=not allowed,
            help="Tag it with the category beside",
            on_click=_accept_as,
            args=(*args, view_key, chosen),
        )
        dismiss_col.button(
            "Dismiss",
            key=f"dismiss_{version.id}_{example}_{number}",
            disabled=not allowed,
            on_click=_decide,
            args=(*args, False, view_key),
        )


def _accept_as(
    store: Store,
    version: ModelVersion,
    annotator: str,
    entry: StoredSuggestion,
    view_key: str,
    chosen_key: str,
) -> None:
    """*Accept* of the detail view (a callback): into the category its box shows."""
    _decide(store, version, annotator, entry, True, view_key, st.session_state.get(chosen_key))


def _decide(
    store: Store,
    version: ModelVersion,
    annotator: str,
    entry: StoredSuggestion,
    accepted: bool,
    view_key: str,
    category: str | None = None,
) -> None:
    """Accept (into ``category``; None: the suggested one) or dismiss one suggestion (a
    callback); the sheet is rebuilt afterwards and a refusal is shown there."""
    suggestion, user = entry.suggestion, current_user()
    view = st.session_state.get(view_key)
    try:
        if accepted:
            evidence.accept(
                store, version, suggestion.id, suggestion.kind, annotator, user, category
            )
            tagged = category or suggestion.category
            done = f"Accepted: {suggestion.id} tagged '{tagged}'"
        else:
            evidence.dismiss(store, version, suggestion.id, suggestion.kind, annotator, user)
            done = f"Dismissed the suggestion for {suggestion.id}"
        st.session_state[DECIDED_KEY.format(version.id)] = done
    except (InputError, Conflict) as exc:
        if view is not None:
            view.conflicts.append(str(exc))
    if view is not None:
        view.stale = True


def draw_from(store: Store, version: ModelVersion) -> tuple[Predicate, ...]:
    """The *Draw from* choice of the sample controls: every dev error, or one significant
    slice's (its predicates; empty for all)."""
    try:
        search = error_slices(store, version.state)
    except InputError:
        return ()
    found: list[Slice] = search.slices[:10] if search else []
    if not found:
        return ()
    labels = {s.label: s for s in found}
    chosen = st.selectbox(
        "Draw from",
        [ALL_ERRORS, *labels],
        key=DRAW_FROM_KEY.format(version.id),
        format_func=lambda name: (
            name if name == ALL_ERRORS else f"slice {name} ({labels[name].errors} errors)"
        ),
        help="Review the errors of one slice where errors concentrate (see Diagnose).",
    )
    return () if chosen == ALL_ERRORS else labels[chosen].predicates

"""What the trial runner stores about one trial, and the one way to read it back.

A finished trial keeps its outcome in ONE user attribute, :data:`RESULT_ATTR`: a JSON-able dict
with the waterfall of its predictions (``metric``, ``levels``, ``gaps``, ``gap_intervals``,
``intervals``, ``counts``), its per-epoch ``history``, the ``predictions`` file, ``seconds``,
``device`` and ``violation`` (a constrained goal); a failed trial its ``history`` and ``error``,
a stopped one its ``history`` and ``failure``. One attribute is one storage write: a journal
storage takes one attribute per record, each with a lock and an fsync.

The attributes a trial is *given* before it runs (``worker``, ``curve_fraction``,
``curve_seed``, ``target_k``, ``promoted_from``, ``carried_from``) stay their own attributes.
"""

from __future__ import annotations

from typing import Any

from optuna.trial import FrozenTrial

RESULT_ATTR = "result"


def trial_result(trial: FrozenTrial) -> dict[str, Any]:
    """The stored outcome of ``trial`` (empty while it runs). A trial stored by a desk from
    before this layout kept each key as its own user attribute: those are read as they are."""
    attrs: dict[str, Any] = trial.user_attrs
    stored = attrs.get(RESULT_ATTR)
    return stored if isinstance(stored, dict) else attrs

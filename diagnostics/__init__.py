"""Pure computations of the ML-strategy desk: ingest, metrics, waterfall, splits, errors, search.

Nothing here imports Streamlit or a database: the app, the CLI and the report call these
functions and show the same numbers.

From a notebook, the names below take a pandas DataFrame, a pyarrow Table, a dict of arrays or
a file path, and return what the CLI prints (``to_dict()`` is its ``--json``); in Jupyter a
diagnosis, a split plan or a ceiling table shows the report's own tables and charts::

    >>> import diagnostics
    >>> frame = {"split": ["train", "train", "dev", "dev"], "y_true": [1, 0, 1, 0],
    ...          "y_pred": [1, 0, 1, 1]}
    >>> diagnostics.diagnose(frame, human="0%").to_dict()["levels"]["dev"]
    0.5
    >>> diagnostics.plan_split(1_000_000).counts["dev"]
    10000
    >>> ceiling = diagnostics.ceiling_from_counts({"blurry": 60, "mislabeled": 20},
    ...                                           reviewed=100, dev_error=0.1)
    >>> ceiling.to_dict()["categories"][0]["error_after_fix"]
    0.04

Each name is imported on first use, so ``import diagnostics`` stays cheap (torch only loads
for :func:`run_search`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diagnostics.api import (
        SlicedDiagnosis,
        ceiling_from_counts,
        ceiling_from_tags,
        diagnose,
        human_levels,
        plan_mismatched,
        plan_split,
        run_search,
        sample_errors,
    )
    from diagnostics.ceiling import Ceiling
    from diagnostics.ingest import Predictions, read_predictions
    from diagnostics.splits import SplitPlan
    from diagnostics.validation import InputError
    from diagnostics.waterfall import Diagnosis, HumanLevel

_EXPORTS = {
    "diagnose": "diagnostics.api",
    "human_levels": "diagnostics.api",
    "run_search": "diagnostics.api",
    "sample_errors": "diagnostics.api",
    "SlicedDiagnosis": "diagnostics.api",
    "ceiling_from_counts": "diagnostics.api",
    "ceiling_from_tags": "diagnostics.api",
    "Ceiling": "diagnostics.ceiling",
    "read_predictions": "diagnostics.ingest",
    "Predictions": "diagnostics.ingest",
    "plan_split": "diagnostics.api",
    "plan_mismatched": "diagnostics.api",
    "SplitPlan": "diagnostics.splits",
    "InputError": "diagnostics.validation",
    "Diagnosis": "diagnostics.waterfall",
    "HumanLevel": "diagnostics.waterfall",
}

__all__ = [
    "Ceiling",
    "Diagnosis",
    "HumanLevel",
    "InputError",
    "Predictions",
    "SlicedDiagnosis",
    "SplitPlan",
    "ceiling_from_counts",
    "ceiling_from_tags",
    "diagnose",
    "human_levels",
    "plan_mismatched",
    "plan_split",
    "read_predictions",
    "run_search",
    "sample_errors",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'diagnostics' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names with the public API (for tab completion)."""
    return sorted({*globals(), *__all__})

"""What the audit log costs a tag edit: ``save_edit`` with its audit entry in the same
transaction, against ``save_edit`` alone (the anchor), in the same process and database.

Both save the same kind of edit (toggle a tag, set the notes) on a 200-example sample, in
alternating rounds so that a busy machine slows both alike; the figure is the median of the
per-round ratios (edits/s with audit ÷ edits/s without).

Run: ``python bench/audit_cost.py [--edits 300] [--rounds 5] [--backend sqlite|postgresql]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/...`

from bench.tagging_load import EXAMPLES, fresh_database, prepare, server_version
from strategy_app.store import open_store
from strategy_app.store.audit import TAG_EDIT, audit_row
from strategy_app.store.labels import LabelEdit


def edits_per_second(store, category: int, annotator: str, edits: int, audited: bool) -> float:
    """Save ``edits`` edits as ``annotator`` (each its own transaction); edits per second."""
    [project] = store.projects.list()
    versions: dict[str, int] = {}
    start = time.perf_counter()
    for step in range(edits):
        example = f"ex{step % EXAMPLES:04d}"
        tags = frozenset({category})
        edit = LabelEdit(
            example,
            annotator,
            add=tags if step % 2 == 0 else frozenset(),
            remove=frozenset() if step % 2 == 0 else tags,
            notes=str(step),
        )
        audit = partial(audit_row, annotator, TAG_EDIT, project.id, example, {"notes": str(step)})
        review = store.labels.save_edit(
            project.id, edit, versions.get(example, 0), audit if audited else None
        )
        versions[example] = review.version
    return edits / (time.perf_counter() - start)


def main() -> None:
    """Print, per backend, both rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    for backend in args.backend or ["sqlite", "postgresql"]:
        with fresh_database(backend) as (url, folder):
            category = prepare(url, folder)
            store = open_store(url, folder)
            plain, audited = [], []
            for round_ in range(args.rounds):  # alternate: a slow spell slows both
                plain.append(edits_per_second(store, category, f"p{round_}", args.edits, False))
                audited.append(edits_per_second(store, category, f"a{round_}", args.edits, True))
            version = server_version(url)
            store.close()
        ratio = statistics.median(a / p for a, p in zip(audited, plain, strict=True))
        print(
            f"{backend} ({version}): with audit {statistics.median(audited):.0f} edits/s; "
            f"anchor save_edit without audit {statistics.median(plain):.0f} edits/s; "
            f"ratio {ratio:.2f} (median of {args.rounds} alternating rounds of {args.edits})"
        )


if __name__ == "__main__":
    main()

"""``label-issues``: examples whose given label is likely wrong (needs ``prob_<class>`` columns)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strategy_app.shell.flags import add_json_flag

if TYPE_CHECKING:
    from diagnostics.label_issues import LabelIssues

SHOWN = 20


def register(subparsers) -> None:
    """Add the ``label-issues`` command."""
    parser = subparsers.add_parser(
        "label-issues",
        help="likely label errors, from the model's out-of-sample class probabilities",
        description="Flag the examples of a split whose given label is likely wrong, with the "
        "suggested label and a quality score (cleanlab's confident learning on the file's "
        "prob_<class> columns, which must be out-of-sample for that split).",
    )
    parser.add_argument("predictions", help="predictions file (CSV or Parquet) with prob_ columns")
    parser.add_argument("--split", default="dev", help="split to check (default dev)")
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Find the split's likely label errors; returns (JSON data, text)."""
    from diagnostics.label_issues import find_label_issues_in_file  # loaded when run

    found = find_label_issues_in_file(args.predictions, split=args.split)
    return found.to_dict(), render_text(found)


def render_text(found: LabelIssues) -> str:
    """The readable list of likely label errors printed without ``--json``."""
    lines = [
        f"Likely label errors in {found.split}: {len(found.issues):,} of {found.rows:,} rows "
        f"({len(found.issues) / found.rows:.1%})"
    ]
    for issue in found.issues[:SHOWN]:
        lines.append(
            f"  {issue.id}: labelled {issue.given}, likely {issue.suggested} "
            f"(quality {issue.quality:.3f})"
        )
    if len(found.issues) > SHOWN:
        lines.append(f"  … and {len(found.issues) - SHOWN:,} more (--json lists them all)")
    lines.extend(f"Warning: {w}" for w in found.warnings)
    lines.append(f"Method: {found.method}")
    return "\n".join(lines)

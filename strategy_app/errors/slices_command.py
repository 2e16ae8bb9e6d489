"""``slices``: where in a split the errors concentrate (significant slices of extra columns)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnostics.validation import InputError
from strategy_app.shell.flags import add_json_flag

if TYPE_CHECKING:
    from diagnostics.slices import SliceSearch


def register(subparsers) -> None:
    """Add the ``slices`` command."""
    parser = subparsers.add_parser(
        "slices",
        help="slices of a split where errors concentrate, with false discoveries controlled",
        description="Try every slice of up to --max-predicates conditions on the file's extra "
        "columns (categorical values, numeric quantile cuts) and report those whose error rate "
        "is significantly above the rest of the split (one-sided Fisher exact tests, "
        "Benjamini–Hochberg across all slices tried).",
    )
    parser.add_argument("predictions", help="predictions file (CSV or Parquet)")
    parser.add_argument("--split", default="dev", help="split to search (default dev)")
    parser.add_argument(
        "--columns", metavar="A,B", help="extra columns to slice by (default: all of them)"
    )
    parser.add_argument(
        "--max-predicates", type=int, default=2, metavar="K", help="conditions per slice, 1–3"
    )
    parser.add_argument(
        "--min-support",
        type=int,
        metavar="N",
        help="smallest slice tried, in rows (default 1%% of the split, at least 20)",
    )
    parser.add_argument("--top", type=int, metavar="N", help="slices reported at most")
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def parse_columns(text: str | None) -> list[str] | None:
    """``"a, b"`` → ``["a", "b"]``; None when not given; an empty name is refused."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise InputError(f"--columns '{text}': an empty column name; give names like device,hour")
    return names


def run(args) -> tuple[dict, str]:
    """Search the file's slices; returns (JSON data, text)."""
    from diagnostics.slices import DEFAULT_TOP, find_slices_in_file  # loaded when run

    top = DEFAULT_TOP if args.top is None else args.top
    if top < 1:
        raise InputError(f"--top must be at least 1 (got {top})")
    search = find_slices_in_file(
        args.predictions,
        columns=parse_columns(args.columns),
        split=args.split,
        max_predicates=args.max_predicates,
        min_support=args.min_support,
        top=top,
    )
    return search.to_dict(), render_text(search)


def render_text(search: SliceSearch) -> str:
    """The readable table of significant slices printed without ``--json``."""
    from diagnostics.slices import representation_line
    from diagnostics.waterfall import GAP_LABELS

    lines = [
        f"Slices of {search.split}: {search.errors:,} errors in {search.rows:,} rows "
        f"({search.base_rate:.1%}); {search.tried:,} slices tried, {search.significant:,} "
        f"significant"
    ]
    if not search.slices:
        lines.append("  no slice has an error rate significantly above the rest")
    for rank, found in enumerate(search.slices, start=1):
        low, high = found.interval
        gap = (found.waterfall or {}).get("largest_gap")
        drives = f"; its largest gap: {GAP_LABELS[gap]}" if gap else ""
        lines.append(
            f"  {rank}. {found.label}: {found.error_rate:.1%} ({low:.1%}–{high:.1%}) on "
            f"{found.n:,} rows, {found.lift:.1f}× the rest, {found.error_share:.0%} of the "
            f"errors, adjusted p {found.p_adjusted:.2g}{drives}"
        )
        shares = representation_line(found, search.split)
        if shares:
            lines.append(f"     {shares}")
    lines.append(f"Method: {search.method}")
    lines.extend(f"  ! {warning}" for warning in search.warnings)
    return "\n".join(lines)

"""``ceiling``: how much each error category could remove, from a tags CSV or typed counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnostics.rates import parse_rate
from diagnostics.validation import InputError
from strategy_app.shell.flags import add_json_flag

if TYPE_CHECKING:
    from diagnostics.ceiling import Agreement, Ceiling


def register(subparsers) -> None:
    """Add the ``ceiling`` command."""
    parser = subparsers.add_parser(
        "ceiling",
        help="ceiling table of error categories (error analysis)",
        description="For each category of hand-tagged dev errors: its share of the reviewed "
        "errors (95%% Wilson interval), the most fixing it can remove (dev error × share) and "
        "the best dev error after fixing it (dev error × (1 − share)).",
    )
    parser.add_argument("labels", nargs="?", metavar="LABELS", help="tags CSV (id, 0/1 columns)")
    parser.add_argument(
        "--count",
        action="append",
        default=[],
        metavar="NAME=N",
        help="a category's count among the reviewed errors, e.g. 'blurry=38'; repeat",
    )
    parser.add_argument("--dev-error", required=True, metavar="R", help="dev error, e.g. 10%%")
    parser.add_argument(
        "--reviewed",
        type=int,
        metavar="N",
        help="errors reviewed (required with --count; default with a CSV: its reviewed rows)",
    )
    parser.add_argument(
        "--dev-errors",
        type=int,
        metavar="N",
        help="misclassified dev examples in all: extrapolates each category to the dev set",
    )
    parser.add_argument("--annotator", help="use only this annotator's tags (default: consensus)")
    parser.add_argument(
        "--spread",
        metavar="PREDICTIONS",
        help="predictions file whose dev errors the tags belong to: adds the spread estimate "
        "(a classifier over the embeddings counts each category among the unreviewed errors)",
    )
    parser.add_argument(
        "--images", metavar="DIR", help="with --spread: folder of the images (default: the file's)"
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Build the ceiling table; returns (JSON data, text)."""
    from diagnostics.ceiling import ceiling_from_counts  # loaded when run, not when registered
    from diagnostics.spread import spread_ceiling
    from diagnostics.tags import read_tags_csv, table_ceiling
    from strategy_app.errors.similar import read_embedded

    dev_error = parse_rate(args.dev_error, what="--dev-error")
    if args.labels and args.count:
        raise InputError("give either a tags CSV or --count values, not both")
    agreement: list[Agreement] = []
    if args.spread and not args.labels:
        raise InputError("--spread needs a tags CSV (LABELS): it learns from the tagged errors")
    if args.labels:
        table = read_tags_csv(args.labels)
        ceiling, agreement = table_ceiling(
            table,
            dev_error,
            annotator=args.annotator,
            reviewed=args.reviewed,
            dev_errors=args.dev_errors,
            source=args.labels,
        )
        if args.spread:
            _, dev = read_embedded(args.spread, images=args.images)
            tags = table.consensus_tags()
            if args.annotator is not None:
                tags = {i: set(t) for i, t in table.annotations()[args.annotator].items()}
            ceiling = spread_ceiling(ceiling, dev, tags, source=args.spread)
    elif args.count:
        if args.reviewed is None:
            raise InputError(
                "--count needs --reviewed N: the number of errors you reviewed (each share is "
                "count / reviewed, and one error may carry several categories)"
            )
        counts: dict[str, int] = {}
        for text in args.count:
            name, count = _parse_count(text)
            if name in counts:
                raise InputError(f"--count '{name}' is given twice; give each category once")
            counts[name] = count
        ceiling = ceiling_from_counts(counts, args.reviewed, dev_error, dev_errors=args.dev_errors)
    else:
        raise InputError("give a tags CSV (LABELS) or one --count NAME=N per category")
    data = ceiling.to_dict()
    if agreement:
        data["agreement"] = [a.to_dict() for a in agreement]
    return data, render_text(ceiling, agreement)


def _parse_count(text: str) -> tuple[str, int]:
    name, sep, number = text.rpartition("=")
    if not sep or not name.strip():
        raise InputError(f"--count '{text}': write it as NAME=N, e.g. 'blurry=38'")
    try:
        count = int(number.strip())
    except ValueError:
        raise InputError(f"--count '{text}': '{number}' is not a whole number") from None
    return name.strip(), count


def render_text(ceiling: Ceiling, agreement=()) -> str:
    """The readable ceiling table, notes, advice and agreement."""
    lines = [
        f"Ceiling analysis: dev error {ceiling.dev_error * 100:.1f}%, "
        f"{ceiling.reviewed} errors reviewed",
        f"  {'category':<24}{'count':>6}{'share':>8}   {'95% interval':<16}"
        f"{'removes ≤':>10}{'error after':>13}",
    ]
    for row in ceiling.categories:
        low, high = row.interval
        lines.append(
            f"  {row.name[:23]:<24}{row.count:>6}{row.share:>8.1%}   "
            f"{f'{low:.1%} – {high:.1%}':<16}{row.reduction * 100:>9.1f}%"
            f"{row.error_after_fix * 100:>12.1f}%"
        )
        if row.estimated_dev_errors:
            value, lo, hi = row.estimated_dev_errors
            lines.append(f"  {'':<24}≈ {value:,.0f} dev errors ({lo:,.0f} – {hi:,.0f})")
        spread = row.spread
        if spread is not None and spread.value is not None:
            lines.append(
                f"  {'':<24}spread ≈ {spread.value:,.0f} dev errors ({spread.low:,.0f} – "
                f"{spread.high:,.0f}; recall {spread.recall:.0%}, precision "
                f"{spread.precision:.0%})" + (" · more precise" * (row.more_precise == "spread"))
            )
    if ceiling.untagged is not None:
        lines.append(f"  {'(no category)':<24}{ceiling.untagged:>6}")
    for title, items in (("Notes", ceiling.notes), ("Advice", ceiling.advice)):
        if items:
            lines.append("")
            lines.append(title)
            lines.extend(f"  - {item}" for item in items)
    if agreement:
        lines.append("")
        lines.append("Agreement between annotators (kappa)")
        for a in agreement:
            kappa = "—" if a.kappa is None else f"{a.kappa:.2f}"
            lines.append(
                f"  {a.category[:23]:<24}{kappa:>6}  {a.strength} ({a.method}, {a.items} examples)"
            )
    return "\n".join(lines)

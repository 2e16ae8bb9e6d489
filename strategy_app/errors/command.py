"""``errors``: sample misclassified dev examples to tag, and the confusion pairs."""

from __future__ import annotations

from diagnostics.validation import check_seed
from strategy_app.shell.flags import add_json_flag

PAIRS_SHOWN = 10
PAIRS_IN_JSON = 100


def register(subparsers) -> None:
    """Add the ``errors`` command."""
    parser = subparsers.add_parser(
        "errors",
        help="sample misclassified dev examples to tag (error analysis)",
        description="Draw a seeded random sample of misclassified dev examples and list the "
        "confusion pairs; --out writes the sample as a tags CSV to fill in.",
    )
    parser.add_argument("predictions", help="predictions file (CSV or Parquet)")
    parser.add_argument("--n", type=int, help="sample size")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same sample)")
    parser.add_argument(
        "--stratify", action="store_true", help="spread the sample across confusion pairs"
    )
    parser.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="NAME",
        help="a category column for the tags CSV; repeat (default: the presets)",
    )
    parser.add_argument("--out", metavar="FILE.csv", help="write the sample as a tags CSV")
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Sample the errors and (optionally) write the tags CSV; returns (JSON data, text)."""
    from diagnostics.errors import (  # loaded when run, not when registered
        DEFAULT_SAMPLE_SIZE,
        confusion_pairs,
        dev_error_summary,
        sample_errors,
    )
    from diagnostics.ingest import read_predictions
    from diagnostics.output_files import check_output, write_output
    from diagnostics.tags import TagTable, write_tags_csv

    check_seed(args.seed)
    if args.out:
        check_output(args.out, [args.predictions])
    predictions = read_predictions(args.predictions, metric="error")
    summary = dev_error_summary(predictions)
    size = DEFAULT_SAMPLE_SIZE if args.n is None else args.n
    sample = sample_errors(predictions, size, seed=args.seed, stratify=args.stratify)
    pairs = confusion_pairs(predictions)
    categories = _categories(args.category)
    if args.out:
        table = TagTable.blank(sample["id"], categories)
        context = sample.set_index("id").to_dict(orient="index")
        content = write_tags_csv(table, context).encode("utf-8")
        write_output(args.out, content, inputs=[args.predictions])
    data = {
        **summary,
        "n": len(sample),
        "seed": args.seed,
        "stratified": args.stratify,
        "sample_ids": sample["id"].tolist(),
        "confusion_pairs": [
            {
                "y_true": _plain(r.y_true),
                "y_pred": _plain(r.y_pred),
                "count": int(r.count),
                "share": float(r.share),
            }
            for r in pairs.head(PAIRS_IN_JSON).itertuples(index=False)
        ],
        "confusion_pairs_total": len(pairs),
        "out": args.out,
    }
    return data, _render(data, categories)


def _categories(names: list[str]) -> tuple[str, ...]:
    from diagnostics.tags import PRESET_CATEGORIES, check_category_name

    chosen: list[str] = []
    for name in names:
        chosen.append(check_category_name(name, chosen))
    return tuple(chosen) or PRESET_CATEGORIES


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _render(data: dict, categories) -> str:
    lines = [
        f"Dev set: {data['dev_size']:,} examples, {data['dev_errors']:,} misclassified "
        f"({data['dev_error'] * 100:.1f}%)",
        f"Sampled {data['n']} errors (seed {data['seed']}"
        f"{', stratified by confusion pair' if data['stratified'] else ''})",
        "",
        f"Top confusion pairs (true → predicted), of {data['confusion_pairs_total']}",
    ]
    for pair in data["confusion_pairs"][:PAIRS_SHOWN]:
        lines.append(
            f"  {pair['y_true']!s:>12} → {pair['y_pred']!s:<12}{pair['count']:>8,}"
            f"{pair['share']:>8.1%}"
        )
    if data["out"]:
        lines += [
            "",
            f"Wrote {data['out']}: one row per sampled error, columns for {', '.join(categories)}.",
            "Put 1 in each category that applies (several may), 1 in 'reviewed' for rows "
            "without a category, then run:",
            f"  python -m strategy_app ceiling {data['out']} --dev-error "
            f"{data['dev_error'] * 100:.2f}% --dev-errors {data['dev_errors']}",
        ]
    return "\n".join(lines)

"""``split``: a split plan for a dataset size (or source/target sizes), or applied to a file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from diagnostics.splitnames import SPLIT_LABELS, SPLITS
from diagnostics.validation import InputError, check_seed
from strategy_app.shell.flags import add_json_flag

if TYPE_CHECKING:
    from diagnostics.splits import SplitPlan

USAGE_HINT = "use 'split --size N', 'split --source N --target M' or 'split assign DATA --out FILE'"


def register(subparsers) -> None:
    """Add the ``split`` command (and its ``assign`` verb)."""
    parser = subparsers.add_parser(
        "split",
        help="design train/train-dev/dev/test splits, or write a split column into a dataset",
        description="Plan splits for a dataset size (--size N) or for mismatched data "
        "(--source N --target M), or apply a plan to a CSV/Parquet file: "
        "'split assign DATA --out FILE'.",
    )
    parser.add_argument("verb", nargs="?", metavar="assign", help="apply a plan to DATA")
    parser.add_argument("data", nargs="?", metavar="DATA", help="CSV or Parquet file to split")
    parser.add_argument("--size", metavar="N", help="number of examples (one distribution)")
    parser.add_argument("--source", metavar="N", help="examples from the source distribution")
    parser.add_argument("--target", metavar="M", help="examples from the target distribution")
    parser.add_argument("--source-name", default="source", help="name of the source, e.g. web")
    parser.add_argument("--target-name", default="target", help="name of the target, e.g. phone")
    parser.add_argument("--no-test", action="store_true", help="no test set (not recommended)")
    parser.add_argument("--no-train-dev", action="store_true", help="no train-dev set")
    parser.add_argument(
        "--min-difference",
        metavar="R",
        help="smallest error difference dev must detect (e.g. 0.5%%): sizes dev and test",
    )
    parser.add_argument(
        "--baseline-error", metavar="R", help="expected error rate for the power calculation"
    )
    parser.add_argument(
        "--disagreement",
        metavar="R",
        help="share of dev examples two models disagree on (e.g. 2%%): sizes dev for McNemar's "
        "paired test with --min-difference",
    )
    parser.add_argument("--out", metavar="FILE", help="assign: where to write DATA with a split")
    parser.add_argument("--label", metavar="COLUMN", help="assign: stratify by this label")
    parser.add_argument("--group", metavar="COLUMN", help="assign: keep each group in one split")
    parser.add_argument("--source-column", metavar="COLUMN", help="assign: source/target column")
    parser.add_argument("--target-value", metavar="V", help="assign: the target's value in it")
    parser.add_argument(
        "--fractions", metavar="SPEC", help="assign: e.g. train=80%%,dev=10%%,test=10%%"
    )
    parser.add_argument("--hash-column", metavar="COLUMN", help="assign: find duplicate inputs")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Plan (or plan and assign); returns (JSON data, text)."""
    if args.verb is None:
        return _plan_command(args)
    if args.verb != "assign":
        raise InputError(f"split: unknown action '{args.verb}'; {USAGE_HINT}")
    return _assign_command(args)


def _options(args) -> dict:
    from strategy_app.splits.service import plan_options  # loaded when run, not when registered

    return plan_options(
        test=not args.no_test,
        train_dev=not args.no_train_dev,
        min_difference=args.min_difference,
        baseline_error=args.baseline_error,
        disagreement=args.disagreement,
    )


def _plan_command(args) -> tuple[dict, str]:
    from strategy_app.splits.service import plan_from_sizes

    assign_only = [
        f for f in ("out", "label", "group", "source_column", "fractions") if getattr(args, f)
    ]
    if assign_only:
        flag = "--" + assign_only[0].replace("_", "-")
        raise InputError(f"{flag} belongs to 'split assign DATA --out FILE'")
    plan = plan_from_sizes(
        size=args.size,
        source=args.source,
        target=args.target,
        source_name=args.source_name,
        target_name=args.target_name,
        options=_options(args),
    )
    if plan is None:
        raise InputError(f"split needs a size: {USAGE_HINT}")
    return plan.to_dict(), render_plan(plan)


def _assign_command(args) -> tuple[dict, str]:
    from diagnostics.output_files import check_output, write_output, write_with_column
    from diagnostics.split_assign import SPLIT_COLUMN, check_same_format, read_dataset
    from diagnostics.splits import SplitPlan
    from strategy_app.splits.service import AssignRequest, assign, split_values

    if not args.data:
        raise InputError("split assign needs a DATA file (CSV or Parquet) and --out FILE")
    if not args.out:
        raise InputError("split assign needs --out FILE for the data with its split column")
    for flag in ("size", "source", "target"):
        if getattr(args, flag) is not None:
            raise InputError(f"split assign takes sizes from DATA; drop --{flag}")
    if bool(args.source_column) != bool(args.target_value):
        raise InputError("--source-column and --target-value go together (e.g. device, phone)")
    if args.fractions and args.source_column:
        raise InputError(
            "--fractions and --source-column exclude each other: a mismatched "
            "plan comes from the source and target counts"
        )
    check_seed(args.seed)
    check_output(args.out, [args.data])
    check_same_format(args.out, args.data)
    name = Path(args.data).name
    frame = read_dataset(args.data)
    request = AssignRequest(
        label=args.label,
        group=args.group,
        source_column=args.source_column,
        target_value=args.target_value,
        source_name=args.source_name,
        hash_column=args.hash_column,
        fractions=args.fractions,
        seed=args.seed,
    )
    result = assign(frame, request, _options(args), name=name)
    values = split_values(result)
    write_output(
        args.out,
        lambda stream: write_with_column(args.data, SPLIT_COLUMN, values, stream),
        inputs=[args.data],
    )
    plan = result.plan
    data = {
        **(plan.to_dict() if isinstance(plan, SplitPlan) else {"fractions_requested": plan}),
        "data": str(args.data),
        "out": str(args.out),
        "rows": len(frame),
        "seed": args.seed,
        "assigned": result.assigned,
        "leakage": result.leakage.to_dict(),
        "assign_warnings": result.shortfalls,
    }
    lines = [render_plan(plan)] if isinstance(plan, SplitPlan) else []
    lines.append(
        f"Wrote {args.out}: {len(frame):,} rows with a '{SPLIT_COLUMN}' column (seed {args.seed})"
    )
    lines.extend(f"  {SPLIT_LABELS[s]:<10}{n:>12,}" for s, n in result.assigned.items())
    lines.extend(f"  ! {m}" for m in [*result.shortfalls, *result.leakage.messages()])
    if result.leakage.clean:
        lines.append("  no leakage: no identical rows or groups in two splits")
    return data, "\n".join(lines)


def render_plan(plan: SplitPlan) -> str:
    """The readable plan table, notes and warnings."""
    lines = [f"Split plan ({plan.regime.replace('_', ' ')}, {plan.total:,} examples)"]
    lines.append(f"  {'split':<10}{'count':>12}{'share':>9}   from")
    for name in SPLITS:
        parts = ", ".join(f"{n:,} {src}" for src, n in plan.composition[name].items() if n)
        share = f"{plan.fractions[name] * 100:.2f}%"
        lines.append(f"  {SPLIT_LABELS[name]:<10}{plan.counts[name]:>12,}{share:>9}   {parts}")
    lines.append("")
    lines.extend(f"  - {note}" for note in plan.notes)
    if plan.warnings:
        lines.append("")
        lines.extend(f"  ! {warning}" for warning in plan.warnings)
    return "\n".join(lines)

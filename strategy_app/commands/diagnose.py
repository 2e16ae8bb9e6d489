"""``diagnose``: the error waterfall from a predictions file or typed split levels."""

from __future__ import annotations

from diagnostics.fastscan import ScanResult, scan_split_metrics
from diagnostics.rates import METRICS, parse_metric_value
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError
from diagnostics.waterfall import (
    GAP_LABELS,
    LEVEL_LABELS,
    Diagnosis,
    diagnose,
    diagnose_slices,
    parse_human_level,
    slices_to_dict,
)
from strategy_app.cli import add_json_flag

LEVEL_FLAGS = {"train": "--train", "train_dev": "--train-dev", "dev": "--dev", "test": "--test"}


def register(subparsers) -> None:
    """Add the ``diagnose`` command."""
    parser = subparsers.add_parser(
        "diagnose",
        help="the error waterfall and what to fix next",
        description="Compute the waterfall human → train → train-dev → dev → test from a "
        "predictions file (CSV/Parquet) or typed levels, and the ordered action plan.",
    )
    add_level_arguments(parser)
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def add_level_arguments(parser) -> None:
    """The predictions file and the level flags shared by ``diagnose`` and ``report``."""
    parser.add_argument("predictions", nargs="?", help="predictions file (CSV or Parquet)")
    parser.add_argument(
        "--human",
        action="append",
        default=[],
        metavar="[NAME=]R",
        help="human-level error, e.g. 1%% or 'expert=0.7%%'; repeat for several (best is used)",
    )
    for level, flag in LEVEL_FLAGS.items():
        parser.add_argument(flag, dest=level, metavar="R", help=f"{level} level, e.g. 8%% or 0.08")
    parser.add_argument("--metric", choices=METRICS, help="error (default), mae or rmse")
    parser.add_argument("--unit", default="", help="unit of a regression metric, e.g. ₹")
    parser.add_argument("--slice", metavar="COLUMN", help="one waterfall per value of COLUMN")


def run(args) -> tuple[dict, str]:
    """Diagnose from the file or the typed levels; returns (JSON data, text)."""
    diagnosis, slices, _ = diagnosis_from_args(args)
    data = diagnosis.to_dict()
    if args.slice:
        data["slices"] = slices_to_dict(args.slice, slices)
    return data, render_text(diagnosis, slices, args.slice)


def diagnosis_from_args(args) -> tuple[Diagnosis, list, ScanResult | None]:
    """The diagnosis, per-slice diagnoses and file scan (None for typed levels) of the flags."""
    typed = {level: getattr(args, level) for level in SPLITS if getattr(args, level) is not None}
    slices = []
    scan = None
    if args.predictions:
        if typed:
            flags = ", ".join(LEVEL_FLAGS[level] for level in typed)
            raise InputError(f"give either a predictions file or typed levels ({flags}), not both")
        scan = scan_split_metrics(args.predictions, metric=args.metric, slice_column=args.slice)
        humans = _humans(args.human, scan.metric)
        diagnosis = diagnose(scan.splits, humans, metric=scan.metric, unit=args.unit)
        if args.slice:
            slices = diagnose_slices(scan.slices, humans, metric=scan.metric, unit=args.unit)
    else:
        if args.slice:
            raise InputError("--slice needs a predictions file")
        metric = args.metric or "error"
        levels = {
            level: parse_metric_value(text, metric, what=LEVEL_FLAGS[level])
            for level, text in typed.items()
        }
        diagnosis = diagnose(levels, _humans(args.human, metric), metric=metric, unit=args.unit)
    return diagnosis, slices, scan


def _humans(texts: list[str], metric: str):
    return [parse_human_level(t, metric, index=i) for i, t in enumerate(texts, start=1)]


def render_text(diagnosis: Diagnosis, slices=(), slice_column: str | None = None) -> str:
    """The readable table, action plan and warnings printed without ``--json``."""
    fmt = diagnosis.fmt
    lines = [f"Waterfall ({diagnosis.metric}{', ' + diagnosis.unit if diagnosis.unit else ''})"]
    lines.append(f"  {'level':<10}{'value':>10}   {'95% interval':<22}{'n':>10}")
    for level, value in diagnosis.levels.items():
        if value is None:
            continue
        est = diagnosis.intervals.get(level)
        interval = f"{fmt(est.low)} – {fmt(est.high)}" if est else ""
        count = f"{est.n:,}" if est else ""
        lines.append(f"  {LEVEL_LABELS[level]:<10}{fmt(value):>10}   {interval:<22}{count:>10}")
    lines.append("")
    lines.append(f"  {'gap':<18}{'size':>10}   note")
    for name, gap in diagnosis.gaps.items():
        note = "within noise" if gap.within_noise else ""
        if diagnosis.priority and name == diagnosis.priority[0]:
            note = "← fix this first"
        lines.append(f"  {GAP_LABELS[name]:<18}{fmt(gap.value, signed=True):>10}   {note}")
    lines.append("")
    if diagnosis.recommendations:
        lines.append("Action plan")
        for i, rec in enumerate(diagnosis.recommendations, start=1):
            lines.append(f"  {i}. {GAP_LABELS[rec['gap']]} ({fmt(rec['size'])}): {rec['reason']}")
            lines.extend(f"     - {action}" for action in rec["actions"])
    else:
        lines.append("Action plan: no gap stands out above the noise.")
    if diagnosis.warnings:
        lines.append("")
        lines.append("Warnings")
        lines.extend(f"  ! {warning}" for warning in diagnosis.warnings)
    if slices:
        lines.append("")
        lines.append(f"Slices by {slice_column} (largest gap first)")
        for value, d in slices:
            gap = d.largest_gap()
            top = f"{GAP_LABELS[gap.name]} {d.fmt(gap.value)}" if gap else "no gap above noise"
            shown = ", ".join(
                f"{LEVEL_LABELS[k]} {d.fmt(v)}" for k, v in d.levels.items() if v is not None
            )
            lines.append(f"  {value}: {top}  ({shown})")
    return "\n".join(lines)

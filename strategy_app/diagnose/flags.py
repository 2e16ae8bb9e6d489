"""The predictions-or-typed-levels flags shared by ``diagnose`` and ``report`` (parsing only:
the diagnosis comes from :mod:`strategy_app.diagnose.service`)."""

from __future__ import annotations

from diagnostics.fastscan import ScanResult, scan_split_metrics
from diagnostics.rates import METRICS, parse_metric_value
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError
from diagnostics.waterfall import Diagnosis, diagnose, parse_human_levels
from strategy_app.diagnose.service import diagnose_scan

LEVEL_FLAGS = {"train": "--train", "train_dev": "--train-dev", "dev": "--dev", "test": "--test"}


def add_human_arguments(parser) -> None:
    """``--human`` (repeatable), ``--metric`` and ``--unit``: how every command that makes a
    waterfall (``diagnose``, ``report``, ``compare``) is told the human levels and metric."""
    parser.add_argument(
        "--human",
        action="append",
        default=[],
        metavar="[NAME=]R",
        help="human-level error, e.g. 1%% or 'expert=0.7%%'; repeat for several (best is used)",
    )
    parser.add_argument("--metric", choices=METRICS, help="error (default), mae or rmse")
    parser.add_argument("--unit", default="", help="unit of a regression metric, e.g. ₹")


def add_level_arguments(parser) -> None:
    """The predictions file and the level flags shared by ``diagnose`` and ``report``."""
    parser.add_argument("predictions", nargs="?", help="predictions file (CSV or Parquet)")
    add_human_arguments(parser)
    for level, flag in LEVEL_FLAGS.items():
        parser.add_argument(flag, dest=level, metavar="R", help=f"{level} level, e.g. 8%% or 0.08")
    parser.add_argument("--slice", metavar="COLUMN", help="one waterfall per value of COLUMN")


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
        found = diagnose_scan(scan, parse_human_levels(args.human, scan.metric), unit=args.unit)
        diagnosis, slices = found.diagnosis, found.slices
    else:
        if args.slice:
            raise InputError("--slice needs a predictions file")
        metric = args.metric or "error"
        levels = {
            level: parse_metric_value(text, metric, what=LEVEL_FLAGS[level])
            for level, text in typed.items()
        }
        humans = parse_human_levels(args.human, metric)
        diagnosis = diagnose(levels, humans, metric=metric, unit=args.unit)
    return diagnosis, slices, scan

"""The predictions-or-typed-levels flags shared by ``diagnose`` and ``report`` (parsing only:
the diagnosis comes from :mod:`strategy_app.diagnose.service`)."""

from __future__ import annotations

from diagnostics.fastscan import ScanResult
from diagnostics.rates import METRICS, parse_metric_value
from diagnostics.slices import scan_sliced
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError
from diagnostics.waterfall import Diagnosis, diagnose, parse_human_levels
from strategy_app.diagnose.service import FloorReport, diagnose_scan, measure_floor

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
    parser.add_argument(
        "--annotations",
        metavar="FILE",
        help="labels several people gave (CSV/Parquet: id, annotator, label; optional "
        "reference, soft_<class>): measured human levels and the floor",
    )
    parser.add_argument(
        "--features",
        metavar="DATASET",
        help="with --annotations: the dataset's numeric features by id (CSV/Parquet), to "
        "estimate label noise under a measured shift from a model cross-validated on each split",
    )


def diagnosis_from_args(
    args,
) -> tuple[Diagnosis, list, ScanResult | None, FloorReport | None]:
    """The diagnosis, per-slice diagnoses, file scan (None for typed levels) and what the
    annotations measure (None without ``--annotations``) of the flags."""
    typed = {level: getattr(args, level) for level in SPLITS if getattr(args, level) is not None}
    slices = []
    scan = None
    floor = None
    if args.predictions:
        if typed:
            flags = ", ".join(LEVEL_FLAGS[level] for level in typed)
            raise InputError(f"give either a predictions file or typed levels ({flags}), not both")
        scan = scan_sliced(args.predictions, metric=args.metric, slice_column=args.slice)
        humans = parse_human_levels(args.human, scan.metric)
        if args.annotations:
            floor = measure_floor(
                args.predictions,
                args.annotations,
                metric=scan.metric,
                features_path=args.features,
            )
            humans = parse_human_levels([*humans, *floor.panel.human_levels()])
        elif args.features:
            raise InputError("--features is for the label noise of --annotations: give both")
        found = diagnose_scan(scan, humans, unit=args.unit)
        diagnosis, slices = found.diagnosis, found.slices
        if floor is not None:
            diagnosis.noise_bands = floor.bands()
    else:
        given = [f for f, v in (("--slice", args.slice), ("--annotations", args.annotations),
                                 ("--features", args.features)) if v]  # fmt: skip
        if given:
            raise InputError(f"{given[0]} needs a predictions file")
        metric = args.metric or "error"
        levels = {
            level: parse_metric_value(text, metric, what=LEVEL_FLAGS[level])
            for level, text in typed.items()
        }
        humans = parse_human_levels(args.human, metric)
        diagnosis = diagnose(levels, humans, metric=metric, unit=args.unit)
    return diagnosis, slices, scan, floor

"""``learning-curve``: train on fractions of train (or read versions trained on different
amounts of data), fit the curve, forecast dev error with more data."""

from __future__ import annotations

import json

from diagnostics.validation import InputError
from strategy_app.shell.flags import add_json_flag


def register(subparsers) -> None:
    """Add the ``learning-curve`` command."""
    parser = subparsers.add_parser(
        "learning-curve",
        help="what more data is worth: dev error forecast at 2×, 4×, 10× the data",
        description="Train the model on nested, stratified fractions of train (several seeds at "
        "the small ones) through the search's workers, score each run with the waterfall, fit "
        "err(n) = a + b·n^(-c) and forecast dev error at 2×, 4× and 10× the data with a "
        "bootstrap interval. Or give predictions files with the train size each was trained on "
        "(--run FILE N, repeated). With --target-pool, the value of target data for data "
        "mismatch: dev error and the mismatch gap as k pool rows join training (k = 0 and the "
        "--fractions of the pool), fitted as err(k) = a + b·(k + m)^(-c).",
    )
    parser.add_argument("--dataset", metavar="SPEC", help="digits, classification, csv:PATH, …")
    parser.add_argument("--label", metavar="COLUMN", help="label column of a csv:/parquet: dataset")
    parser.add_argument(
        "--objective", metavar="MODULE:FUNCTION", help="your objective(params, context)"
    )
    parser.add_argument(
        "--params",
        metavar="JSON",
        default="{}",
        help='fixed parameters, e.g. {"C": 1}',
    )
    parser.add_argument(
        "--fractions", default="1/16,1/8,1/4,1/2,1", help="fractions of train (default 1/16…1)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="runs per fraction below 1")
    parser.add_argument(
        "--target-pool",
        metavar="SPLIT|COLUMN=VALUE",
        help="measure what target rows are worth: the dataset's rows of this split (e.g. pool), "
        "or its train rows with COLUMN=VALUE (the split designer's leftover target, e.g. "
        "device=phone), moved into training k at a time",
    )
    parser.add_argument(
        "--epochs", type=int, default=5, help="--target-pool without --objective: MLP epochs"
    )
    parser.add_argument(
        "--run",
        nargs=2,
        action="append",
        metavar=("PREDICTIONS", "TRAIN_SIZE"),
        help="a predictions file and how many train rows its model saw (repeat; no training)",
    )
    parser.add_argument("--metric", choices=("error", "mae", "rmse"), help="default: detected")
    parser.add_argument("--study", help="study name (run it again to resume)")
    parser.add_argument("--storage", help="Optuna storage URL (default: the data folder's)")
    parser.add_argument("--data-dir", default="data", help="where runs are kept")
    parser.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--gpus", default="", help="GPU indices, one per worker, e.g. 0,1")
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Measure (or read) the points, fit, forecast; returns (JSON data, text)."""
    from strategy_app.curve import service

    if args.target_pool:
        return target_run(args)
    if args.run:
        if args.dataset or args.objective:
            raise InputError("learning-curve: give --run files or --dataset/--objective, not both")
        runs = []
        for path, size in args.run:
            try:
                runs.append((path, int(size)))
            except ValueError:
                raise InputError(f"--run {path} {size}: the train size must be a count") from None
        result = service.curve_from_runs(runs, metric=args.metric)
    else:
        result = service.measure_curve(**_training(args))
    return result, service.render_text(result)


def _training(args) -> dict:
    """The flags every measured curve takes, as the service's keywords."""
    names = ("objective", "dataset", "label", "fractions", "seeds", "study", "storage")
    more = ("data_dir", "workers", "device", "gpus", "metric")
    return {name: getattr(args, name) for name in names + more} | {"params": _params(args.params)}


def _params(text: str) -> dict:
    """``--params``: a JSON object of fixed parameters."""
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--params: not JSON ({exc.msg}); e.g. '{{\"C\": 1.0}}'") from None
    if not isinstance(params, dict):
        raise InputError('--params: give a JSON object, e.g. {"C": 1.0}')
    return params


def target_run(args) -> tuple[dict, str]:
    """``--target-pool``: the target-data curve; returns (JSON data, text)."""
    from strategy_app.curve import target_service

    if args.run:
        raise InputError("learning-curve: --target-pool trains; give --dataset, not --run files")
    if not args.dataset:
        raise InputError(
            "learning-curve --target-pool needs --dataset csv:FILE (its rows mark the pool); "
            "with --objective, your objective reads the same file as context.dataset"
        )
    result = target_service.measure_target_curve(
        **_training(args), pool=args.target_pool, epochs=args.epochs
    )
    return result, target_service.render_target_text(result)

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
        "(--run FILE N, repeated). With --project the result is kept with the project's current "
        "version (or --version N) and shown on Diagnose and in its report; --project alone fits "
        "the versions' saved train sizes (--train-size vN=ROWS saves them). With --target-pool, "
        "the value of target data for data mismatch: dev error and the mismatch gap as k pool "
        "rows join training (k = 0 and the --fractions of the pool), fitted as "
        "err(k) = a + b·(k + m)^(-c); with --project it is kept with the version too.",
    )
    parser.add_argument("--dataset", metavar="SPEC", help="digits, classification, csv:PATH, …")
    parser.add_argument("--label", metavar="COLUMN", help="label column of a csv:/parquet: dataset")
    parser.add_argument(
        "--objective",
        metavar="MODULE:FUNCTION",
        help="your objective(params, context) (default with --dataset: the built-in MLP; "
        "diagnostics.search.curve:logistic_regression is scikit-learn's logistic regression)",
    )
    parser.add_argument(
        "--command",
        dest="train_command",
        metavar="'CMD {train_fraction} {predictions}'",
        help="your training script, run per point as an argument list (no shell), as "
        "search --command: {train_fraction}, {target_k} and {seed} say what this run trains on, "
        "{predictions} is the file it must write, {name} a --params value",
    )
    parser.add_argument(
        "--trial-timeout", type=float, metavar="S", help="--command: kill a run after S seconds"
    )
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the built-in MLP")
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
        "--run",
        nargs=2,
        action="append",
        metavar=("PREDICTIONS", "TRAIN_SIZE"),
        help="a predictions file and how many train rows its model saw (repeat; no training)",
    )
    parser.add_argument(
        "--project", metavar="NAME", help="keep the curve with this saved project's version"
    )
    parser.add_argument("--version", metavar="N", help="the project's version (default current)")
    sizes_help = "with --project: save how many train rows version N's model saw (repeat)"
    parser.add_argument("--train-size", action="append", metavar="vN=ROWS", help=sizes_help)
    parser.add_argument(
        "--curve",
        metavar="CURVE.json",
        help="with --project: keep this learning-curve --json (with or without --target-pool)",
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
    """Measure (or read) the points, fit, forecast; with ``--project`` keep the result with a
    version (or fit the versions' saved train sizes); returns (JSON data, text)."""
    from strategy_app.curve import service, target_service

    sources = [
        bool(args.run),
        bool(args.dataset or args.objective or args.train_command),
        bool(args.curve),
    ]
    if args.target_pool:
        _target_flags(args)
    elif sum(sources) > 1:
        raise InputError(
            "learning-curve: give one of --run files, --dataset/--objective/--command or --curve, "
            "not both"
        )
    if args.train_size and any(sources):
        raise InputError("learning-curve: --train-size goes with --project alone (no training)")
    if not args.project and (args.version or args.train_size or args.curve):
        raise InputError("learning-curve: --version, --train-size and --curve go with --project")
    if args.project and (args.train_size or not any(sources)):
        return _saved_sizes(args)
    if args.project:  # refused before any training; the version is pinned by its number
        args.version = str(_with_version(args, lambda store, project, version: version.number))
    if args.curve:
        result = service.read_curve(args.curve, kind=None)  # either kind, as the file says
    elif args.run:
        runs = []
        for path, size in args.run:
            try:
                runs.append((path, int(size)))
            except ValueError:
                raise InputError(f"--run {path} {size}: the train size must be a count") from None
        result = service.curve_from_runs(runs, metric=args.metric)
    else:  # a learning curve, or with --target-pool a target-data curve
        result = service.measure_curve(**_training(args), pool=args.target_pool)
    kind = service.curve_kind(result)
    render = target_service.render_target_text if kind == service.TARGET else service.render_text
    text = render(result)
    if args.project:
        try:
            saved_in = _with_version(
                args, lambda store, project, version: _keep(store, project, version, result, kind)
            )
        except InputError as exc:
            rerun = f"; the study {result['study']} keeps its runs" if result.get("study") else ""
            raise InputError(f"{exc}: nothing was kept{rerun}") from None
        result = {**result, "saved": saved_in}
        text += f"\nKept with {saved_in['version']} of project {saved_in['project']}."
    return result, text


def _training(args) -> dict:
    """The flags every measured curve takes, as the service's keywords."""
    names = ("dataset", "label", "fractions", "seeds", "study", "storage")
    more = ("data_dir", "workers", "device", "gpus", "metric", "epochs")
    params = _params(args.params)
    return {name: getattr(args, name) for name in names + more} | {
        "params": params,
        "objective": _objective(args, params),
    }


def _objective(args, params: dict):
    """``--objective`` as given, or ``--command`` as the command door's objective."""
    from diagnostics.search.script import CommandObjective

    if args.train_command and args.objective:
        raise InputError("learning-curve: give --objective or --command, not both")
    if not args.train_command:
        if args.trial_timeout:
            raise InputError("learning-curve: --trial-timeout goes with --command")
        return args.objective
    return CommandObjective.parse(args.train_command, args.trial_timeout, list(params))


def _params(text: str) -> dict:
    """``--params``: a JSON object of fixed parameters."""
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--params: not JSON ({exc.msg}); e.g. '{{\"C\": 1.0}}'") from None
    if not isinstance(params, dict):
        raise InputError('--params: give a JSON object, e.g. {"C": 1.0}')
    return params


def _with_version(args, work):
    """``work(store, project, version)`` on the version ``--project``/``--version`` name."""
    from strategy_app.curve.saved import named_version
    from strategy_app.shell.flags import project_named
    from strategy_app.store import open_store

    store = open_store()
    try:
        project = project_named(store, args.project)
        return work(store, project, named_version(store, project.id, args.version))
    finally:
        store.close()


def _keep(store, project, version, result: dict, kind: str) -> dict:
    from strategy_app.auth import LOCAL_USER
    from strategy_app.curve.saved import save_version_curve

    save_version_curve(store, version, result, LOCAL_USER, kind)
    return {"project": project.name, "version": version.name}


def _saved_sizes(args) -> tuple[dict, str]:
    """``--project`` without a source: save ``--train-size`` values, fit the saved sizes."""
    from strategy_app.auth import LOCAL_USER
    from strategy_app.curve import saved, service
    from strategy_app.shell.flags import project_named
    from strategy_app.store import open_store

    store = open_store()
    try:
        project = project_named(store, args.project)
        sizes = {}
        for item in args.train_size or []:
            number, sep, rows = item.partition("=")
            if not sep:
                raise InputError(f"--train-size {item}: write vN=ROWS, e.g. v2=4000")
            version = saved.named_version(store, project.id, number)
            sizes[version.id] = saved.train_size_value(rows, f"--train-size {item}")
        saved.save_train_sizes(store, project.id, sizes, LOCAL_USER)
        result = saved.sizes_curve(store, project.id)
    finally:
        store.close()
    if result is None:
        raise InputError(
            f"project '{project.name}': no version has a train size; give --train-size vN=ROWS"
        )
    text = "\n".join(filter(None, [service.render_text(result), result.get("left_out")]))
    return result, text


def _target_flags(args) -> None:
    """``--target-pool``'s flags: it trains on a dataset's file (refused in one line otherwise)."""
    if args.run:
        raise InputError("learning-curve: --target-pool trains; give --dataset, not --run files")
    if args.curve or args.train_size:
        raise InputError(
            "learning-curve: --target-pool trains; to keep a target-data curve's JSON give "
            "--curve FILE --project NAME without --target-pool"
        )
    if not args.dataset:
        raise InputError(
            "learning-curve --target-pool needs --dataset csv:FILE (its rows mark the pool); "
            "with --objective, your objective reads the same file as context.dataset"
        )

"""``search``: hyperparameter search (PyTorch + Optuna), plain or coarse-to-fine, with workers."""

from __future__ import annotations

import sys

from diagnostics.rates import METRICS, format_value
from diagnostics.search.choices import PRUNERS, SAMPLERS, parse_gpus
from diagnostics.validation import InputError
from strategy_app.search.dataset_flags import (
    add_dataset_arguments,
    classification_options,
    resolve_project_dataset,
)
from strategy_app.shell.flags import add_json_flag


def register(subparsers) -> None:
    """Add the ``search`` command."""
    parser = subparsers.add_parser(
        "search",
        help="hyperparameter search: random/TPE/grid, pruning, coarse-to-fine, workers",
        description="Search an MLP's hyperparameters with Optuna over a persistent study; write "
        "the best model and its predictions on every split (a file `diagnose` reads).",
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=("run", "ask", "tell"),
        default="run",
        help="run a search (default); ask: print one trial's parameters as JSON; tell: score a "
        "trial's --predictions",
    )
    add_dataset_arguments(parser)
    parser.add_argument(
        "--settings",
        metavar="FILE.json",
        help="run the search a settings file describes (what the app writes for its worker "
        "processes); the other search flags are then not read",
    )
    parser.add_argument(
        "--objective",
        metavar="PKG.MODULE:FUNCTION",
        help="your objective(params, context) returning predictions (id, split, y_true, "
        "y_pred); needs --space. builtin:cnn: the built-in small CNN for an image dataset "
        "(--dataset csv:FILE with id, split, input naming image files, label)",
    )
    parser.add_argument(
        "--command",
        dest="train_command",
        metavar="'CMD {param} {predictions}'",
        help="a training command run per trial as an argument list (no shell): {name} is a "
        "parameter, {predictions} the file it must write, {params} a JSON file of all; progress "
        'as JSON lines {"step": 3, "dev_error": 0.12} on stdout; needs --space',
    )
    parser.add_argument(
        "--trial-timeout", type=float, metavar="S", help="--command: kill a trial after S seconds"
    )
    parser.add_argument(
        "--optimize",
        default="dev_error",
        metavar="TARGET[,TARGET]",
        help="minimise dev_error (default), a gap (avoidable_bias, variance, data_mismatch, "
        "dev_overfitting), or two: dev_error,data_mismatch or dev_error,time",
    )
    parser.add_argument(
        "--constraint", metavar="GAP<=VALUE", help="e.g. data_mismatch<=0.02 (TPE, NSGA-II)"
    )
    parser.add_argument("--metric", choices=METRICS, help="error, mae or rmse (default: detected)")
    parser.add_argument(
        "--human", action="append", default=[], metavar="[NAME=]R", help="human-level error"
    )
    parser.add_argument(
        "--gpus",
        metavar="0,1",
        help="with --device cuda: worker i trains on the i-th of these GPUs (context.device)",
    )
    parser.add_argument(
        "--keep", type=int, default=5, help="trials whose predictions are kept (default 5)"
    )
    parser.add_argument("--trial", type=int, metavar="N", help="tell: the trial number")
    parser.add_argument("--predictions", metavar="FILE", help="tell: the trial's predictions")
    parser.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="default tpe")
    parser.add_argument("--pruner", choices=PRUNERS, default="median", help="default median")
    parser.add_argument(
        "--trials",
        type=int,
        default=20,
        help="planned trials (per round), default 20; the same --study again finishes the plan",
    )
    parser.add_argument(
        "--add-trials",
        type=int,
        default=0,
        metavar="N",
        help="extend a plain study's plan by N trials (resuming it)",
    )
    parser.add_argument("--epochs", type=int, default=5, help="epochs per trial (round 1)")
    parser.add_argument(
        "--rounds", type=int, help="coarse-to-fine rounds (epochs double each round)"
    )
    parser.add_argument("--final-epochs", type=int, help="epochs to train the finalists")
    parser.add_argument("--top-k", type=int, default=5, help="trials a round narrows around")
    parser.add_argument(
        "--promote",
        type=int,
        default=2,
        help="best configurations of a round trained again first in the next (default 2)",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes sharing the study")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--storage", metavar="URL|FILE", help="Optuna URL or journal file path")
    parser.add_argument("--study", metavar="NAME", help="study name; the same name resumes")
    parser.add_argument(
        "--join",
        action="store_true",
        help="add --workers to a running --study (e.g. from another machine); settings come "
        "from the study",
    )
    parser.add_argument("--space", metavar="FILE.json", help="search space (default: tiered)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: data/search/NAME)")
    parser.add_argument(
        "--mlflow",
        metavar="URI",
        help="log every trial to this MLflow tracking URI (e.g. sqlite:///mlflow.db; needs the "
        "[tracking] extra), one experiment per study",
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Run the search; progress goes to stderr, the result is returned."""
    import optuna  # torch and Optuna: imported only when used

    from diagnostics.search.rounds import join_study, run_search
    from diagnostics.search.settings import SearchSettings
    from diagnostics.search.space import SearchSpace
    from diagnostics.search.training import PARAM_NAMES, pick_device
    from strategy_app.store import data_dir, database_url

    if args.action != "run":
        return ask_or_tell(args)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our progress line says it all
    if args.settings:
        from diagnostics.search.settings import read_settings
        from strategy_app.search.shared import share_run_folder

        settings = read_settings(args.settings)
        pick_device(settings.device)
        label = settings.goal.targets[0]
        result = run_search(settings, progress=ProgressLine(label))
        if settings.out_dir and settings.data_dir:  # a page's run: its team's servers see it
            share_run_folder(settings.out_dir, settings.data_dir, result)
        return result, render_text(result)
    pick_device(args.device)  # refuse --device cuda without CUDA before any trial starts
    user = objective_settings(args)
    if args.join and args.mlflow:
        raise InputError(
            "--mlflow logs the trials of the machine that starts the study, not --join"
        )
    if args.join:
        if not args.study:
            raise InputError("--join needs the --study to join (and its --storage)")
        joined = join_study(
            args.storage,
            args.study,
            workers=args.workers,
            threads=args.threads,
            device=args.device,
            progress=ProgressLine(),
            data_dir=str(data_dir()),
            team_storage=database_url(),
        )
        return joined, (
            f"Joined study {joined['study']}: {joined['complete']} complete, "
            f"{joined['pruned']} pruned, best {_pct(joined['best_value'])}"
        )
    resolve_project_dataset(args)
    settings = SearchSettings(
        dataset=args.dataset,
        label=args.label,
        classification=classification_options(args),
        sampler=args.sampler,
        pruner=args.pruner,
        trials=args.trials,
        add_trials=args.add_trials,
        epochs=args.epochs,
        rounds=args.rounds,
        final_epochs=args.final_epochs,
        top_k=args.top_k,
        promote=args.promote,
        workers=args.workers,
        threads=args.threads,
        storage=args.storage,
        team_storage=database_url(),
        study=args.study,
        seed=args.seed,
        space=user.pop("space", None)
        or (SearchSpace.load(args.space, PARAM_NAMES) if args.space else SearchSpace.default()),
        device=args.device,
        data_dir=str(data_dir()),
        out_dir=args.out,
        mlflow=args.mlflow,
        **user,
    )
    label = settings.goal.targets[0]
    result = run_search(settings, progress=ProgressLine(label))
    return result, render_text(result)


def objective_settings(args) -> dict:
    """The user-objective settings of the flags (empty for the built-in MLP)."""
    from diagnostics.search.cnn import CNN, CNN_SPACE
    from diagnostics.search.objective import Goal, load_objective
    from diagnostics.search.script import CommandObjective
    from diagnostics.search.space import SearchSpace

    if args.objective and args.train_command:
        raise InputError("give --objective or --command, not both")
    if not (args.objective or args.train_command):
        extra = [
            flag
            for flag, value in (
                ("--trial-timeout", args.trial_timeout),
                ("--constraint", args.constraint),
                ("--optimize", args.optimize != "dev_error"),
                ("--metric", args.metric),
                ("--human", args.human),
            )
            if value
        ]
        if extra:
            raise InputError(f"{extra[0]} goes with --objective or --command")
        return {"gpus": parse_gpus(args.gpus), "keep": args.keep}
    builtin_cnn = args.objective == CNN
    if not args.space and not builtin_cnn:
        raise InputError("--objective/--command need --space FILE.json (your parameters)")
    space = SearchSpace.load(args.space) if args.space else SearchSpace.from_dict(CNN_SPACE)
    if args.train_command:
        names = [p.name for p in space.params]
        objective = CommandObjective.parse(args.train_command, args.trial_timeout, names)
    else:
        if args.trial_timeout:
            raise InputError("--trial-timeout goes with --command")
        if not builtin_cnn:
            load_objective(args.objective)  # refuse an objective that cannot be imported, now
        objective = args.objective
    return {
        "objective": objective,
        "space": space,
        "goal": Goal.parse(args.optimize, args.constraint),
        "metric": args.metric,
        "human": tuple(args.human),
        "gpus": parse_gpus(args.gpus),
        "keep": args.keep,
    }


def ask_or_tell(args) -> tuple[dict, str]:
    """``search ask`` / ``search tell``: one trial out, one trial's predictions in."""
    import json

    from diagnostics.search.asktell import ask, tell
    from diagnostics.search.objective import Goal
    from diagnostics.search.space import SearchSpace
    from strategy_app.store import data_dir, database_url

    if not args.study:
        raise InputError(f"search {args.action} needs --study NAME")
    if args.action == "ask":
        result = ask(
            args.storage,
            args.study,
            space=SearchSpace.load(args.space) if args.space else None,
            goal=Goal.parse(args.optimize, args.constraint),
            sampler=args.sampler,
            seed=args.seed,
            dataset=args.dataset,
            metric=args.metric,
            human=tuple(args.human),
            data_dir=str(data_dir()),
            team_storage=database_url(),
        )
        return result, json.dumps(result["params"])
    if args.trial is None or not args.predictions:
        raise InputError("search tell needs --trial N and --predictions FILE")
    told = tell(
        args.storage,
        args.study,
        args.trial,
        args.predictions,
        data_dir=str(data_dir()),
        team_storage=database_url(),
    )
    levels = ", ".join(f"{k} {_pct(v)}" for k, v in told["levels"].items() if v is not None)
    return told, f"Trial {told['trial']} of {told['study']} told: {levels}"


class ProgressLine:
    """Print one progress line on stderr whenever the counts change."""

    def __init__(self, label: str = "dev_error") -> None:
        self.last: str | None = None
        self.label = label.replace("_", " ")

    def __call__(self, progress: dict) -> None:
        """Print the line if anything changed."""
        done = progress["complete"] + progress["pruned"]
        best = progress["best_value"]
        line = (
            f"[{progress['study']}] round {progress['round']}: {done}/{progress['target']} "
            f"finished ({progress['complete']} complete, {progress['pruned']} pruned, "
            f"{progress['fail']} failed, {progress['running']} running)"
            + (f", best {self.label} {_pct(best)}" if best is not None else "")
        )
        if line != self.last:
            print(line, file=sys.stderr, flush=True)
            self.last = line


def render_text(result: dict) -> str:
    """The readable summary: rounds and their spaces, the winner, top trials, outputs."""
    best = result["best"]
    lines = [f"Study {result['study']} in {result['storage']}"]
    if "objective" in result:
        lines.append(f"Objective: {result['objective']}; minimising {_goal(result['goal'])}")
    for rnd in result["rounds"]:
        lines.append(
            f"  round {rnd['round']} ({rnd['study']}, {rnd['epochs']} epochs): "
            f"{rnd['n_complete']} complete, {rnd['n_pruned']} pruned, "
            f"{rnd['carried_over']} carried over, best {_pct(rnd['best_value'])}"
        )
        if len(result["rounds"]) > 1:
            lines.extend(f"      {name}: {_span(spec)}" for name, spec in rnd["space"].items())
    lines.append("")
    if "objective" in result:
        metric = result["metric"] or "error"
        shown = ", ".join(
            f"{name} {format_value(value, metric)}"
            for name, value in best["levels"].items()
            if value is not None
        )
        lines.append(f"Best (trial {best['trial']} of {best['study']}): {shown}")
        if result.get("pareto"):
            lines.append(f"Pareto front: trials {', '.join(map(str, result['pareto']))}")
        failed = [t for t in result["trials"] if t["state"] == "fail" and t["error"]]
        lines.extend(f"  failed: {t['error']}" for t in failed[:5])
    else:
        lines.append(
            f"Best (trial {best['trial']} of {best['study']}, retrained {best['epochs']} "
            f"epochs): dev accuracy {_pct(best['dev_accuracy'])}, test accuracy "
            f"{_pct(best['test_accuracy'])}"
        )
    lines.extend(f"  {name} = {_value(value)}" for name, value in best["params"].items())
    if result["importances"]:
        shown = ", ".join(f"{k} {v:.2f}" for k, v in result["importances"].items())
        lines.append(f"Importance: {shown}")
    if result.get("stopped"):
        lines.append(f"Stopped early; resume with --study {result['study']} (same --storage).")
    lines.append("")
    lines.append(f"Predictions: {result['predictions']}")
    lines.append(f"  next: python -m strategy_app diagnose {result['predictions']} --human 0%")
    if result["model"]:
        lines.append(f"Model weights: {result['model']}")
    return "\n".join(lines)


def _goal(goal: dict) -> str:
    text = " and ".join(goal["targets"])
    if goal.get("constraint"):
        text += f" with {goal['constraint'][0]} <= {goal['constraint'][1]:g}"
    return text


def _span(spec: dict) -> str:
    if spec["type"] == "choice":
        return ", ".join(map(str, spec["choices"]))
    return f"{_value(spec['low'])} … {_value(spec['high'])} ({spec['type']})"


def _value(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _pct(value) -> str:
    return format_value(value, "error")

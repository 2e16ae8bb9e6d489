"""``search``: hyperparameter search (PyTorch + Optuna), plain or coarse-to-fine, with workers."""

from __future__ import annotations

import sys

from diagnostics.rates import format_value
from diagnostics.search.choices import PRUNERS, SAMPLERS
from diagnostics.validation import InputError
from strategy_app.cli import add_json_flag
from strategy_app.search.dataset_flags import (
    add_dataset_arguments,
    classification_options,
    resolve_project_dataset,
)


def register(subparsers) -> None:
    """Add the ``search`` command."""
    parser = subparsers.add_parser(
        "search",
        help="hyperparameter search: random/TPE/grid, pruning, coarse-to-fine, workers",
        description="Search an MLP's hyperparameters with Optuna over a persistent study; write "
        "the best model and its predictions on every split (a file `diagnose` reads).",
    )
    add_dataset_arguments(parser)
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

    pick_device(args.device)  # refuse --device cuda without CUDA before any trial starts
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our progress line says it all
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
        space=SearchSpace.load(args.space, PARAM_NAMES) if args.space else SearchSpace.default(),
        device=args.device,
        data_dir=str(data_dir()),
        out_dir=args.out,
        mlflow=args.mlflow,
    )
    result = run_search(settings, progress=ProgressLine())
    return result, render_text(result)


class ProgressLine:
    """Print one progress line on stderr whenever the counts change."""

    def __init__(self) -> None:
        self.last: str | None = None

    def __call__(self, progress: dict) -> None:
        """Print the line if anything changed."""
        done = progress["complete"] + progress["pruned"]
        best = progress["best_value"]
        line = (
            f"[{progress['study']}] round {progress['round']}: {done}/{progress['target']} "
            f"finished ({progress['complete']} complete, {progress['pruned']} pruned, "
            f"{progress['fail']} failed, {progress['running']} running)"
            + (f", best dev accuracy {best:.1%}" if best is not None else "")
        )
        if line != self.last:
            print(line, file=sys.stderr, flush=True)
            self.last = line


def render_text(result: dict) -> str:
    """The readable summary: rounds and their spaces, the winner, top trials, outputs."""
    best = result["best"]
    lines = [f"Study {result['study']} in {result['storage']}"]
    for rnd in result["rounds"]:
        lines.append(
            f"  round {rnd['round']} ({rnd['study']}, {rnd['epochs']} epochs): "
            f"{rnd['n_complete']} complete, {rnd['n_pruned']} pruned, "
            f"{rnd['carried_over']} carried over, best {_pct(rnd['best_value'])}"
        )
        if len(result["rounds"]) > 1:
            lines.extend(f"      {name}: {_span(spec)}" for name, spec in rnd["space"].items())
    lines.append("")
    lines.append(
        f"Best (trial {best['trial']} of {best['study']}, retrained {best['epochs']} epochs): "
        f"dev accuracy {_pct(best['dev_accuracy'])}, test accuracy {_pct(best['test_accuracy'])}"
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
    lines.append(f"Model weights: {result['model']}")
    return "\n".join(lines)


def _span(spec: dict) -> str:
    if spec["type"] == "choice":
        return ", ".join(map(str, spec["choices"]))
    return f"{_value(spec['low'])} … {_value(spec['high'])} ({spec['type']})"


def _value(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _pct(value) -> str:
    return format_value(value, "error")

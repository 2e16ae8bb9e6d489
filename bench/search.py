"""Search benchmarks (issue 6): ratios against anchors measured in this same process.

1. overhead: our runner (journal storage, heartbeats, per-epoch history) vs a bare
   ``optuna.create_study().optimize`` with a hand-written torch loop, on the same trials, at 8
   epochs and at ``--long-epochs`` (40), and from the two the runner's extra time split into a
   part per trial and a part per epoch, with the epochs where the ratio reaches 0.95, in wall
   and in CPU seconds;
2. parallel: 2 worker processes vs 1 (one torch thread each, trials of about 0.6 s), with the
   trials each run and the share of the round its workers spent in them;
3. sample efficiency on make_classification (30,000 × 40, 5 classes): coarse-to-fine vs random
   vs TPE at about equal compute (epochs), over seeds;
4. LR finder vs torch-lr-finder (bench/requirements.txt): time, and 5-epoch dev accuracy at each
   tool's suggestion over seeds.

Run: ``python bench/search.py [--quick]``. ``--quick`` shrinks every part (a smoke run);
``--hidden-units 256`` trains a wider MLP in the overhead and parallel parts (longer steps: how
the ratio moves when a step costs more than this 64-unit MLP's 0.2 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import optuna
import torch
from torch import nn

from diagnostics.lr_finder import lr_range_test
from diagnostics.search.datasets import ClassificationOptions, load_dataset
from diagnostics.search.model import build_mlp
from diagnostics.search.rounds import run_search
from diagnostics.search.settings import RoundJob, SearchSettings
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import open_storage
from diagnostics.search.training import TrainConfig, train_model
from diagnostics.search.workers import run_round


def bare_objective(data, epochs: int):
    """The anchor: a bare Optuna objective whose hand-written torch loop trains what our runner
    trains for the same parameters (:data:`SAME_TRIAL`): the same MLP, SGD with momentum, batch
    size and steps per epoch (whole passes, at least the config's minimum), dev accuracy after
    every epoch."""
    space = SearchSpace.default()
    x, y = torch.as_tensor(data.x["train"]), torch.as_tensor(data.y["train"])
    x_dev, y_dev = torch.as_tensor(data.x["dev"]), torch.as_tensor(data.y["dev"])

    def objective(trial):
        c = TrainConfig.from_params(space.suggest(trial), epochs=epochs, seed=0)
        assert c.optimizer == "sgd" and c.lr_decay == "none" and c.warmup_epochs == 0
        torch.manual_seed(c.seed)
        model = build_mlp(
            data.n_features,
            data.n_classes,
            layers=c.layers,
            hidden_units=c.hidden_units,
            dropout=c.dropout,
            batch_norm=c.batch_norm,
        )
        opt = torch.optim.SGD(
            model.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay
        )
        gen = torch.Generator().manual_seed(c.seed)
        passes = math.ceil(c.min_steps_per_epoch / math.ceil(len(y) / c.batch_size))
        for _ in range(c.epochs):
            model.train()
            for _ in range(passes):
                order = torch.randperm(len(y), generator=gen)
                for start in range(0, len(y), c.batch_size):
                    batch = order[start : start + c.batch_size]
                    loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
            model.eval()
            with torch.no_grad():
                accuracy = (model(x_dev).argmax(1) == y_dev).float().mean().item()
        return accuracy

    return objective


def same_trials(study: optuna.Study, trials: int) -> optuna.Study:
    """``study`` with :data:`SAME_TRIAL` enqueued ``trials`` times: both sides of a comparison
    then train the same model with the same parameters."""
    encoded = SearchSpace.default().encode(SAME_TRIAL)
    for _ in range(trials):
        study.enqueue_trial(encoded)
    return study


def overhead(folder: Path, trials: int, epochs: int, repeat: int) -> dict[str, tuple[float, float]]:
    """Our runner against bare Optuna + torch, both training :data:`SAME_TRIAL` ``trials``
    times, so the ratio is the runner's own cost (storage, heartbeats, history, the waterfall of
    each trial's predictions, the dataset's load in the worker), not a difference in the models
    trained. The three take turns ``repeat`` times (best of each), so a change in the machine's
    load falls on all of them; the runner's extra time is also given per trial (:func:`crossing`
    splits it into a part per trial and a part per epoch from two trial lengths). CPU seconds
    (this process: every contender runs in it) are printed beside the wall times: on a shared
    machine they move less with the load. Returns the journal anchor's and our runner's seconds
    per trial, wall and CPU."""
    data = load_dataset("digits")
    space = SearchSpace.default()
    settings = SearchSettings(
        dataset="digits",
        sampler="random",
        pruner="none",
        trials=trials,
        data_dir=str(folder),
        out_dir=str(folder),  # the trials' scratch folders: never the checkout
    )
    torch.set_num_threads(1)
    same_trials(optuna.create_study(direction="maximize"), 2).optimize(
        bare_objective(data, 1), n_trials=2
    )  # warm-up: first-optimizer imports
    times: dict[str, list[float]] = {"bare": [], "journal": [], "ours": []}
    cpu: dict[str, list[float]] = {"bare": [], "journal": [], "ours": []}
    for round_ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        study = same_trials(optuna.create_study(direction="maximize"), trials)
        study.optimize(bare_objective(data, epochs), n_trials=trials)
        times["bare"].append(time.perf_counter() - start)
        cpu["bare"].append(time.process_time() - cpu_start)
        bare_best = study.best_value
        start, cpu_start = time.perf_counter(), time.process_time()
        storage = open_storage(str(folder / f"bare{epochs}-{round_}.log"))
        study = same_trials(optuna.create_study(direction="maximize", storage=storage), trials)
        study.optimize(bare_objective(data, epochs), n_trials=trials)
        times["journal"].append(time.perf_counter() - start)
        cpu["journal"].append(time.process_time() - cpu_start)
        name = f"overhead{epochs}-{round_}"
        spec = str(folder / f"{name}.log")
        study = optuna.create_study(  # the runner minimises dev error, as for every objective
            study_name=name, storage=open_storage(spec), direction="minimize"
        )
        same_trials(study, trials)
        start, cpu_start = time.perf_counter(), time.process_time()
        ours_study = run_round(RoundJob(settings, spec, name, space, epochs, trials))
        times["ours"].append(time.perf_counter() - start)
        cpu["ours"].append(time.process_time() - cpu_start)
    bare, bare_journal, ours = (min(times[k]) for k in ("bare", "journal", "ours"))
    cpu_bare, cpu_journal, cpu_ours = (min(cpu[k]) for k in ("bare", "journal", "ours"))
    spread = ", ".join(f"{k} {max(v):.2f}" for k, v in times.items())
    print(
        f"overhead: {trials} × the same trial ({SAME_TRIAL}) × {epochs} epochs on digits, "
        f"Optuna {optuna.__version__}, torch {torch.__version__}, best of {repeat} rounds in "
        f"turns (slowest: {spread} s): bare optuna+torch in memory {bare:.2f} s (anchor), the "
        f"same on a journal file {bare_journal:.2f} s, our runner (journal file, heartbeats, "
        f"history, waterfall per trial) {ours:.2f} s; best dev accuracy bare {bare_best:.4f}, "
        f"ours {1 - ours_study.best_value:.4f}; {_machine()}"
    )
    print(
        f"  throughput ratio vs bare in memory {bare / ours:.2f}, vs bare on the same journal "
        f"file {bare_journal / ours:.2f} (goal ≥ 0.95); the runner's extra time "
        f"{(ours - bare_journal) / trials * 1000:.1f} ms per trial over the journal anchor, on "
        f"trials of {bare_journal / trials * 1000:.0f} ms"
    )
    print(
        f"  CPU seconds (best of {repeat}): bare in memory {cpu_bare:.2f}, on the journal file "
        f"{cpu_journal:.2f}, our runner {cpu_ours:.2f}; CPU ratio vs bare in memory "
        f"{cpu_bare / cpu_ours:.2f}, vs the journal anchor {cpu_journal / cpu_ours:.2f}"
    )
    return {
        "wall": (bare_journal / trials, ours / trials),
        "CPU": (cpu_journal / trials, cpu_ours / trials),
    }


def crossing(
    short: tuple[int, tuple[float, float]], long: tuple[int, tuple[float, float]], clock: str
) -> None:
    """From the overhead at two trial lengths (epochs, (journal anchor, ours) s per trial): the
    runner's extra time as a fixed part per trial plus a part per epoch, and the epochs at which
    the throughput ratio against the journal anchor reaches 0.95 (never, when the per-epoch part
    alone is over 1/0.95 − 1 of the anchor's epoch)."""
    (e1, (b1, o1)), (e2, (b2, o2)) = short, long
    per_epoch = ((o2 - b2) - (o1 - b1)) / (e2 - e1)
    fixed = (o1 - b1) - per_epoch * e1
    bare_epoch = (b2 - b1) / (e2 - e1)
    bare_fixed = b1 - bare_epoch * e1
    # ratio = bare(E) / ours(E) ≥ 0.95  ⇔  E·(0.95·(bare_epoch + per_epoch) − bare_epoch)
    #                                       ≤ bare_fixed − 0.95·(bare_fixed + fixed)
    slope = 0.95 * (bare_epoch + per_epoch) - bare_epoch
    bound = bare_fixed - 0.95 * (bare_fixed + fixed)
    if slope < 0:
        reach = f"from about {max(bound / slope, 0):.0f} epochs"
    elif bound < 0:
        reach = "never, at any number of epochs"
    else:
        reach = "at every length" if slope == 0 else f"up to about {bound / slope:.0f} epochs"
    print(
        f"overhead model ({clock}) from {e1} and {e2} epochs: the runner's extra time is "
        f"{fixed * 1000:.1f} ms per trial + {per_epoch * 1000:.2f} ms per epoch (the journal "
        f"anchor's epoch: {bare_epoch * 1000:.2f} ms); the ratio vs the journal anchor reaches "
        f"0.95 {reach}"
    )


def _machine() -> str:
    """The load average and the core count, printed beside every figure that needs idle cores."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"load average {load} (1, 5, 15 min) on {os.cpu_count()} cores"


SAME_TRIAL = {
    "lr": 0.01,
    "momentum": 0.9,
    "hidden_units": 64,
    "batch_size": 64,
    "layers": 2,
    "lr_decay": "none",
}


def parallel(folder: Path, trials: int, epochs: int) -> None:
    times, busy = {}, {}
    for workers in (1, 2):
        settings = SearchSettings(
            dataset="digits",
            sampler="random",
            pruner="none",
            trials=trials,
            workers=workers,
            data_dir=str(folder),
            out_dir=str(folder),
        )
        spec, name = str(folder / f"parallel{workers}.log"), f"parallel{workers}"
        study = optuna.create_study(
            study_name=name, storage=open_storage(spec), direction="minimize"
        )
        same_trials(study, trials)  # the same trial, so both runs do exactly the same work
        job = RoundJob(settings, spec, name, SearchSpace.default(), epochs, trials)
        start = time.perf_counter()
        study = run_round(job)
        times[workers] = time.perf_counter() - start
        durations = [t.duration.total_seconds() for t in study.trials if t.duration]
        # the plan's trials (queued first: numbers 0 to trials - 1); the rest of the workers'
        # time is process start, dataset and study load, the round's end and any trial past
        # the plan
        planned = [t.duration.total_seconds() for t in study.trials[:trials] if t.duration]
        busy[workers] = sum(planned) / (workers * times[workers])
        print(
            f"parallel: {workers} worker(s): {len(study.trials)} trials run for a plan of "
            f"{trials} in {times[workers]:.1f} s (median trial {statistics.median(durations):.2f} "
            f"s; the workers spent {busy[workers]:.1%} of the round in the plan's trials)"
        )
    print(
        f"parallel: 2 workers vs 1: {times[1] / times[2]:.2f}× throughput (goal ≥ 1.8; each "
        f"worker its own process with {settings.threads} torch thread, so 2 workers "
        f"need 2 idle cores); {_machine()}"
    )
    print(
        f"parallel: what the same trial times would give (an idle machine, where a trial takes "
        f"as long beside another): 2 × {busy[2]:.1%} / {busy[1]:.1%} = "
        f"{2 * busy[2] / busy[1]:.2f}×"
    )


def efficiency(folder: Path, seeds: int, scale: float) -> None:
    options = ClassificationOptions(n_samples=30_000, n_features=40, n_classes=5)
    plans = {
        "random": {"sampler": "random", "trials": int(16 * scale), "epochs": 3},
        "tpe": {"sampler": "tpe", "trials": int(16 * scale), "epochs": 3},
        "coarse-to-fine": {
            "sampler": "tpe",
            "trials": int(8 * scale),
            "epochs": 2,
            "rounds": 2,
            "finalists": 2,
            "final_epochs": 4,
        },
    }
    curves: dict[str, list] = {name: [] for name in plans}
    for seed in range(seeds):
        for name, plan in plans.items():
            result = run_search(
                SearchSettings(
                    dataset="classification",
                    classification=options,
                    seed=seed,
                    data_dir=str(folder),
                    study=f"{name}-{seed}",
                    **plan,
                )
            )
            curves[name].append(_curve(result))
    random_best = [curve[-1][1] for curve in curves["random"]]
    # equal compute: per seed, every strategy's best within the smallest total any of them spent
    budgets = [min(runs[seed][-1][0] for runs in curves.values()) for seed in range(seeds)]
    print(
        f"efficiency: make_classification 30,000×40, 5 classes, {seeds} seeds, median pruner; "
        "compute = epochs trained (pruned trials count what they ran); equal compute = "
        f"the smallest total of the strategies, per seed (mean {statistics.mean(budgets):.0f})"
    )
    for name, runs in curves.items():
        best = statistics.mean(run[-1][1] for run in runs)
        spent = statistics.mean(run[-1][0] for run in runs)
        at_budget = statistics.mean(
            _best_within(run, budget) for run, budget in zip(runs, budgets, strict=True)
        )
        reach = [_epochs_to(run, target) for run, target in zip(runs, random_best, strict=True)]
        share = [r / rnd[-1][0] for r, rnd in zip(reach, curves["random"], strict=True) if r]
        shown = f"{statistics.mean(share):.0%} of random's compute" if share else "never"
        print(
            f"  {name:<15} mean best dev accuracy {at_budget:.2%} at equal compute, "
            f"{best:.2%} after all its {spent:.0f} epochs (mean); "
            f"reaches random's final best in {sum(map(bool, reach))}/{seeds} seeds, "
            f"on average with {shown}"
        )


def _curve(result: dict) -> list[tuple[int, float]]:
    """(cumulative epochs, best dev accuracy so far) after each trial, then each finalist."""
    points, spent, best = [], 0, 0.0
    for trial in result["trials"]:
        if trial["state"] not in ("complete", "pruned"):
            continue
        spent += trial["epochs_run"]
        if trial["state"] == "complete":
            best = max(best, 1 - trial["value"])  # the study minimises dev error
        points.append((spent, best))
    if len(result["rounds"]) > 1:
        for finalist in result["finalists"]:
            spent += result["best"]["epochs"]
            best = max(best, finalist["dev_accuracy"])
            points.append((spent, best))
    return points


def _best_within(curve, budget: int) -> float:
    """The best dev accuracy a curve reached within ``budget`` epochs."""
    return max((best for spent, best in curve if spent <= budget), default=0.0)


def _epochs_to(curve, target: float):
    return next((spent for spent, best in curve if best >= target - 1e-9), None)


def lr_finder(seeds: int) -> None:
    import matplotlib.pyplot
    import torch_lr_finder
    from torch_lr_finder import LRFinder

    data = load_dataset("digits")
    dataset = torch.utils.data.TensorDataset(
        torch.as_tensor(data.x["train"]), torch.as_tensor(data.y["train"])
    )
    times = {"ours": [], "torch-lr-finder": []}
    suggestions = {"ours": [], "torch-lr-finder": []}
    for seed in range(seeds):
        order = list(times) if seed % 2 == 0 else list(times)[::-1]  # neither always goes first
        for tool in order:
            torch.manual_seed(seed)
            model = build_mlp(data.n_features, data.n_classes)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-7)
            loader = torch.utils.data.DataLoader(
                dataset, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed)
            )
            start = time.perf_counter()
            if tool == "ours":
                result = lr_range_test(model, optimizer, nn.CrossEntropyLoss(), loader)
                times[tool].append(time.perf_counter() - start)
                suggestions[tool].append(result.suggested_lr)
            else:
                with (
                    contextlib.redirect_stderr(io.StringIO()),
                    contextlib.redirect_stdout(io.StringIO()),
                ):
                    finder = LRFinder(model, optimizer, nn.CrossEntropyLoss())
                    finder.range_test(loader, end_lr=10, num_iter=100)
                    finder.reset()
                    times[tool].append(time.perf_counter() - start)
                    _, lr = finder.plot(suggest_lr=True)
                matplotlib.pyplot.close("all")
                suggestions[tool].append(lr)
    print(
        f"lr-finder: Adam, batch 64, 100 steps, digits; torch-lr-finder "
        f"{torch_lr_finder.__version__ if hasattr(torch_lr_finder, '__version__') else '0.2.2'}"
    )
    ratio = statistics.median(times["ours"]) / statistics.median(times["torch-lr-finder"])
    print(f"  time ratio ours / torch-lr-finder: {ratio:.2f} (goal ≤ 1.1)")
    for tool, lrs in suggestions.items():
        accuracies = [
            train_model(
                TrainConfig(optimizer="adam", lr=lr, epochs=5, seed=seed), data
            ).dev_accuracy
            for seed, lr in enumerate(lrs)
        ]
        print(
            f"  {tool:<16} suggestions {', '.join(f'{lr:.1e}' for lr in lrs)}; 5-epoch dev "
            f"accuracy mean {statistics.mean(accuracies):.2%}, spread (max−min) "
            f"{max(accuracies) - min(accuracies):.2%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--only", choices=("overhead", "parallel", "efficiency", "lr"))
    parser.add_argument("--repeat", type=int, default=3, help="overhead: rounds in turns")
    parser.add_argument(
        "--hidden-units",
        type=int,
        default=SAME_TRIAL["hidden_units"],
        help="overhead and parallel: the same trial's hidden units (a wider MLP: longer steps)",
    )
    parser.add_argument(
        "--long-epochs",
        type=int,
        default=40,
        help="overhead: also the same trial at this many epochs (0: skip)",
    )
    args = parser.parse_args()
    SAME_TRIAL["hidden_units"] = args.hidden_units
    print(f"optuna {optuna.__version__}, torch {torch.__version__}, {os.cpu_count()} cpus")
    quick = args.quick
    torch.set_num_threads(1)
    train_model(TrainConfig(epochs=1), load_dataset("digits"))  # warm-up: lazy imports
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "overhead"):
            epochs = 2 if quick else 8
            short = overhead(folder, trials=4 if quick else 12, epochs=epochs, repeat=args.repeat)
            if args.long_epochs > epochs:
                long = overhead(
                    folder, trials=4 if quick else 12, epochs=args.long_epochs, repeat=args.repeat
                )
                for clock in ("wall", "CPU"):
                    crossing((epochs, short[clock]), (args.long_epochs, long[clock]), clock)
        if args.only in (None, "parallel"):
            parallel(folder, trials=4 if quick else 16, epochs=5 if quick else 80)
        if args.only in (None, "efficiency"):
            efficiency(folder, seeds=1 if quick else 5, scale=0.5 if quick else 1.0)
        if args.only in (None, "lr"):
            lr_finder(seeds=2 if quick else 5)


if __name__ == "__main__":
    main()

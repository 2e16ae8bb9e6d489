"""Does the default search space work out of the box? (issue 18)

Runs the plain search a new user gets (random sampler, the default space, the default pruner) with
6 trials × 3 epochs on digits, for seeds 0–9, and prints per seed the best trial's dev accuracy,
its learning rate, and whether it reaches 85%. The anchor is the space the desk shipped before
(learning rate 1e-4…0.1, hidden units 16…256, an epoch = one pass over train), run on the same
seeds in the same process.

Run: ``python bench/default_space.py [--seeds 10]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import diagnostics.search.training as training
from diagnostics.search.rounds import run_search
from diagnostics.search.settings import SearchSettings
from diagnostics.search.space import DEFAULT_SPACE, SearchSpace

TARGET = 0.85
TRIALS, EPOCHS = 6, 3
PREVIOUS_SPACE = {
    **DEFAULT_SPACE,
    "lr": {**DEFAULT_SPACE["lr"], "high": 1e-1},
    "hidden_units": {**DEFAULT_SPACE["hidden_units"], "low": 16, "high": 256},
}


def best_trial(seed: int, space: dict) -> dict:
    """The best trial of one 6 × 3 random search (its dev accuracy and learning rate)."""
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stderr(io.StringIO()):
        result = run_search(
            SearchSettings(
                dataset="digits",
                sampler="random",
                trials=TRIALS,
                epochs=EPOCHS,
                seed=seed,
                space=SearchSpace.from_dict(space),
                data_dir=folder,
                study=f"default-space-{seed}",
            )
        )
    error = min(t["value"] for t in result["trials"] if t["value"] is not None)  # dev error
    best = next(t for t in result["trials"] if t["value"] == error)
    retrained = result["best"]["dev_accuracy"]
    return {"value": 1 - error, "lr": best["params"]["lr"], "retrained": retrained}


@contextlib.contextmanager
def one_pass_epochs():
    """Trials whose epoch is one pass over train (the definition before issue 18)."""
    original = training.TrainConfig.from_params.__func__

    def one_pass(cls, params, **overrides):
        return original(cls, params, **{"min_steps_per_epoch": 1, **overrides})

    training.TrainConfig.from_params = classmethod(one_pass)
    try:
        yield
    finally:
        training.TrainConfig.from_params = classmethod(original)


def run(seeds: int, space: dict) -> tuple[list[dict], float]:
    """Best trials over seeds 0..seeds-1 and the seconds they took."""
    start = time.perf_counter()
    rows = [best_trial(seed, space) for seed in range(seeds)]
    return rows, time.perf_counter() - start


def main() -> None:
    """Print the per-seed table for the default space and the previous one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    current, current_s = run(args.seeds, DEFAULT_SPACE)
    with one_pass_epochs():
        anchor, anchor_s = run(args.seeds, PREVIOUS_SPACE)
    print(f"{TRIALS} random trials × {EPOCHS} epochs on digits, best trial's dev accuracy")
    print("anchor: the previous default space (lr ≤ 0.1, 16–256 units, one pass per epoch)")
    print("seed  default  (lr)        retrained  |  anchor  (lr)")
    for seed, (row, old) in enumerate(zip(current, anchor, strict=True)):
        print(
            f"{seed:>4}  {row['value']:6.1%}  ({row['lr']:.2g})".ljust(30)
            + f"{row['retrained']:6.1%}     |  {old['value']:6.1%}  ({old['lr']:.2g})"
        )
    hits = sum(r["value"] >= TARGET for r in current)
    old_hits = sum(r["value"] >= TARGET for r in anchor)
    print(f"default: ≥ {TARGET:.0%} in {hits} of {len(current)} seeds; anchor: {old_hits}")
    print(f"time: default {current_s / anchor_s:.2f}× the anchor ({anchor_s:.0f} s for the anchor)")


if __name__ == "__main__":
    main()

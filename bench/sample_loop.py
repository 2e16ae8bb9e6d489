"""Benchmark: the sample project's loop, end to end: v1 against the searched CNN, without and
with synthesized phone-like training photos (issue 26, item 6).

v1 is ``sample_data/predictions.csv`` (logistic regression on the 64 pixels, trained on web
digits, measured on phone photos). The contenders are :mod:`examples.sample_cnn`, searched on
``sample_data/dataset.csv`` (the same ids and splits) by the desk's own
:func:`diagnostics.run_search`: random sampler (seed 0, so both searches draw the same
settings), ``examples/sample_space.json``'s learning rate, dropout and width, a fixed number of
epochs, once with ``synthesize`` false and once true (phone-like copies of the training photos:
blur, shift, dim, noise); each search keeps its best trial by dev error.

Printed, in Markdown (what sample_data/README.md shows): each version's dev error and gaps with
their 95% intervals (the waterfall Diagnose draws, human level 0.5%); the paired comparisons on
dev (exact McNemar on the shared ids: :func:`diagnostics.compare.compare`); and how many of
v1's dev errors tagged "blurry" each version gets right. The sample ships no tags, so this bench
tags them: v1's dev errors whose recorded capture condition ``blur`` (Gaussian σ, 0.25–0.5 px
on phone photos) is at least 0.4 px are "blurry", the others reviewed without a tag.

The anchor is v1 itself (every change is measured against it, in this process). Run:
``python bench/sample_loop.py [--trials N] [--epochs E]`` (defaults 6 and 10: a few minutes on
2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna
import pandas as pd

from diagnostics import run_search
from diagnostics.compare import Comparison, compare
from diagnostics.ingest import Predictions, read_predictions
from diagnostics.rates import format_value
from diagnostics.tags import TagRow, TagTable
from diagnostics.waterfall import GAP_LABELS, GAPS, HumanLevel
from examples.sample_cnn import DATASET, objective

ROOT = Path(__file__).resolve().parents[1]
V1 = ROOT / "sample_data" / "predictions.csv"
SPACE = ROOT / "examples" / "sample_space.json"
HUMAN = HumanLevel("human", 0.005)
BLURRY, BLUR_AT_LEAST = "blurry", 0.4
SEED = 0
VERSIONS = ("v1 (logistic regression)", "searched CNN", "searched CNN + synthesized")


def search(
    trials: int, epochs: int, synthesize: bool, data_dir: Path
) -> tuple[dict[str, Any], pd.DataFrame, list[float]]:
    """Search the CNN with the desk's ``run_search``: the kept trial's parameters and
    predictions, and every trial's dev error (trial order)."""
    space = json.loads(SPACE.read_text())
    space |= {
        "synthesize": {"type": "choice", "choices": [synthesize]},
        "epochs": {"type": "choice", "choices": [epochs]},
    }
    result = run_search(
        objective,
        space=space,
        dataset=f"csv:{DATASET}",
        trials=trials,
        sampler="random",
        pruner="none",
        seed=SEED,
        study=f"cnn-synthesize-{str(synthesize).lower()}",
        data_dir=data_dir,
    )
    dev_errors = [trial["levels"]["dev"] for trial in result["trials"]]
    return result["best"]["params"], pd.read_csv(result["predictions"]), dev_errors


def blurry_tags(v1: Predictions) -> TagTable:
    """v1's dev errors as reviewed tags: "blurry" where the photo's blur σ ≥ 0.4 px."""
    frame = v1.frame
    errors = frame[(frame["split"] == "dev") & (frame["y_true"] != frame["y_pred"])]
    rows = [
        TagRow(str(i), frozenset({BLURRY}) if blur >= BLUR_AT_LEAST else frozenset(), True)
        for i, blur in zip(errors["id"], errors["blur"], strict=True)
    ]
    return TagTable((BLURRY,), tuple(rows))


def pct(value: float | None, *, signed: bool = False) -> str:
    """A rate as the desk prints it (one decimal)."""
    return format_value(value, "error", "", signed=signed)


def interval(bounds: list[float] | tuple[float, float] | None, *, signed: bool = False) -> str:
    """A 95% interval ``low – high``."""
    if bounds is None:
        return "n/a"
    return f"{pct(bounds[0], signed=signed)} – {pct(bounds[1], signed=signed)}"


def waterfall_table(comparisons: list[Comparison]) -> list[str]:
    """One row per version: dev error and each gap, with their 95% intervals."""
    diagnoses = [comparisons[0].before.to_dict()] + [c.after.to_dict() for c in comparisons]
    head = ["version", "dev error", *(GAP_LABELS[g] for g in GAPS)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, diagnosis in zip(VERSIONS, diagnoses, strict=True):
        cells = [
            name,
            f"{pct(diagnosis['levels']['dev'])} ({interval(diagnosis['intervals']['dev'])})",
        ]
        for gap in GAPS:
            value, bounds = diagnosis["gaps"].get(gap), diagnosis["gap_intervals"].get(gap)
            cells.append(f"{pct(value, signed=True)} ({interval(bounds, signed=True)})")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def paired_table(pairs: list[tuple[str, Comparison]]) -> list[str]:
    """One row per pair: the dev change on shared ids, fixed/broken counts, McNemar's p."""
    head = ["after vs before", "dev change (95% interval)", "shared ids", "fixed", "broken"]
    head.append("exact McNemar p")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, comparison in pairs:
        dev = comparison.levels["dev"]
        test = dev.test
        assert test is not None and dev.paired, "dev must be paired on shared ids"
        lines.append(
            f"| {name} | {pct(test.change, signed=True)} "
            f"({interval((test.low, test.high), signed=True)}) | {dev.n_shared:,} | "
            f"{dev.improved} | {dev.worsened} | {p_value(test.p_value)} |"
        )
    return lines


def p_value(p: float) -> str:
    """A p-value to two significant digits (``< 1e-10`` below that)."""
    return "< 1e-10" if p < 1e-10 else f"{p:.2g}"


def blurry_table(comparisons: list[Comparison]) -> list[str]:
    """How many of v1's "blurry" dev errors each version gets right (Wilson interval)."""
    lines = ["| version | blurry v1 errors fixed | share (95% interval) |", "| --- | --- | --- |"]
    for name, comparison in zip(VERSIONS[1:], comparisons, strict=True):
        assert comparison.categories is not None
        fix = next(c for c in comparison.categories if c.name == BLURRY)
        lines.append(
            f"| {name} | {fix.fixed} of {fix.tagged} | "
            f"{pct(fix.fixed_share)} ({interval(fix.interval)}) |"
        )
    return lines


def main() -> None:
    """Search both arms, compare them with v1, print the Markdown figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    v1 = read_predictions(V1, extra_columns=("blur",))
    tags = blurry_tags(v1)
    after: list[Predictions] = []
    searched = []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    with tempfile.TemporaryDirectory() as scratch:
        for synthesize in (False, True):
            params, frame, dev_errors = search(args.trials, args.epochs, synthesize, Path(scratch))
            searched.append((params, dev_errors))
            after.append(read_predictions(frame, display_name=VERSIONS[1 + synthesize]))
    comparisons = [compare(v1, version, [HUMAN], tags=tags) for version in after]
    between = compare(after[0], after[1], [HUMAN])

    blurry = sum(BLURRY in row.tags for row in tags.rows)
    print(
        f"Search: `run_search(examples.sample_cnn.objective, ...)`, {args.trials} random trials "
        f"(seed {SEED}) of `examples/sample_space.json` (lr, dropout, channels), {args.epochs} "
        "epochs each, once with `synthesize` false and once true; the best trial of each by dev "
        "error is kept. Human level 0.5%."
    )
    for (params, dev_errors), name in zip(searched, VERSIONS[1:], strict=True):
        shown = ", ".join(pct(e) for e in dev_errors)
        chosen = ", ".join(
            f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in params.items()
            if k not in ("epochs", "synthesize")
        )
        print(f"- {name}: trials' dev errors {shown}; kept: {chosen}")
    print()
    print("\n".join(waterfall_table(comparisons)))
    print()
    print("Paired on dev (the same 800 ids):")
    print()
    pairs = [
        (f"{VERSIONS[1]} vs v1", comparisons[0]),
        (f"{VERSIONS[2]} vs v1", comparisons[1]),
        (f"{VERSIONS[2]} vs {VERSIONS[1]}", between),
    ]
    print("\n".join(paired_table(pairs)))
    print()
    for name, comparison in zip(VERSIONS[1:], comparisons, strict=True):
        gap = comparison.gaps["data_mismatch"]
        assert gap.before is not None and gap.after is not None and gap.change is not None
        left = comparison.after.to_dict()["gap_intervals"]["data_mismatch"]
        within = left is not None and left[0] <= 0 <= left[1]
        print(
            f"- Data mismatch, {name}: {pct(gap.after, signed=True)} against v1's "
            f"{pct(gap.before, signed=True)}, a change of {pct(gap.change, signed=True)} "
            f"({interval(gap.interval, signed=True)}): {-gap.change / gap.before:.0%} of v1's gap "
            "removed" + ("; what is left is within noise." if within else ".")
        )
    print()
    print(
        f'Errors tagged "blurry": of v1\'s {len(tags.rows)} dev errors, the {blurry} whose '
        f"photo has blur σ ≥ {BLUR_AT_LEAST} px (tagged by this bench; the sample ships no tags):"
    )
    print()
    print("\n".join(blurry_table(comparisons)))


if __name__ == "__main__":
    main()

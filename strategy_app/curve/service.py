"""Learning curves without the UI: measured through the search's workers, or read from
predictions files with their train sizes; the text, the plan's forecast line and the chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from diagnostics.learning_curve import forecast_line
from diagnostics.validation import InputError

__all__ = ["curve_from_runs", "forecast_line", "measure_curve", "read_curve", "render_text"]


def measure_curve(
    *,
    objective: str | None,
    dataset: str | None,
    params: Mapping[str, Any],
    fractions: str,
    seeds: int,
    label: str | None = None,
    study: str | None = None,
    storage: str | None = None,
    data_dir: str = "data",
    workers: int = 1,
    device: str = "cpu",
    gpus: str = "",
    metric: str | None = None,
    epochs: int = 5,
) -> dict[str, Any]:
    """Train on each fraction (the objective, else the built-in MLP on ``dataset`` for
    ``epochs`` epochs), fit."""
    from diagnostics.search.choices import parse_gpus
    from diagnostics.search.curve import parse_fractions, run_learning_curve

    gpu_list = parse_gpus(gpus)
    return run_learning_curve(
        objective,
        params=params,
        dataset=dataset,
        label=label,
        fractions=parse_fractions(fractions),
        seeds=seeds,
        study=study,
        storage=storage,
        data_dir=data_dir,
        workers=workers,
        device=device,
        gpus=gpu_list,
        metric=metric,
        epochs=epochs,
    )


def curve_from_runs(runs: Sequence[tuple[Any, int]], metric: str | None = None) -> dict[str, Any]:
    """The same fit from predictions files, each with the train size its model saw."""
    from diagnostics.learning_curve import fit_curve, points_from_predictions

    return fit_curve(points_from_predictions(runs, metric=metric)).to_dict()


def render_text(result: Mapping[str, Any]) -> str:
    """The points, the fit, the forecasts and the verdict as a few lines."""
    lines = [f"{'fraction':>9} {'n':>8} {'train':>8} {'dev':>8}  dev range"]
    for p in result["points"]:
        fraction = "" if p["fraction"] is None else f"{p['fraction']:.4g}"
        train = "" if p["train_error"] is None else f"{p['train_error']:.2%}"
        low, high = p["interval"]
        lines.append(
            f"{fraction:>9} {p['n']:>8} {train:>8} {p['dev_error']:>8.2%}  {low:.2%}–{high:.2%}"
        )
    fit = result.get("fit")
    if fit:
        lines.append(
            f"fit: {fit['form']} with a={fit['a']:.4g}, b={fit['b']:.4g}, c={fit['c']:.4g}"
        )
        for f in result["forecasts"]:
            low, high = f["interval"]
            lines.append(
                f"  {f['multiple']:g}× the data (n={f['n']}): dev error {f['dev_error']:.2%} "
                f"({low:.2%}–{high:.2%})"
            )
    lines.append(result.get("verdict") or "")
    for line in (result.get("failures") or []) + [result.get("skipped") or ""]:
        if line:
            lines.append(f"! {line}")
    return "\n".join(lines)


def read_curve(path: str) -> dict[str, Any]:
    """A saved ``learning-curve --json`` result; refused in one line when it is not one."""
    import json
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; write it with learning-curve --json") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: not JSON; give the output of learning-curve --json") from None
    if not isinstance(data, dict) or not {"points", "fit", "forecasts", "runs"} <= set(data):
        raise InputError(
            f"{path}: not a learning curve (no points/fit/forecasts); give learning-curve --json"
        )
    return data


def curve_for_versions(store: Any, sizes: Sequence[tuple[Any, int]]) -> dict[str, Any]:
    """The fit on a project's versions, each with the train size its model saw."""
    from strategy_app.versions.service import require_file

    if not sizes:
        raise InputError("give the train size of at least four versions to fit a curve")
    runs = [(require_file(store, version, "a learning curve"), size) for version, size in sizes]
    return curve_from_runs(runs)

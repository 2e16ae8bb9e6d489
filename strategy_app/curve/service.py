"""Learning curves without the UI: measured through the search's workers, or read from
predictions files with their train sizes; the text, the plan's forecast line and the chart."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from diagnostics.learning_curve import forecast_line
from diagnostics.target_curve import KIND as TARGET_KIND
from diagnostics.target_curve import read_target_curve
from diagnostics.validation import InputError

__all__ = [
    "check_curve",
    "curve_from_runs",
    "curve_kind",
    "forecast_line",
    "measure_curve",
    "read_curve",
    "render_text",
]
CURVE_KEYS = ("points", "runs", "fit", "forecasts")
LEARNING, TARGET = "learning", "target"  # the two kinds of curve a version keeps
_SHAPES = {  # kind: each row's size key, the fit's parameters, the output that makes one
    LEARNING: ("n", ("a", "b", "c"), "learning-curve --json"),
    TARGET: ("k", ("a", "b", "c", "m"), "learning-curve --target-pool … --json"),
}


def measure_curve(
    *,
    objective: Any,
    fractions: str,
    gpus: str = "",
    epochs: int = 5,
    pool: str | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Train the curve's points through the search's workers (the objective, else the built-in
    MLP for ``epochs`` epochs), fit: on each fraction of train, or with ``pool`` (a target-data
    curve) on train plus k = 0 and each fraction of the target pool. ``fractions`` and ``gpus``
    are the flags' text; ``settings`` are the runners' other keywords (dataset, params, seeds,
    study, storage, …)."""
    from diagnostics.search.choices import parse_gpus
    from diagnostics.search.curve import parse_fractions, run_learning_curve
    from diagnostics.search.target import run_target_curve

    if epochs < 1:
        raise InputError("--epochs must be at least 1")
    given: dict[str, Any] = {
        "fractions": parse_fractions(fractions),
        "gpus": parse_gpus(gpus),
        "epochs": epochs,
    }
    if pool is None:
        return run_learning_curve(objective, **given, **settings)
    return run_target_curve(objective, pool=pool, **given, **settings)


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


def curve_kind(curve: Mapping[str, Any]) -> str:
    """:data:`TARGET` for a ``learning-curve --target-pool`` result, else :data:`LEARNING`."""
    return TARGET if curve.get("kind") == TARGET_KIND else LEARNING


def read_curve(path: str, kind: str | None = LEARNING) -> dict[str, Any]:
    """A saved ``learning-curve --json`` result (``kind`` None: either kind of curve, as the
    file's own ``kind`` says); refused in one line when it is not one."""
    import json
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; write it with learning-curve --json") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: not JSON; give the output of learning-curve --json") from None
    if kind is None:
        kind = curve_kind(data) if isinstance(data, dict) else LEARNING
    return check_curve(data, path, kind)


def check_curve(data: Any, source: str, kind: str = LEARNING) -> dict[str, Any]:
    """``data`` when it is a ``learning-curve --json`` result (``kind`` :data:`LEARNING`) or a
    ``learning-curve --target-pool --json`` one (:data:`TARGET`): points, runs, fit and
    forecasts, each of the right shape; refused in one line naming ``source`` otherwise (a
    curve of the other kind included)."""
    size, params, output = _SHAPES[kind]

    def refuse(why: str) -> InputError:
        return InputError(f"{source}: {why}; give the output of {output}")

    is_target = isinstance(data, dict) and data.get("kind") == TARGET_KIND
    if kind == TARGET:
        if not is_target and isinstance(data, dict) and set(CURVE_KEYS) <= set(data):
            raise refuse(
                "a learning curve (learning-curve without --target-pool), not a target-data curve"
            )
        read_target_curve(data, source)  # its kind and keys, in its one line
    elif is_target:
        raise refuse("a target-data curve (learning-curve --target-pool), not a learning curve")
    if not isinstance(data, dict) or not set(CURVE_KEYS) <= set(data):
        raise refuse("not a learning curve (no points/runs/fit/forecasts)")
    for key in ("points", "runs", "forecasts"):
        rows = data[key]
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise refuse(f"'{key}' is not a list of objects")
        for i, row in enumerate(rows):
            if not (_number(row.get(size)) and _number(row.get("dev_error"))):
                raise refuse(f"{key}[{i}] has no numeric {size} and dev_error")
            if key != "runs" and not _pair(row.get("interval")):
                raise refuse(f"{key}[{i}] has no interval [low, high]")
    fit = data["fit"]
    if fit is not None and not (isinstance(fit, dict) and all(_number(fit.get(k)) for k in params)):
        raise refuse(f"'fit' has no numbers {', '.join(params)}")
    if data["forecasts"] and fit is None:
        raise refuse("forecasts without a fit")
    why = _target_extras(data) if kind == TARGET else None
    if why:
        raise refuse(why)
    return data


def _target_extras(data: dict[str, Any]) -> str | None:
    """Why a target-data curve's gap figures cannot be shown (None: they can)."""
    for i, forecast in enumerate(data["forecasts"]):
        if not _number_or_none(forecast.get("gap_closed")):
            return f"forecasts[{i}] has a gap_closed that is not a number"
    half = data.get("half_gap")
    if half is None:
        return None
    interval = half.get("interval") if isinstance(half, dict) else None
    if not (
        isinstance(half, dict)
        and _number(half.get("dev_error"))
        and _number_or_none(half.get("k"))
        and isinstance(interval, list)
        and len(interval) == 2
        and all(_number_or_none(v) for v in interval)
    ):
        return "'half_gap' has no numeric dev_error, k and interval [low, high]"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number_or_none(value: Any) -> bool:
    return value is None or _number(value)


def _pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(_number(v) for v in value)

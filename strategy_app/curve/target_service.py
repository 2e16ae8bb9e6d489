"""Target-data curves without the UI (the value of moving k target examples into training for
data mismatch; measured by :func:`strategy_app.curve.service.measure_curve` with a pool): read
back from their JSON, as text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from diagnostics.validation import InputError


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"


def render_target_text(result: Mapping[str, Any]) -> str:
    """The steps, the fit, the forecasts, half the gap and the verdict as a few lines."""
    pool = result.get("pool") or {}
    lines = [f"target pool {pool.get('spec', '')}: {pool.get('rows', '?')} rows"]
    lines.append(f"{'k':>7} {'n':>8} {'train':>8} {'train-dev':>10} {'dev':>8} {'mismatch':>9}")
    for p in result["points"]:
        lines.append(
            f"{p['k']:>7} {p['n']:>8} {_pct(p['train_error']):>8} "
            f"{_pct(p['train_dev_error']):>10} {p['dev_error']:>8.2%} "
            f"{_pct(p['data_mismatch']):>9}"
        )
    fit = result.get("fit")
    if fit:
        lines.append(
            f"fit: {fit['form']} with a={fit['a']:.4g}, b={fit['b']:.4g}, c={fit['c']:.4g}, "
            f"m={fit['m']:.4g}"
        )
        for f in result["forecasts"]:
            low, high = f["interval"]
            closed = "" if f["gap_closed"] is None else f", {f['gap_closed']:.0%} of the gap closed"
            lines.append(
                f"  k={f['k']:,} ({f['multiple']:g}× the pool): dev error {f['dev_error']:.2%} "
                f"({low:.2%}–{high:.2%}){closed}"
            )
    lines.append(result.get("verdict") or "")
    for line in (result.get("failures") or []) + (result.get("warnings") or []):
        lines.append(f"! {line}")
    return "\n".join(lines)


def parse_target_curve(content: bytes, source: str) -> dict[str, Any]:
    """A ``learning-curve --target-pool --json`` result from a file's bytes (JSON only); refused
    in one line naming ``source`` when it is not one (a learning curve included)."""
    from strategy_app.curve.service import TARGET, check_curve

    try:
        data = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(
            f"{source}: not JSON; give the output of learning-curve --target-pool … --json"
        ) from None
    return check_curve(data, source, TARGET)

"""Parsing and formatting of rates and metric values.

Rates are fractions inside the code and JSON (0.08) and percent in the UI and reports (8.0%).
A typed rate may be ``8%`` or ``0.08``; a bare number above 1 is refused, since ``8`` is
ambiguous (8% or 800%?), and so is a bare ``1`` (1% or 100%?).
"""

from __future__ import annotations

import math
import re
from typing import overload

from diagnostics.validation import InputError

# A plain ASCII decimal (Python's float() would also take 1_0 and non-ASCII digits such as ٨).
NUMBER = re.compile(
    r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|infinity|nan)", re.I
)

RATE_METRICS = ("error",)
DIGITS_KEPT = 12  # past binary noise (0.08 − 0.01 = 0.06999…), before any meaningful digit
REGRESSION_METRICS = ("mae", "rmse")
METRICS = RATE_METRICS + REGRESSION_METRICS


@overload
def clean(value: float) -> float: ...
@overload
def clean(value: None) -> None: ...
def clean(value: float | None) -> float | None:
    """``value`` with binary noise rounded away (0.08 − 0.01 → 0.07, 0.7% → 0.007) and every
    meaningful digit kept: how numbers leave the library (JSON, fractions typed as percent)."""
    return None if value is None else round(float(value), DIGITS_KEPT)


def from_percent(value: float) -> float:
    """A percent typed by a person (0.7) as the fraction it means (exactly 0.007)."""
    return clean(value / 100.0)


def is_rate_metric(metric: str) -> bool:
    """True for metrics that are fractions (error rate), False for unit-carrying ones."""
    return metric in RATE_METRICS


def parse_rate(text: str | float, *, what: str = "rate") -> float:
    """Parse ``"8%"``, ``"8.5 %"`` or ``"0.08"`` into the fraction 0.08.

    Refuses a bare number above 1, a bare ``1`` typed as text (1% or 100%?; the number 1.0
    from code is 100%), negatives, and anything not a number, naming ``what``.
    """
    raw = str(text).strip()
    percent = raw.endswith("%")
    number = raw[:-1].strip() if percent else raw
    if not NUMBER.fullmatch(number):
        raise InputError(f"{what}: '{raw}' is not a rate; write it as 8% or 0.08")
    value = float(number)
    if not math.isfinite(value):
        raise InputError(f"{what}: '{raw}' is not a finite number; write it as 8% or 0.08")
    if percent:
        value = from_percent(value)  # 0.7% is exactly 0.007, not 0.00699…
    elif value == 1 and isinstance(text, str):
        raise InputError(f"{what}: a bare {raw} is ambiguous (1% or 100%?); write 1% or 100%")
    elif value > 1:
        raise InputError(
            f"{what}: {raw} is above 1, so it is not a fraction; write {raw}% for percent "
            f"or {value / 100:g} as a fraction"
        )
    if value < 0 or value > 1:
        raise InputError(f"{what}: '{raw}' must lie between 0% and 100%")
    return value


def parse_metric_value(text: str | float, metric: str, *, what: str = "value") -> float:
    """Parse a level typed by the user: a rate for ``error``, a plain number for MAE/RMSE."""
    if is_rate_metric(metric):
        return parse_rate(text, what=what)
    raw = str(text).strip()
    if raw.endswith("%"):
        raise InputError(
            f"{what}: '{raw}' is a percent, but {metric.upper()} is in the metric's unit"
        )
    if not NUMBER.fullmatch(raw):
        raise InputError(f"{what}: '{raw}' is not a number")
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{what}: '{raw}' must be a finite number ≥ 0")
    return value


def format_value(value: float | None, metric: str, unit: str = "", *, signed: bool = False) -> str:
    """Show a level or gap: ``8.0%`` for rates, ``12.00 ₹`` style for regression metrics."""
    if value is None:
        return "—"
    sign = "+" if signed and value > 0 else ""
    if is_rate_metric(metric):
        return f"{sign}{value * 100:.1f}%"
    text = f"{sign}{value:,.2f}"
    return f"{text} {unit}".rstrip() if unit else text

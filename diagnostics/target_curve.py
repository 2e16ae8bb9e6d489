"""The value of target data for data mismatch: dev error as k target examples join training.

A mismatched project trains mostly on source data while dev and test come from the target (the
data the product sees). Its pool is target data kept out of dev and test (the split designer's
leftover target rows, or rows a dataset marks as the pool). A run at step ``k`` trains on train
plus the first ``k`` rows of a nested, stratified order of the pool (one order per seed:
:func:`~diagnostics.search.fractions.nested_order`), so the rows of a smaller step are among
those of a larger one. Each run is scored by the waterfall: its dev error and its data-mismatch
gap (dev − train-dev; train-dev is source data held out of training).

The fitted form is ``err(k) = a + b * (k + m)**(-c)`` with ``a >= 0``, ``b >= 0``,
``0 < c <= 4`` and ``m > 0``: the learning curve's power law with an asymptote
(:mod:`diagnostics.learning_curve`), in target examples shifted by ``m``, what the source
training data is worth in target examples (so ``k = 0`` is finite). It is fitted by bounded
least squares (:func:`scipy.optimize.least_squares`, from the best start of a grid over ``m``
and ``c`` where ``a`` and ``b`` are non-negative linear least squares), on every run.

Forecasts at 1×, 2×, 4× and 10× the pool carry a 95% bootstrap interval made as the learning
curve's is: points resampled within each step (the seeds), refitted, plus one resampled residual.
The mismatch gap a forecast leaves is its dev error minus the runs' mean train-dev error (adding
target rows is taken not to move the source's held-out error; the measured points show whether
it did). *Half the gap*: the k at which the fitted dev error reaches the midpoint between the
fitted dev error at ``k = 0`` and the train-dev error, with the bootstrap's interval (None: the
fitted asymptote stays above it); the measured one interpolates the points' gaps linearly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from diagnostics.learning_curve import LEVEL, MIN_NOISE, MIN_POINTS, MIN_SIZES, seed_noise
from diagnostics.validation import InputError

KIND = "target_data"
FORM = "err(k) = a + b * (k + m)^(-c)"
MULTIPLES = (1.0, 2.0, 4.0, 10.0)
DEFAULT_STEPS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
ACTION = "target-distribution data"  # the plan's data-mismatch action this forecast follows


@dataclass(frozen=True)
class TargetPoint:
    """One run: ``k`` pool rows added to training (``n`` training rows in all), its errors."""

    k: int
    n: int
    dev_error: float
    train_error: float | None = None
    train_dev_error: float | None = None
    seed: int = 0


@dataclass(frozen=True)
class ShiftedPowerLaw:
    """``a + b * (k + m)**(-c)``: dev error after ``k`` target examples join training."""

    a: float
    b: float
    c: float
    m: float

    def __call__(self, k: Any) -> Any:
        """The fitted dev error at ``k`` (a number or an array)."""
        return self.a + self.b * (np.asarray(k, dtype=float) + self.m) ** (-self.c)

    def k_for(self, error: float) -> float | None:
        """The ``k`` at which the curve reaches ``error`` (0 when it starts below; None when
        its asymptote stays above).

        >>> round(ShiftedPowerLaw(0.1, 2.0, 1.0, 10.0).k_for(0.15), 6)
        30.0
        """
        if error >= float(self(0.0)):
            return 0.0
        if error <= self.a or self.b <= 0:
            return None
        return max(float(((error - self.a) / self.b) ** (-1.0 / self.c)) - self.m, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """The form and its parameters, as ``learning-curve --target-pool --json`` writes them."""
        return {"form": FORM, "a": self.a, "b": self.b, "c": self.c, "m": self.m}


def target_steps(pool_size: int, fractions: Sequence[float] = DEFAULT_STEPS) -> list[int]:
    """The steps ``k``: 0 and each fraction of the pool (rounded); refused in one line when the
    pool is empty or smaller than the smallest step needs.

    >>> target_steps(160)
    [0, 10, 20, 40, 80, 160]
    """
    if pool_size < 1:
        raise InputError("the target pool has no rows: mark target rows kept out of dev and test")
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise InputError(f"fraction {fraction:g} of the pool must be in (0, 1]")
    smallest = min(fractions)
    if round(smallest * pool_size) < 1:
        raise InputError(
            f"the target pool has {pool_size} rows, fewer than the smallest step needs "
            f"({smallest:g} of it rounds to 0 rows); give at least {math.ceil(0.5 / smallest)} "
            "pool rows or larger fractions"
        )
    return sorted({0, *(round(f * pool_size) for f in fractions)})


def plan_target_points(steps: Sequence[int], seeds: int) -> list[tuple[int, int]]:
    """(k, seed) of every run, the largest step first (a broken objective fails fast); several
    seeds at every step below the whole pool, one with the whole pool.

    >>> plan_target_points([0, 5, 10], seeds=2)
    [(10, 0), (5, 0), (5, 1), (0, 0), (0, 1)]
    """
    if seeds < 1:
        raise InputError("--seeds must be at least 1")
    largest = max(steps)
    return [
        (k, s)
        for k in sorted(set(steps), reverse=True)
        for s in range(1 if k == largest else seeds)
    ]


@dataclass
class TargetCurve:
    """The result: the runs, the fitted dev curve, forecasts, half the gap and the verdict."""

    points: list[TargetPoint]
    dev: ShiftedPowerLaw | None = None
    forecasts: list[dict[str, Any]] = field(default_factory=list)
    gap: float | None = None
    train_dev: float | None = None
    half_gap: dict[str, Any] | None = None
    noise: float | None = None
    too_uncertain: bool = False
    problem: str | None = None
    verdict: str = ""

    def to_dict(self) -> dict[str, Any]:
        """``points`` (per step: mean errors, the mismatch gap, the seeds' range), ``runs``,
        ``fit``, ``forecasts``, ``gap``, ``half_gap``, the verdict and ``kind``."""
        fit = None
        if self.dev is not None:
            fit = {
                **self.dev.to_dict(),
                "noise": self.noise,
                "method": "bounded least squares; 95% bootstrap over runs within each step",
            }
        return {
            "kind": KIND,
            "points": summarize_target_points(self.points),
            "runs": [asdict(p) for p in self.points],
            "fit": fit,
            "forecasts": self.forecasts,
            "gap": self.gap,
            "train_dev": self.train_dev,
            "half_gap": self.half_gap,
            "too_uncertain": self.too_uncertain,
            "problem": self.problem,
            "verdict": self.verdict,
        }


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def summarize_target_points(points: Sequence[TargetPoint]) -> list[dict[str, Any]]:
    """One row per step: ``k``, ``n``, ``seeds``, mean ``train_error``, ``train_dev_error`` and
    ``dev_error``, ``data_mismatch`` (mean dev − mean train-dev; None without train-dev) and
    ``interval`` (the seeds' lowest and highest dev error)."""
    rows = []
    for k in sorted({p.k for p in points}):
        group = [p for p in points if p.k == k]
        dev = [p.dev_error for p in group]
        train_dev = _mean(p.train_dev_error for p in group)
        rows.append(
            {
                "k": k,
                "n": round(float(np.mean([p.n for p in group]))),
                "seeds": len(group),
                "train_error": _mean(p.train_error for p in group),
                "train_dev_error": train_dev,
                "dev_error": float(np.mean(dev)),
                "data_mismatch": None if train_dev is None else float(np.mean(dev)) - train_dev,
                "interval": [float(min(dev)), float(max(dev))],
            }
        )
    return rows


def measured_half_gap(rows: Sequence[Mapping[str, Any]]) -> float | None:
    """The k at which the measured mismatch gap first falls to half its value at ``k = 0``
    (linear between steps) from :func:`summarize_target_points`' rows; None when it never does.

    >>> measured_half_gap([{"k": 0, "data_mismatch": 0.2}, {"k": 10, "data_mismatch": 0.15},
    ...                    {"k": 20, "data_mismatch": 0.05}])
    15.0
    """
    gaps = [(r["k"], r["data_mismatch"]) for r in rows if r.get("data_mismatch") is not None]
    if not gaps or gaps[0][0] != 0 or gaps[0][1] <= 0:
        return None
    half = gaps[0][1] / 2
    for (k0, g0), (k1, g1) in itertools.pairwise(gaps):
        if g1 <= half:
            return float(k0 + (k1 - k0) * (g0 - half) / (g0 - g1))
    return None


def fit_shifted(
    k: ArrayLike, error: ArrayLike, start: ShiftedPowerLaw | None = None
) -> ShiftedPowerLaw:
    """Least-squares fit of ``a + b*(k + m)**(-c)`` (bounds in the module docstring), from the
    best point of a grid over ``m`` and ``c``, or from ``start`` alone (a bootstrap refit).

    >>> ks = [0, 10, 20, 40, 80, 160]
    >>> curve = fit_shifted(ks, [0.05 + 3 * (k + 20) ** -0.8 for k in ks])
    >>> [round(v, 4) for v in (curve.a, curve.b, curve.c, curve.m)]
    [0.05, 3.0, 0.8, 20.0]
    """
    from scipy.optimize import least_squares, nnls

    x = np.asarray(k, dtype=float)
    y = np.asarray(error, dtype=float)
    scale = max(float(x.max()), 1.0)
    u = x / scale

    def residuals(theta: np.ndarray) -> np.ndarray:
        a, b, c, log_m = theta
        return a + b * (u + np.exp(log_m)) ** (-c) - y  # type: ignore[no-any-return]

    if start is not None:
        first = np.array([start.a, start.b / scale**start.c, start.c, math.log(start.m / scale)])
    else:
        best: tuple[float, np.ndarray] | None = None
        for m in np.geomspace(1e-3, 1e2, 16):
            for c in (0.2, 0.4, 0.7, 1.0, 1.5, 2.5):
                design = np.column_stack([np.ones_like(u), (u + m) ** (-c)])
                (a, b), cost = nnls(design, y)
                if best is None or cost < best[0]:
                    best = (cost, np.array([a, b, c, math.log(m)]))
        assert best is not None
        first = best[1]
    low = [0.0, 0.0, 1e-6, math.log(1e-4)]
    high = [np.inf, np.inf, 4.0, math.log(1e3)]
    first = np.clip(first, low, [1e9, 1e9, 4.0, math.log(1e3)])
    result = least_squares(
        residuals, first, bounds=(low, high), x_scale="jac", xtol=1e-15, ftol=1e-15, gtol=1e-15,
        max_nfev=5000,
    )  # fmt: skip
    a, b, c, log_m = (float(v) for v in result.x)
    m = math.exp(log_m)
    return ShiftedPowerLaw(a=a, b=b * scale**c, c=c, m=m * scale)


def fit_target_curve(
    points: Iterable[TargetPoint],
    multiples: Sequence[float] = MULTIPLES,
    rounds: int = 300,
    seed: int = 0,
) -> TargetCurve:
    """Fit dev error against the target examples added, forecast at ``multiples`` of the pool,
    find half the mismatch gap (see the module docstring); bad input returns the points with
    one line in ``problem``."""
    kept = sorted((p for p in points if math.isfinite(p.dev_error)), key=lambda p: (p.k, p.seed))
    result = TargetCurve(points=kept)
    steps = sorted({p.k for p in kept})
    rows = summarize_target_points(kept)
    result.train_dev = _mean(p.train_dev_error for p in kept)
    if rows and rows[0]["k"] == 0:
        result.gap = rows[0]["data_mismatch"]
    if len(kept) < MIN_POINTS or len(steps) < 3 or steps[0] != 0:
        result.problem = (
            f"too few points to fit the value of target data: {len(kept)} runs at "
            f"{len(steps)} steps{'' if not steps or steps[0] == 0 else ' without k = 0'}; give "
            f"at least {MIN_POINTS} runs at 3 or more steps, k = 0 among them"
        )
        result.verdict = result.problem
        return result
    k_all = np.array([p.k for p in kept], dtype=float)
    y = np.array([p.dev_error for p in kept])
    spread = seed_noise(kept, "k")
    first, last = rows[0]["dev_error"], rows[-1]["dev_error"]
    if last - first > max(2 * spread, MIN_NOISE):
        result.problem = (
            f"dev error rises as target rows join training ({first:.1%} at k=0 to {last:.1%} "
            f"at k={steps[-1]}): no curve fits; check that the pool is target data like dev's "
            "and that every run is trained the same way"
        )
        result.verdict = result.problem
        return result
    dev = fit_shifted(k_all, y)
    residuals = y - dev(k_all)
    noise = max(float(np.sqrt(np.mean(residuals**2))), spread, MIN_NOISE)
    result.dev, result.noise = dev, noise
    largest = float(steps[-1])
    targets = np.array([largest * m for m in multiples])
    draws, halves = _bootstrap(kept, dev, targets, rounds, seed, result.train_dev)
    lo, hi = (1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2
    start = float(dev(0.0))
    for m, target, column in zip(multiples, targets, draws.T, strict=True):
        low, high = np.quantile(column, [lo, hi])
        forecast = float(dev(target))
        mismatch = None if result.train_dev is None else forecast - result.train_dev
        closed = None
        if result.train_dev is not None and start - result.train_dev > 0:
            closed = (start - forecast) / (start - result.train_dev)
        result.forecasts.append(
            {
                "multiple": m,
                "k": round(float(target)),
                "dev_error": forecast,
                "interval": [float(max(low, 0.0)), float(high)],
                "data_mismatch": mismatch,
                "gap_closed": closed,
            }
        )
    if result.train_dev is not None and start - result.train_dev > noise:
        level = (start + result.train_dev) / 2
        k_half = dev.k_for(level)
        bounds = np.quantile(halves, [lo, hi], method="inverted_cdf")
        result.half_gap = {
            "dev_error": level,
            "k": k_half,
            "interval": [_finite(bounds[0]), _finite(bounds[1])],
            "measured": measured_half_gap(rows),
        }
    own = result.forecasts[0]
    gain = start - own["dev_error"]
    half = (own["interval"][1] - own["interval"][0]) / 2
    result.too_uncertain = len(steps) < MIN_SIZES or half > max(gain, 2 * noise)
    result.verdict = _verdict(result, gain)
    return result


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _bootstrap(
    points: Sequence[TargetPoint],
    dev: ShiftedPowerLaw,
    targets: np.ndarray,
    rounds: int,
    seed: int,
    train_dev: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Forecasts at ``targets`` from ``rounds`` refits on runs resampled within each step (each
    plus one resampled residual), and each refit's k for half the gap (its resampled train-dev;
    the level less one resampled residual; inf: never)."""
    rng = np.random.default_rng(seed)
    groups = [[p for p in points if p.k == k] for k in sorted({p.k for p in points})]
    k_all = np.array([p.k for p in points], dtype=float)
    residuals = np.array([p.dev_error for p in points]) - dev(k_all)
    out = np.empty((rounds, len(targets)))
    halves = np.full(rounds, np.inf)
    for r in range(rounds):
        if all(len(g) == 1 for g in groups):  # one seed per step: resample residuals instead
            sample = [points[i] for i in rng.integers(0, len(points), len(points))]
            ys = dev(k_all) + rng.choice(residuals, len(residuals))
            curve = fit_shifted(k_all, ys, start=dev)
        else:
            sample = [g[i] for g in groups for i in rng.integers(0, len(g), len(g))]
            curve = fit_shifted([p.k for p in sample], [p.dev_error for p in sample], start=dev)
        out[r] = curve(targets) + rng.choice(residuals, len(targets))
        if train_dev is not None:  # this round's train-dev, and one scatter like a measurement
            level = (
                float(curve(0.0)) + (_mean(p.train_dev_error for p in sample) or train_dev)
            ) / 2
            k_half = curve.k_for(level - float(rng.choice(residuals)))
            halves[r] = np.inf if k_half is None else k_half
    return out, halves


def _count(value: float | None) -> str:
    return "more than can be forecast" if value is None else f"{value:,.0f}"


def _pool_phrase(own: Mapping[str, Any]) -> str:
    """What the whole pool gives: ``the 400 target examples of the pool: dev error …``."""
    low, high = own["interval"]
    return (
        f"the {own['k']:,} target examples of the pool: dev error {own['dev_error']:.1%} "
        f"({low:.1%}–{high:.1%})"
    )


def _verdict(result: TargetCurve, gain: float) -> str:
    """One line: how much of the mismatch gap the pool closes, or why the curve cannot say."""
    own = result.forecasts[0]
    pool = _pool_phrase(own)
    if result.too_uncertain:
        return f"too uncertain to say: {pool}; measure more steps or seeds"
    if result.gap is None:
        return f"{pool}; no train-dev split, so the mismatch gap is not measured"
    if result.half_gap is None:
        return (
            f"no mismatch gap above the noise ({result.gap:.1%} at k=0): {pool}; target data "
            "has little to close"
        )
    if gain <= (result.noise or 0.0):
        return (
            f"target data does not close the gap: {pool}, within the noise of k=0; look at "
            "how dev differs from training (error analysis) before adding more"
        )
    half = result.half_gap
    closed = f"{pool}, {own['gap_closed']:.0%} of the gap closed"
    if half["k"] is None:
        return (
            f"the fitted curve levels off above half the {result.gap:.1%} mismatch gap: target "
            f"examples alone will not close half of it; {closed}"
        )
    return (
        f"about {half['k']:,.0f} target examples close half the {result.gap:.1%} mismatch gap; "
        f"{closed}"
    )


def target_forecast_line(curve: Mapping[str, Any]) -> str | None:
    """The plan's data-mismatch forecast, e.g. ``about 340 target examples (190–700) for dev
    error 12.0% (half the mismatch gap); the 1,200 of the pool: dev error 9.5% (8.9–10.2%),
    71% of the gap closed``; None without a fit."""
    forecasts = curve.get("forecasts") or []
    if curve.get("kind") != KIND or not curve.get("fit") or not forecasts:
        return None
    own = forecasts[0]
    line = _pool_phrase(own)
    if own.get("gap_closed") is not None:
        line += f", {own['gap_closed']:.0%} of the mismatch gap closed"
    half = curve.get("half_gap")
    if half and half["k"] is None:
        line = f"the fitted curve levels off above half the mismatch gap; {line}"
    elif half:
        k_low, k_high = half["interval"]
        span = (
            f"{_count(k_low)}–{_count(k_high)}"
            if k_high is not None
            else f"{_count(k_low)} or more"
        )
        line = (
            f"about {_count(half['k'])} target examples ({span}) for dev error "
            f"{half['dev_error']:.1%} (half the mismatch gap); {line}"
        )
    if curve.get("too_uncertain"):
        line += ": too uncertain to rely on (measure more steps or seeds)"
    return line


def with_target_forecast(
    gap: str, actions: Sequence[str], target: Mapping[str, Any] | None
) -> list[str]:
    """A gap's actions, data mismatch's "put some target-distribution data into training"
    followed by the target-data curve's forecast when one exists (the plan's forecast line, as
    :func:`diagnostics.learning_curve.with_forecast` gives the variance line)."""
    line = target_forecast_line(target) if target and gap == "data_mismatch" else None
    return [f"{a} — {line}" if line and ACTION in a.lower() else a for a in actions]


def read_target_curve(data: Any, source: str) -> dict[str, Any]:
    """A ``learning-curve --target-pool --json`` result checked; refused in one line naming
    ``source`` when it is not one."""
    needed = {"kind", "points", "runs", "fit", "forecasts"}
    if not isinstance(data, dict) or not needed <= set(data) or data.get("kind") != KIND:
        raise InputError(
            f"{source}: not a target-data curve (no kind 'target_data' with points, fit and "
            "forecasts); give the output of learning-curve --target-pool … --json"
        )
    return data

"""Learning curves: what more training data is worth, as a fitted power law with an asymptote.

The form is ``err(n) = a + b * n**(-c)`` with ``a >= 0`` (the error more data cannot remove),
``b >= 0`` and ``c > 0``, fitted to the dev error of every measured point (each fraction and
seed is one point) by bounded least squares (:func:`scipy.optimize.least_squares`, in
``n / n_max`` so the parameters are of similar size; ``b`` is reported for ``n`` itself).
Train error is fitted with the mirrored form ``a - b * n**(-c)`` (it rises towards the same
kind of asymptote) when it rises, else with the same form as dev; a train error that moves
less than half a point over the sizes is not fitted.

Forecasts at 2x, 4x and 10x the largest measured size carry a 95% interval from a bootstrap
that keeps the fit's uncertainty and the points' scatter: each round resamples the points with
replacement within each size (the seeds), refits, and adds one resampled residual to the
refit's forecast (the measured dev error at that size scatters as the points do).

A curve has *flattened* when the forecast gain at 10x (dev error at the largest size minus the
forecast at 10x) is within the noise (the residuals' standard deviation, at least half a
point); it is *too uncertain* when there are fewer than :data:`MIN_SIZES` sizes or the 10x
interval's half-width exceeds both that gain and twice the noise. Bad input (too few points, a
rising curve) returns the points with one line in ``problem`` and no fit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from diagnostics.validation import InputError

FORM = "err(n) = a + b * n^(-c)"
TRAIN_FORM = "err(n) = a - b * n^(-c)"
MULTIPLES = (2.0, 4.0, 10.0)
MIN_POINTS = 4
MIN_SIZES = 4
MIN_NOISE = 0.005
LEVEL = 0.95


@dataclass(frozen=True)
class CurvePoint:
    """One measured run: ``n`` training rows (``fraction`` of train), its errors and seed."""

    n: int
    dev_error: float
    train_error: float | None = None
    seed: int = 0
    fraction: float | None = None


@dataclass(frozen=True)
class PowerLaw:
    """``a + sign * b * n**(-c)``: ``sign`` is +1 for a falling curve, -1 for a rising one."""

    a: float
    b: float
    c: float
    sign: int = 1

    def __call__(self, n: Any) -> Any:
        """The curve's error at ``n`` training rows (a number or an array)."""
        return self.a + self.sign * self.b * np.asarray(n, dtype=float) ** (-self.c)

    def to_dict(self) -> dict[str, Any]:
        """The form and its parameters, as ``learning-curve --json`` writes them."""
        return {
            "form": FORM if self.sign > 0 else TRAIN_FORM,
            "a": self.a,
            "b": self.b,
            "c": self.c,
        }


@dataclass
class CurveFit:
    """The result: the points, the fitted curves, forecasts and the verdict."""

    points: list[CurvePoint]
    dev: PowerLaw | None = None
    train: PowerLaw | None = None
    forecasts: list[dict[str, Any]] = field(default_factory=list)
    noise: float | None = None
    flattened: bool = False
    too_uncertain: bool = False
    problem: str | None = None
    verdict: str = ""

    def to_dict(self) -> dict[str, Any]:
        """``points`` (per size: mean errors and the seeds' range), ``fit``, ``forecasts``."""
        fit = None
        if self.dev is not None:
            fit = {
                **self.dev.to_dict(),
                "noise": self.noise,
                "train": self.train.to_dict() if self.train else None,
                "method": "bounded least squares; 95% bootstrap over points within each size",
            }
        return {
            "points": summarize_points(self.points),
            "runs": [asdict(p) for p in self.points],
            "fit": fit,
            "forecasts": self.forecasts,
            "flattened": self.flattened,
            "too_uncertain": self.too_uncertain,
            "problem": self.problem,
            "verdict": self.verdict,
        }


def summarize_points(points: Sequence[CurvePoint]) -> list[dict[str, Any]]:
    """One row per size: ``fraction``, ``n``, mean ``train_error``/``dev_error`` over its seeds
    and ``interval`` (the seeds' lowest and highest dev error; one seed: that value twice)."""
    rows = []
    for n in sorted({p.n for p in points}):
        group = [p for p in points if p.n == n]
        dev = [p.dev_error for p in group]
        train = [p.train_error for p in group if p.train_error is not None]
        rows.append(
            {
                "fraction": group[0].fraction,
                "n": n,
                "seeds": len(group),
                "train_error": float(np.mean(train)) if train else None,
                "dev_error": float(np.mean(dev)),
                "interval": [float(min(dev)), float(max(dev))],
            }
        )
    return rows


def fit_power_law(
    n: ArrayLike, error: ArrayLike, sign: int = 1, start: PowerLaw | None = None
) -> PowerLaw:
    """Least-squares fit of ``a + sign*b*n**(-c)`` with ``a >= 0``, ``b >= 0``, ``0 < c <= 4``
    (from three starting exponents, or from ``start`` alone: a bootstrap refit).

    >>> curve = fit_power_law([100, 200, 400, 800, 1600], [0.1 + 2 * k**-0.5 for k in
    ...                        [100, 200, 400, 800, 1600]])
    >>> round(curve.a, 6), round(curve.b, 6), round(curve.c, 6)
    (0.1, 2.0, 0.5)
    """
    from scipy.optimize import least_squares

    x = np.asarray(n, dtype=float)
    y = np.asarray(error, dtype=float)
    scale = float(x.max())
    u = x / scale

    def residuals(theta: np.ndarray) -> np.ndarray:
        a, b, c = theta
        return a + sign * b * u ** (-c) - y  # type: ignore[no-any-return]

    lowest, highest = float(y.min()), float(y.max())
    b0 = max(abs(highest - lowest), 1e-6)
    a0 = max(lowest - 0.5 * b0, 0.0) if sign > 0 else highest
    starts = [np.array([a0, b0, c0]) for c0 in (0.3, 0.7, 1.5)]
    if start is not None:
        starts = [np.array([start.a, max(start.b / scale**start.c, 1e-9), start.c])]
    best = None
    for theta in starts:
        result = least_squares(
            residuals,
            theta,
            bounds=([0.0, 0.0, 1e-6], [np.inf, np.inf, 4.0]),
            x_scale="jac",
            xtol=1e-15,
            ftol=1e-15,
            gtol=1e-15,
            max_nfev=5000,
        )
        if best is None or result.cost < best.cost:
            best = result
    assert best is not None
    a, b, c = (float(v) for v in best.x)
    return PowerLaw(a=a, b=b * scale**c, c=c, sign=sign)


def fit_curve(
    points: Iterable[CurvePoint],
    multiples: Sequence[float] = MULTIPLES,
    rounds: int = 300,
    seed: int = 0,
) -> CurveFit:
    """Fit the learning curve of ``points`` and forecast dev error at ``multiples`` of the
    largest size (see the module docstring); bad input returns the points with ``problem``."""
    kept = sorted((p for p in points if math.isfinite(p.dev_error)), key=lambda p: (p.n, p.seed))
    result = CurveFit(points=kept)
    sizes = sorted({p.n for p in kept})
    if len(kept) < MIN_POINTS or len(sizes) < 3:
        result.problem = (
            f"too few points to fit a learning curve: {len(kept)} runs at {len(sizes)} sizes; "
            f"give at least {MIN_POINTS} runs at 3 or more training sizes"
        )
        result.verdict = result.problem
        return result
    if any(p.n <= 0 for p in kept):
        result.problem = "every training size must be a positive number of rows"
        result.verdict = result.problem
        return result
    means = [float(np.mean([p.dev_error for p in kept if p.n == n])) for n in sizes]
    n = np.array([p.n for p in kept], dtype=float)
    y = np.array([p.dev_error for p in kept])
    spread = seed_noise(kept)
    if means[-1] - means[0] > max(2 * spread, MIN_NOISE):
        result.problem = (
            f"dev error rises with more data ({means[0]:.1%} at n={sizes[0]} to {means[-1]:.1%} "
            f"at n={sizes[-1]}): no power law fits; check that every run is trained the same way"
        )
        result.verdict = result.problem
        return result
    dev = fit_power_law(n, y)
    residuals = y - dev(n)
    noise = max(float(np.sqrt(np.mean(residuals**2))), spread, MIN_NOISE)
    result.dev, result.noise = dev, noise
    trains = [p for p in kept if p.train_error is not None]
    spread_train = np.ptp([p.train_error for p in trains]) if trains else 0.0
    if len({p.n for p in trains}) >= 3 and spread_train > MIN_NOISE:
        tn = np.array([p.n for p in trains], dtype=float)
        ty = np.array([p.train_error for p in trains], dtype=float)
        order = np.argsort(tn)
        rising = ty[order][-1] > ty[order][0]
        result.train = fit_power_law(tn, ty, sign=-1 if rising else 1)
    largest = float(sizes[-1])
    targets = np.array([largest * m for m in multiples])
    draws = _bootstrap(kept, dev, targets, rounds, seed)
    lo, hi = (1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2
    for m, target, column in zip(multiples, targets, draws.T, strict=True):
        low, high = np.quantile(column, [lo, hi])
        result.forecasts.append(
            {
                "multiple": m,
                "n": round(float(target)),
                "dev_error": float(dev(target)),
                "interval": [float(max(low, 0.0)), float(high)],
            }
        )
    last = result.forecasts[-1]
    gain = float(dev(largest)) - last["dev_error"]
    half = (last["interval"][1] - last["interval"][0]) / 2
    result.too_uncertain = len(sizes) < MIN_SIZES or half > max(gain, 2 * noise)
    result.flattened = not result.too_uncertain and gain <= noise
    result.verdict = _verdict(result, gain)
    return result


def seed_noise(points: Sequence[Any], size: str = "n") -> float:
    """The pooled standard deviation of dev error across seeds at the same size (the points'
    attribute ``size``; 0: one seed each)."""
    deviations: list[float] = []
    for n in {getattr(p, size) for p in points}:
        values = [p.dev_error for p in points if getattr(p, size) == n]
        if len(values) > 1:
            deviations.extend(np.asarray(values) - np.mean(values))
    return float(np.sqrt(np.mean(np.square(deviations)))) if deviations else 0.0


def _bootstrap(
    points: Sequence[CurvePoint], dev: PowerLaw, targets: np.ndarray, rounds: int, seed: int
) -> np.ndarray:
    """Forecasts at ``targets`` from ``rounds`` refits on points resampled within each size,
    each plus one resampled residual of the full fit."""
    rng = np.random.default_rng(seed)
    groups = [[p for p in points if p.n == n] for n in sorted({p.n for p in points})]
    n_all = np.array([p.n for p in points], dtype=float)
    residuals = np.array([p.dev_error for p in points]) - dev(n_all)
    out = np.empty((rounds, len(targets)))
    for r in range(rounds):
        sample = [g[i] for g in groups for i in rng.integers(0, len(g), len(g))]
        if all(len(g) == 1 for g in groups):  # one seed per size: resample residuals instead
            ys = dev(n_all) + rng.choice(residuals, len(residuals))
            curve = fit_power_law(n_all, ys, start=dev)
        else:
            curve = fit_power_law([p.n for p in sample], [p.dev_error for p in sample], start=dev)
        out[r] = curve(targets) + rng.choice(residuals, len(targets))
    return out


def _verdict(result: CurveFit, gain: float) -> str:
    """One line: what 10x the data would do, or why the curve cannot say."""
    last = result.forecasts[-1]
    low, high = last["interval"]
    forecast = f"{last['dev_error']:.1%} ({low:.1%}–{high:.1%}) at 10× the data"
    if result.too_uncertain:
        return f"too uncertain to say: the forecast is {forecast}; measure more sizes or seeds"
    if result.flattened:
        return (
            f"the curve has flattened: {forecast}, within the noise ({result.noise:.1%}) of now; "
            "more data will not close the gap"
        )
    return f"more data helps: dev error {forecast}, {gain:.1%} lower"


def points_from_predictions(
    runs: Sequence[tuple[Any, int]], metric: str | None = None
) -> list[CurvePoint]:
    """One point per predictions file trained on ``train_size`` rows (several files at one
    size are seeds): its train and dev levels, scored by the waterfall Diagnose computes."""
    from diagnostics.fastscan import scan_split_metrics  # duckdb: only when files are given
    from diagnostics.waterfall import diagnose

    points = []
    seeds: dict[int, int] = {}
    for predictions, train_size in runs:
        if int(train_size) <= 0:
            raise InputError(f"{predictions}: train size {train_size} must be a positive count")
        scan = scan_split_metrics(predictions, metric=metric)  # the steps of api.diagnose
        levels = diagnose(scan.splits, [], metric=scan.metric).to_dict()["levels"]
        if levels.get("dev") is None:
            raise InputError(f"{predictions}: no dev rows; a learning curve needs dev error")
        seed = seeds[int(train_size)] = seeds.get(int(train_size), -1) + 1
        train = levels.get("train")
        points.append(
            CurvePoint(
                n=int(train_size),
                dev_error=float(levels["dev"]),
                train_error=None if train is None else float(train),
                seed=seed,
            )
        )
    return points


def forecast_line(curve: Mapping[str, Any]) -> str | None:
    """The plan's "more data" forecast, e.g. ``about 2× the data for dev error 9.1%
    (7.8–10.6%); 10×: 7.0% (5.9–8.3%)``, or that the curve has flattened; None without a fit."""
    forecasts = curve.get("forecasts") or []
    if not curve.get("fit") or not forecasts:
        return None
    first, last = forecasts[0], forecasts[-1]
    line = (
        f"about {first['multiple']:g}× the data for dev error {first['dev_error']:.1%} "
        f"({first['interval'][0]:.1%}–{first['interval'][1]:.1%}); {last['multiple']:g}×: "
        f"{last['dev_error']:.1%} ({last['interval'][0]:.1%}–{last['interval'][1]:.1%})"
    )
    if curve.get("flattened"):
        return f"{line}: the learning curve has flattened, more data will not close the gap"
    if curve.get("too_uncertain"):
        return f"{line}: too uncertain to rely on (measure more sizes or seeds)"
    return line


def with_forecast(gap: str, actions: Sequence[str], curve: Mapping[str, Any] | None) -> list[str]:
    """A gap's actions, its "more data" action followed by the curve's forecast when a curve
    exists (the plan's forecast line)."""
    line = forecast_line(curve) if curve and gap == "variance" else None
    return [
        f"{action} — {line}" if line and "more training data" in action.lower() else action
        for action in actions
    ]

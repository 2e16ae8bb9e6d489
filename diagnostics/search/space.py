"""The search space as data: typed, tiered parameters and their one mapping onto Optuna.

A space is a dict (or a JSON file) ``{name: {"type": ..., ...}}``. Types:

- ``log_uniform`` (``low``, ``high`` > 0): sampled uniformly on the log scale (learning rate, L2).
- ``uniform`` (``low``, ``high``): sampled uniformly (dropout).
- ``int`` (``low``, ``high``, optional ``"log": true``): an integer (layers, hidden units).
- ``choice`` (``choices``: a list): one of the values (optimizer, LR decay, batch size).
- ``log_complement`` (``low``, ``high`` in [0, 1)): ``1 − value`` sampled log-uniform, so momentum
  β ∈ [0.9, 0.999] spends as many trials near 0.999 as near 0.9 (STRATEGY_NOTES §4).

Each parameter has a ``tier`` (1 = most important … 4 = keep defaults) and, for grid search,
optional ``points`` (the values the grid tries). :meth:`SearchSpace.narrow` builds the next,
narrower space of a coarse-to-fine round.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import optuna
import optuna.distributions as od

from diagnostics.validation import InputError

TYPES = ("log_uniform", "uniform", "int", "choice", "log_complement")
COMPLEMENT_SUFFIX = "__complement"

# round 1 of the method (STRATEGY_NOTES §4): learning rate 1e-4…1, hidden units 32…2048; with an
# epoch of at least MIN_STEPS_PER_EPOCH steps, 6 random trials × 3 epochs find ≥ 85% dev accuracy
# on digits (bench/default_space.py)
DEFAULT_SPACE = {
    "lr": {"type": "log_uniform", "low": 1e-4, "high": 1.0, "tier": 1},
    "momentum": {"type": "log_complement", "low": 0.9, "high": 0.999, "tier": 2},
    "hidden_units": {"type": "int", "low": 32, "high": 2048, "log": True, "tier": 2},
    "batch_size": {"type": "choice", "choices": [32, 64, 128, 256], "tier": 2},
    "layers": {"type": "int", "low": 1, "high": 3, "tier": 3},
    "lr_decay": {"type": "choice", "choices": ["none", "step", "cosine"], "tier": 3},
}


@dataclass(frozen=True)
class Param:
    """One searched hyperparameter (see the module docstring for the types)."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    points: tuple[Any, ...] = ()
    tier: int = 2
    log: bool = False

    @property
    def optuna_name(self) -> str:
        """The name Optuna stores (``1 − value`` for log_complement gets its own name)."""
        return self.name + COMPLEMENT_SUFFIX if self.type == "log_complement" else self.name

    @property
    def is_log(self) -> bool:
        """Whether the parameter lives on a log scale."""
        return self.type in ("log_uniform", "log_complement") or (self.type == "int" and self.log)

    def bounds(self) -> tuple[float, float]:
        """(low, high) of a numeric parameter; raises ValueError for a choice (it has none)."""
        if self.low is None or self.high is None:
            raise ValueError(f"parameter '{self.name}' ({self.type}) has no numeric range")
        return self.low, self.high

    def distribution(self) -> od.BaseDistribution:
        """The Optuna distribution; the one place the space meets Optuna."""
        if self.type == "choice":
            return od.CategoricalDistribution(self.choices)
        low, high = self.bounds()
        if self.type == "int":
            return od.IntDistribution(int(low), int(high), log=self.log)
        if self.type == "log_complement":
            return od.FloatDistribution(1.0 - high, 1.0 - low, log=True)
        return od.FloatDistribution(low, high, log=self.type == "log_uniform")

    def encode(self, value: Any) -> Any:
        """User value → the value Optuna stores."""
        return 1.0 - value if self.type == "log_complement" else value

    def decode(self, value: Any) -> Any:
        """Value Optuna stored → user value."""
        return 1.0 - value if self.type == "log_complement" else value

    def contains(self, value: Any) -> bool:
        """Whether a user value lies inside this parameter's range or choices."""
        if self.type == "choice":
            return value in self.choices
        low, high = self.bounds()
        tolerance = 1e-12 * max(1.0, abs(high))
        inside: bool = low - tolerance <= value <= high + tolerance
        return inside

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this parameter."""
        data: dict[str, Any] = {"type": self.type}
        if self.type == "choice":
            data["choices"] = list(self.choices)
        else:
            data.update(low=self.low, high=self.high)
        if self.type == "int" and self.log:
            data["log"] = True
        if self.points:
            data["points"] = list(self.points)
        data["tier"] = self.tier
        return data


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of parameters; build with :meth:`from_dict` (validated)."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    @classmethod
    def default(cls) -> SearchSpace:
        """The default tiered space of STRATEGY_NOTES §4."""
        return cls.from_dict(DEFAULT_SPACE)

    @classmethod
    def load(cls, path: str | Path, known_names: Collection[str] | None = None) -> SearchSpace:
        """Read a JSON space file."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise InputError(f"{path}: no such search-space file") from exc
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
        return cls.from_dict(data, known_names, source=str(path))

    @classmethod
    def from_dict(
        cls, data: Any, known_names: Collection[str] | None = None, source: str = "search space"
    ) -> SearchSpace:
        """Validate a ``{name: {type, ...}}`` dict; every problem is an :class:`InputError`."""
        if not isinstance(data, dict) or not data:
            raise InputError(f"{source}: the search space is empty; give at least one parameter")
        params = []
        for name, spec in data.items():
            if known_names is not None and name not in known_names:
                raise InputError(
                    f"{source}: unknown parameter '{name}'; known: {', '.join(sorted(known_names))}"
                )
            params.append(_parse_param(name, spec, source))
        return cls(tuple(params))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what :meth:`from_dict` reads)."""
        return {p.name: p.to_dict() for p in self.params}

    def __getitem__(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def distributions(self) -> dict[str, od.BaseDistribution]:
        """Optuna distributions keyed by Optuna parameter name."""
        return {p.optuna_name: p.distribution() for p in self.params}

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample every parameter through the trial; returns user values."""
        return {
            p.name: p.decode(_suggest(trial, p.optuna_name, p.distribution())) for p in self.params
        }

    def decode(self, optuna_params: dict[str, Any]) -> dict[str, Any]:
        """Optuna's stored params → user values (parameters not in this space are dropped)."""
        return {
            p.name: p.decode(optuna_params[p.optuna_name])
            for p in self.params
            if p.optuna_name in optuna_params
        }

    def encode(self, params: dict[str, Any]) -> dict[str, Any]:
        """User values → the params Optuna stores."""
        return {p.optuna_name: p.encode(params[p.name]) for p in self.params}

    def contains(self, params: dict[str, Any]) -> bool:
        """Whether user values have every parameter and lie inside the space."""
        return all(p.name in params and p.contains(params[p.name]) for p in self.params)

    def grid(self) -> dict[str, list[Any]]:
        """The grid for Optuna's GridSampler (Optuna names → stored values).

        Choices give their values, ints without points every integer; a continuous parameter
        needs explicit ``points``.
        """
        grid: dict[str, list[Any]] = {}
        for p in self.params:
            if p.points:
                values = list(p.points)
            elif p.type == "choice":
                values = list(p.choices)
            elif p.type == "int":
                low, high = p.bounds()
                values = list(range(int(low), int(high) + 1))
            else:
                raise InputError(
                    f"grid search: parameter '{p.name}' is continuous ({p.type}) and has no "
                    'points; add e.g. "points": [0.001, 0.01, 0.1] or use --sampler random/tpe'
                )
            grid[p.optuna_name] = [p.encode(v) for v in values]
        return grid

    def varying(self) -> int:
        """How many parameters actually vary (a single choice or low == high does not)."""
        return sum(
            len(p.choices) > 1 if p.type == "choice" else p.bounds()[0] < p.bounds()[1]
            for p in self.params
        )

    def with_param(self, name: str, spec: dict[str, Any]) -> SearchSpace:
        """The space with parameter ``name`` set to ``spec`` (replaced in place, or added)."""
        data = self.to_dict()
        data[name] = spec
        return SearchSpace.from_dict(data)

    def grid_size(self) -> int:
        """Number of points in the grid."""
        return math.prod(len(v) for v in self.grid().values())

    def narrow(self, top: list[dict[str, Any]], margin: float = 0.25) -> SearchSpace:
        """The next round's space around the top trials' user values.

        Each continuous or integer range shrinks to the span of the top values, widened by
        ``margin`` × that span on each side (on the log scale for log parameters; a tenth of the
        old range when the span is a single point) and clipped to the old range. Each choice keeps
        only the values the top trials used. Grid points outside the new range are dropped.
        """
        if not top:
            raise InputError("cannot narrow the space: no completed trials to narrow around")
        return SearchSpace(
            tuple(_narrow_param(p, [t[p.name] for t in top], margin) for p in self.params)
        )


# -- the space as a table (the Search page's editor) ---------------------------------------------

ROW_COLUMNS = ("parameter", "tier", "type", "low", "high", "log", "choices / grid points")


def space_rows(space: SearchSpace) -> list[dict[str, Any]]:
    """The space as table rows, one per parameter (``ROW_COLUMNS``; ``log`` ticked for every
    parameter on a log scale)."""
    return [
        {
            "parameter": p.name,
            "tier": p.tier,
            "type": p.type,
            "low": None if p.type == "choice" else float(p.bounds()[0]),
            "high": None if p.type == "choice" else float(p.bounds()[1]),
            "log": p.is_log,
            "choices / grid points": ", ".join(map(str, p.choices or p.points)),
        }
        for p in space.params
    ]


def space_from_rows(
    rows: Iterable[Mapping[str, Any]],
    known_names: Collection[str] | None = None,
    source: str = "search space",
) -> SearchSpace:
    """Table rows (as :func:`space_rows` writes them, edited) back to a validated space.

    A row whose parameter is still empty is skipped (added but not filled in yet); a bad cell
    raises InputError naming its row.
    """
    space: dict[str, Any] = {}
    for number, row in enumerate(rows, start=1):
        name = row.get("parameter")
        if not isinstance(name, str) or not name:
            continue
        if name in space:
            raise InputError(f"{source} row {number}: parameter '{name}' appears twice")
        kind = row.get("type")
        values = _parse_list(row.get("choices / grid points"))
        tier: Any = row.get("tier")  # an edited cell: any value the table holds
        spec: dict[str, Any] = {"type": kind, "tier": 2 if _missing(tier) else int(tier)}
        if kind == "choice":
            spec["choices"] = values
        else:
            spec["low"], spec["high"] = _number(row.get("low")), _number(row.get("high"))
            if kind == "int":
                spec["low"], spec["high"] = _whole(spec["low"]), _whole(spec["high"])
                if row.get("log"):
                    spec["log"] = True
            if values:
                spec["points"] = values
        space[name] = spec
    return SearchSpace.from_dict(space, known_names, source=source)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def _whole(value: float | None) -> float | None:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _parse_list(text: object) -> list[int | float | str]:
    if not isinstance(text, str) or not text.strip():
        return []
    values: list[int | float | str] = []
    for token in (t.strip() for t in text.split(",")):
        for kind in (int, float):
            try:
                values.append(kind(token))
                break
            except ValueError:
                continue
        else:
            values.append(token)
    return values


def _suggest(trial: optuna.Trial, name: str, dist: od.BaseDistribution) -> od.CategoricalChoiceType:
    if isinstance(dist, od.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, od.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
    if not isinstance(dist, od.FloatDistribution):
        raise TypeError(f"parameter '{name}': unsupported distribution {dist!r}")
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log)


def _narrow_param(param: Param, values: list[Any], margin: float) -> Param:
    if param.type == "choice":
        kept = tuple(c for c in param.choices if c in values)
        return Param(param.name, "choice", choices=kept, tier=param.tier)
    to_axis, from_axis = _axis(param)
    low, high = param.bounds()
    lo_axis, hi_axis = to_axis(low), to_axis(high)
    vlo, vhi = min(map(to_axis, values)), max(map(to_axis, values))
    pad = margin * (vhi - vlo) if vhi > vlo else 0.1 * (hi_axis - lo_axis)
    lo, hi = from_axis(max(lo_axis, vlo - pad)), from_axis(min(hi_axis, vhi + pad))
    lo, hi = max(low, min(lo, hi)), min(high, max(lo, hi))
    if param.type == "int":
        lo, hi = round(lo), round(hi)
    points = tuple(v for v in param.points if lo <= v <= hi)
    return Param(param.name, param.type, lo, hi, points=points, tier=param.tier, log=param.log)


def _axis(param: Param) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """The axis distances are measured on: log10, log10(1 − v), or the value itself."""
    if param.type == "log_complement":
        return (lambda v: math.log10(1.0 - v)), (lambda a: 1.0 - 10.0**a)
    if param.is_log:
        return math.log10, (lambda a: 10.0**a)
    return float, float


def _is_number(value: object) -> TypeGuard[float]:
    """Whether a JSON value is a number (an int or a float, not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_param(name: str, spec: Any, source: str) -> Param:
    where = f"{source}: parameter '{name}'"
    if not isinstance(spec, dict):
        raise InputError(f'{where}: expected an object like {{"type": "uniform", ...}}')
    kind = spec.get("type")
    if kind not in TYPES:
        raise InputError(f"{where}: unknown type '{kind}'; choose one of {', '.join(TYPES)}")
    tier = spec.get("tier", 2)
    if tier not in (1, 2, 3, 4):
        raise InputError(f"{where}: tier must be 1, 2, 3 or 4, not {tier!r}")
    points = tuple(spec.get("points", ()))
    if kind == "choice":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise InputError(f"{where}: a choice needs a non-empty list 'choices'")
        if len(set(map(repr, choices))) != len(choices):
            raise InputError(f"{where}: repeated values in 'choices'")
        return Param(name, kind, choices=tuple(choices), points=points, tier=tier)
    low, high = spec.get("low"), spec.get("high")
    if not (_is_number(low) and _is_number(high)):
        raise InputError(f"{where}: needs numeric 'low' and 'high'")
    if low > high:
        raise InputError(f"{where}: low {low} is above high {high}; swap them")
    if kind == "log_uniform" and low <= 0:
        raise InputError(
            f"{where}: a log range must stay above 0 (low is {low}); use e.g. low 1e-5"
        )
    if kind == "log_complement" and not (low >= 0 and high < 1):
        raise InputError(
            f"{where}: log_complement needs 0 ≤ low ≤ high < 1 (1 − value is log-uniform), "
            f"got {low}..{high}"
        )
    log = bool(spec.get("log", False))
    if kind == "int":
        if int(low) != low or int(high) != high:
            raise InputError(f"{where}: an int range needs whole numbers, got {low}..{high}")
        if log and low <= 0:
            raise InputError(f"{where}: a log range must stay above 0 (low is {low})")
        low, high = int(low), int(high)
    outside = [p for p in points if not (low <= p <= high)]
    if outside:
        raise InputError(f"{where}: grid points {outside} lie outside {low}..{high}")
    return Param(
        name,
        kind,
        float(low) if kind != "int" else low,
        float(high) if kind != "int" else high,
        points=points,
        tier=tier,
        log=log,
    )

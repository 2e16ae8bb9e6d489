"""Split plans: how many examples go to train, train-dev, dev and test.

Single distribution (:func:`plan_split`). The dev count follows the table of STRATEGY_NOTES §2
exactly at its four sizes and a continuous power law between them:

    size         train    dev      test
    10,000       60%      20%      20%      (dev 2,000)
    100,000      90%      5%       5%       (dev 5,000)
    1,000,000    98%      1%       1%       (dev 10,000)
    10,000,000   99.5%    0.25%    0.25%    (dev 25,000)

Between two table sizes the dev count is a straight line on log–log axes through the two table
points (``dev = d₀·(n/n₀)^k`` with exponent ``k`` between 0.30 and 0.40 < 1). Below 10,000 the
small-data split 60/20/20 holds; above 10,000,000 the last segment continues (dev ∝ n^0.40). So
the dev count never shrinks as the data grows and the dev fraction never grows; counts are
rounded half up, so the rounded fraction stays within half an example of the rule. The test set
has the dev set's size (both estimate the same error, so they need the same precision). Train
gets the rest, so the counts always add up to the total.

Train-dev is carved out of the training data (never out of dev or test): the smaller of the dev
count and 10% of the training data. Matching dev's size gives the variance gap (train-dev −
train) the same noise as the mismatch gap (dev − train-dev); the 10% cap keeps small datasets'
training sets large.

Mismatched data (:func:`plan_mismatched`): dev and test come only from the target (the data the
product will see), the same size each: a quarter of the target, capped at the single-distribution
dev count for the whole data. The leftover target goes into training. Train-dev is carved from
the source's training data by the rule above. STRATEGY_NOTES' example, 200,000 web + 10,000
phone, gives a training pool of 200,000 web + 5,000 phone, dev 2,500 phone, test 2,500 phone;
train-dev holds 2,500 of the web training images, so the model trains on 197,500 web + 5,000
phone (``counts["train"]`` is 202,500; ``training_pool`` keeps the 200,000 + 5,000 figure).

Smallest difference to detect: ``min_difference`` sets dev (and test) to the size a
two-proportion test needs at 95% confidence (two-sided) and 80% power::

    n = (z₀.₉₇₅ + z₀.₈)² · (p₁(1 − p₁) + p₂(1 − p₂)) / δ²

with ``p₁ = p``, ``p₂ = p − δ`` for a baseline error ``p``, or the worst case ``p₁,₂ = ½ ± δ/2``
when no baseline is given. That counts two *independent* samples. Two models are compared on
the *same* dev set, where only the examples they disagree on carry the difference: McNemar's
paired test needs (Connor 1987)::

    n = (z₀.₉₇₅·√ψ + z₀.₈·√(ψ − δ²))² / δ²

with ψ the share of dev examples on which the two models disagree (ψ ≥ δ). That normal
approximation gives the *exact* McNemar test ``compare`` runs only 75–79% power, so with
``disagreement`` (ψ) given, dev gets the smallest size at which the exact test (two-sided, 5%)
has 80% power (:func:`exact_mcnemar_power`, found by bisection from Connor's size), and the
smallest detectable difference is the exact test's too; without it dev keeps the
independent-samples size, which is the conservative bound (ψ at its largest, independent
errors), and the paired sizes at a few plausible ψ (:data:`PLAUSIBLE_DISAGREEMENT`, as
multiples of δ; Connor's approximation) are reported beside it. The rule-of-thumb size is
reported too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy import stats

from diagnostics.metrics import Z_95
from diagnostics.rates import clean
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError

TABLE = ((10_000, 0.20), (100_000, 0.05), (1_000_000, 0.01), (10_000_000, 0.0025))
SMALL_DATA_LIMIT = TABLE[0][0]
TRAIN_DEV_SHARE = 0.10
TARGET_DEV_SHARE = 0.25
Z_80 = NormalDist().inv_cdf(0.80)
POWER = 0.80
PLAUSIBLE_DISAGREEMENT = (1.5, 2.0, 3.0, 5.0)  # ψ as multiples of δ, up to the independent ψ
RULE_OF_THUMB = "a dev set of 1,000–10,000 examples is the usual rule"
NO_TEST_WARNING = (
    "No test set: after tuning on dev, the dev error is optimistic, and nothing gives an "
    "unbiased estimate of the final model. Skip the test set only when no such estimate is needed."
)
SMALL_DEV_EXAMPLES = 1_000
MAX_EXAMPLES = 10**12  # a trillion examples: beyond, a size is a typo
RULE_TEXT = (
    "dev = test: 20% up to 10,000 examples, 5% at 100,000, 1% at 1,000,000, 0.25% at "
    "10,000,000, a power law in between and beyond (the dev count never shrinks, its share never "
    "grows); train-dev = the smaller of the dev size and 10% of the training data, carved out "
    "of training; train = the rest"
)
MISMATCH_RULE_TEXT = (
    "dev = test from the target only: a quarter of the target each, capped at the "
    "single-distribution dev size for all the data; the leftover target goes into training; "
    "train-dev = the smaller of the dev size and 10% of the source, carved out of the source's "
    "training data; train = the rest"
)


@dataclass(frozen=True)
class SplitPlan:
    """A split plan: integer counts per split, where each comes from, and why.

    ``counts`` has all of :data:`SPLITS` (0 where a split is absent) and adds up to ``total``.
    ``composition`` gives, per split, the count from each distribution (``{"all": n}`` for one
    distribution). ``training_pool`` is the training data before train-dev is carved out of it.
    ``power`` describes the dev set's statistical resolution (and the requested difference).
    """

    regime: str
    total: int
    counts: dict[str, int]
    composition: dict[str, dict[str, int]]
    training_pool: dict[str, int]
    rule: str
    dev_rule_of_thumb: int
    power: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def fractions(self) -> dict[str, float]:
        """Each split's share of the total."""
        return {name: self.counts[name] / self.total for name in SPLITS}

    @property
    def sources(self) -> dict[str, list[str]]:
        """Which distributions each split comes from (empty for an absent split)."""
        return {
            name: [source for source, n in self.composition[name].items() if n > 0]
            for name in SPLITS
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``split --json`` contract."""
        return {
            "regime": self.regime,
            "total": self.total,
            "counts": dict(self.counts),
            "fractions": self.fractions,
            "sources": self.sources,
            "composition": {k: dict(v) for k, v in self.composition.items()},
            "training_pool": dict(self.training_pool),
            "rule": self.rule,
            "dev_rule_of_thumb": self.dev_rule_of_thumb,
            "power": dict(self.power),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


def rule_dev_fraction(size: float) -> float:
    """The dev (and test) share of ``size`` examples under the table rule, before rounding."""
    if size <= TABLE[0][0]:
        return TABLE[0][1]
    (n0, f0), (n1, f1) = next(
        (pair for pair in itertools.pairwise(TABLE) if size <= pair[1][0]), TABLE[-2:]
    )
    exponent = math.log((n1 * f1) / (n0 * f0)) / math.log(n1 / n0)
    return f0 * (n0 / size) * math.pow(size / n0, exponent)


def rule_dev_count(size: int) -> int:
    """The dev (and test) count for ``size`` examples: the rule's share, rounded half up."""
    return math.floor(rule_dev_fraction(size) * size + 0.5)


def train_dev_count(dev: int, training: int) -> int:
    """Train-dev size: the smaller of the dev size and 10% of the training data (half up)."""
    return min(dev, math.floor(TRAIN_DEV_SHARE * training + 0.5))


def required_dev_size(min_difference: float, baseline_error: float | None = None) -> int:
    """Examples needed to detect ``min_difference`` between two error rates (95%/80%).

    Two-proportion formula ``n = (z₀.₉₇₅ + z₀.₈)²·(p₁q₁ + p₂q₂)/δ²`` with ``p₁ = p``,
    ``p₂ = p − δ`` for a baseline error ``p``, or ``p₁,₂ = ½ ± δ/2`` (the worst case) without one.
    """
    p1, p2 = _proportions(min_difference, baseline_error)
    variance = p1 * (1 - p1) + p2 * (1 - p2)
    return math.ceil((Z_95 + Z_80) ** 2 * variance / min_difference**2 - 1e-9)


def paired_dev_size(min_difference: float, disagreement: float) -> int:
    """Dev examples for McNemar's test to detect ``min_difference`` between two models scored
    on the same examples, which disagree on a share ``disagreement`` (ψ) of them (95%/80%)."""
    psi, delta = disagreement, min_difference
    root = Z_95 * math.sqrt(psi) + Z_80 * math.sqrt(max(psi - delta * delta, 0.0))
    return math.ceil(root * root / (delta * delta) - 1e-9)


def exact_mcnemar_power(n: int, min_difference: float, disagreement: float) -> float:
    """Power of the exact two-sided McNemar test at 5% (as ``compare`` runs it) on ``n`` paired
    examples, when the models disagree on a share ψ and their error rates differ by δ.

    The discordant count m is Bin(n, ψ); given m, the better model's wins are Bin(m, (ψ + δ)/2ψ)
    and the test rejects when the smaller side k has 2·P[Bin(m, ½) ≤ k] < 0.05. The power sums
    the conditional powers over m (within 12 standard deviations of nψ).
    """
    psi, delta = disagreement, min_difference
    if n <= 0 or psi <= 0:
        return 0.0
    mean, sd = n * psi, math.sqrt(n * psi * (1 - psi))
    counts = np.arange(max(0, int(mean - 12 * sd) - 1), min(n, int(mean + 12 * sd) + 2) + 1)
    weights = stats.binom.pmf(counts, n, psi)
    largest = stats.binom.ppf(0.025, counts, 0.5) - 1  # reject when min(b, c) ≤ this
    share = min((psi + delta) / (2 * psi), 1.0)
    conditional = stats.binom.cdf(largest, counts, share) + stats.binom.sf(
        counts - largest - 1, counts, share
    )
    conditional = np.where(largest < 0, 0.0, np.where(largest < counts - largest, conditional, 1.0))
    return float(min((weights * conditional).sum(), 1.0))


def exact_paired_dev_size(min_difference: float, disagreement: float) -> int:
    """The smallest dev (by bisection from Connor's size) at which the exact McNemar test has
    80% power to detect ``min_difference`` at a disagreement share ``disagreement``."""
    low = paired_dev_size(min_difference, disagreement) - 1  # Connor: under 80% (75–79%)
    high = low + 1
    while exact_mcnemar_power(high, min_difference, disagreement) < POWER:
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        if exact_mcnemar_power(middle, min_difference, disagreement) >= POWER:
            high = middle
        else:
            low = middle
    return high


def detectable_paired_difference(dev_size: int, disagreement: float) -> float:
    """The smallest error difference the exact McNemar test detects (95%/80%) on ``dev_size``
    paired examples disagreeing on a share ``disagreement`` (at most that share)."""
    low, high = 0.0, disagreement
    if exact_mcnemar_power(dev_size, high, disagreement) < POWER:
        return high
    for _ in range(40):
        middle = (low + high) / 2
        if exact_mcnemar_power(dev_size, middle, disagreement) >= POWER:
            high = middle
        else:
            low = middle
    return high


def independent_disagreement(min_difference: float, baseline_error: float | None) -> float:
    """ψ when the two models' errors are independent: p₁(1 − p₂) + p₂(1 − p₁) (the largest)."""
    p1, p2 = _proportions(min_difference, baseline_error)
    return p1 * (1 - p2) + p2 * (1 - p1)


def paired_sizes(min_difference: float, baseline_error: float | None) -> list[dict[str, float]]:
    """The paired dev sizes at plausible disagreement shares (below the independent ψ)."""
    largest = independent_disagreement(min_difference, baseline_error)
    shares = [clean(k * min_difference) for k in PLAUSIBLE_DISAGREEMENT]
    return [
        {"disagreement": psi, "dev": paired_dev_size(min_difference, psi)}
        for psi in shares
        if psi < largest
    ]


def _sized_dev(
    min_difference: float, baseline_error: float | None, disagreement: float | None
) -> int:
    """Dev for ``min_difference``: paired when the disagreement is known, else independent."""
    if disagreement is not None:
        return exact_paired_dev_size(min_difference, disagreement)
    return required_dev_size(min_difference, baseline_error)


def detectable_difference(dev_size: int, baseline_error: float | None = None) -> float:
    """The smallest error difference a dev set of ``dev_size`` detects at 95%/80%."""
    if dev_size <= 0:
        return 1.0
    low, high = 1e-9, baseline_error if baseline_error else 1.0
    if required_dev_size(high, baseline_error) > dev_size:
        return high
    for _ in range(100):
        middle = (low + high) / 2
        if required_dev_size(middle, baseline_error) <= dev_size:
            high = middle
        else:
            low = middle
    return high


def _proportions(delta: float, baseline: float | None) -> tuple[float, float]:
    if baseline is None:
        return 0.5 + delta / 2, 0.5 - delta / 2
    return baseline, baseline - delta


def _check_difference(
    min_difference: float | None, baseline_error: float | None, disagreement: float | None = None
) -> None:
    if min_difference is not None and not 0 < min_difference < 1:
        raise InputError(f"minimum difference {min_difference:g} must lie between 0% and 100%")
    if disagreement is not None:
        if min_difference is None:
            raise InputError(
                "--disagreement sizes dev for a minimum difference: give --min-difference too"
            )
        if not min_difference <= disagreement <= 1:
            raise InputError(
                f"disagreement {_pct(disagreement)} is below the minimum difference "
                f"{_pct(min_difference)}: two models whose error rates differ by "
                f"{_pct(min_difference)} disagree on at least that share of the examples"
            )
    if baseline_error is not None:
        if not 0 < baseline_error < 1:
            raise InputError(f"baseline error {baseline_error:g} must lie between 0% and 100%")
        if min_difference is not None and min_difference > baseline_error:
            raise InputError(
                f"minimum difference {_pct(min_difference)} is larger than the baseline error "
                f"{_pct(baseline_error)}: a model cannot be more than "
                f"{_pct(baseline_error)} better"
            )


def check_size(value: object, what: str) -> int:
    """A dataset size typed by a user as an integer ≥ 0 (``10000``, ``10,000``, ``1e6``)."""
    text = str(value).strip().replace(",", "").replace("_", "")
    try:
        number = float(text)
    except ValueError:
        raise InputError(f"{what}: '{value}' is not a number of examples") from None
    if not math.isfinite(number) or number != math.floor(number):
        raise InputError(f"{what}: '{value}' is not a whole number of examples")
    if number < 0:
        raise InputError(f"{what}: '{value}' is negative; a size counts examples")
    if number > MAX_EXAMPLES:
        raise InputError(
            f"{what}: '{value}' is more examples than any dataset holds; the plans go up to "
            f"{MAX_EXAMPLES:.0e}"
        )
    return int(number)


def plan_split(
    size: int,
    *,
    test: bool = True,
    train_dev: bool = True,
    min_difference: float | None = None,
    baseline_error: float | None = None,
    disagreement: float | None = None,
) -> SplitPlan:
    """The plan for ``size`` examples from one distribution (the rule in the module docstring).

    ``test=False`` drops the test set (its examples go to training) with a warning;
    ``train_dev=False`` drops train-dev. ``min_difference`` (an error-rate difference, e.g.
    0.01) sizes dev and test by the power calculation instead of the table rule, paired
    (McNemar) when ``disagreement`` says on what share of examples two models disagree.

    >>> plan_split(1_000_000).counts
    {'train': 970000, 'train_dev': 10000, 'dev': 10000, 'test': 10000}
    """
    size = check_size(size, "size")
    _check_difference(min_difference, baseline_error, disagreement)
    regime = "small_data" if size <= SMALL_DATA_LIMIT else "big_data"
    rule_dev = rule_dev_count(size)
    dev = None
    if min_difference is not None:
        dev = _sized_dev(min_difference, baseline_error, disagreement)
        room = math.floor(TABLE[0][1] * size)
        if dev > room:
            possible = detectable_difference(room, baseline_error)
            raise InputError(
                f"detecting a {_pct(min_difference)} difference needs {dev:,} dev examples (and "
                f"as many for test), more than {TABLE[0][1]:.0%} of {size:,}; with {size:,} "
                f"examples the smallest detectable difference is about {_pct(possible)}"
            )
    counts, pool = _single_counts(size, test, train_dev, dev)
    if _empty_splits(counts, test, train_dev):
        _too_few(
            size,
            "examples",
            _empty_splits(counts, test, train_dev),
            lambda n: _single_counts(n, test, train_dev, dev)[0],
            test,
            train_dev,
        )
    dev, held_out = counts["dev"], counts["train_dev"]
    composition = {name: {"all": n} for name, n in counts.items()}
    plan_notes = [
        f"{size:,} examples from one distribution: dev and test come from it, so they match "
        "what the model will face; make sure that is the data the product will see.",
        _dev_note(dev, size, rule_dev, regime, min_difference),
    ]
    if train_dev:
        plan_notes.append(_train_dev_note(held_out, pool, "training"))
        plan_notes.append(
            "With one distribution, dev − train-dev should be near zero; train-dev still "
            "isolates variance from any accidental difference between training and dev."
        )
    return _finish(
        regime=regime,
        size=size,
        counts=counts,
        composition=composition,
        training_pool={"all": pool},
        rule=RULE_TEXT,
        rule_dev=rule_dev,
        test=test,
        min_difference=min_difference,
        baseline_error=baseline_error,
        disagreement=disagreement,
        notes=plan_notes,
    )


def plan_mismatched(
    source: int,
    target: int,
    *,
    test: bool = True,
    train_dev: bool = True,
    min_difference: float | None = None,
    baseline_error: float | None = None,
    disagreement: float | None = None,
    source_name: str = "source",
    target_name: str = "target",
) -> SplitPlan:
    """The plan for lots of ``source`` data and a little ``target`` data (the product's data).

    Dev and test come only from the target (equal sizes); the leftover target goes into
    training; train-dev is carved out of the source's training data. See the module docstring.

    >>> plan = plan_mismatched(200_000, 10_000)
    >>> plan.counts["dev"], plan.sources["dev"], plan.sources["train"]
    (2500, ['target'], ['source', 'target'])
    """
    source = check_size(source, f"source size ({source_name})")
    target = check_size(target, f"target size ({target_name})")
    _check_difference(min_difference, baseline_error, disagreement)
    if source_name == target_name:
        raise InputError(f"source and target need different names (both '{source_name}')")
    if target == 0:
        raise InputError(
            f"target of 0: dev and test must come from the target ({target_name}) data, so a "
            "mismatched plan needs some; for one distribution use --size N"
        )
    if source == 0:
        raise InputError(
            f"source of 0: with only {target_name} data there is no mismatch; use --size {target}"
        )
    total = source + target
    rule_dev = _target_dev_count(source, target)
    dev = None
    if min_difference is not None:
        dev = _sized_dev(min_difference, baseline_error, disagreement)
        room = target // 2 if test else target
        if dev > room:
            possible = detectable_difference(room, baseline_error)
            raise InputError(
                f"detecting a {_pct(min_difference)} difference needs {dev:,} dev examples "
                f"{'and as many for test ' if test else ''}from the target, more than the "
                f"{target:,} {target_name} examples allow; with them the smallest detectable "
                f"difference is about {_pct(possible)}"
            )
    composition = _mismatch_composition(
        source, target, test, train_dev, dev, source_name, target_name
    )
    counts = {name: sum(parts.values()) for name, parts in composition.items()}
    empty = _empty_splits(counts, test, train_dev)
    if set(empty) & {"dev", "test"}:
        _too_few(
            target,
            _examples("target", target_name),
            empty,
            lambda n: _mismatch_counts(source, n, test, train_dev, dev),
            test,
            train_dev,
        )
    if empty:
        _too_few(
            source,
            _examples("source", source_name),
            empty,
            lambda n: _mismatch_counts(n, target, test, train_dev, dev),
            test,
            train_dev,
        )
    dev, test_count, held_out = counts["dev"], counts["test"], counts["train_dev"]
    target_train = composition["train"][target_name]
    plan_notes = [
        f"Dev and test come only from {target_name} data because that is what the product will "
        f"see; {source_name} data would aim the team at the wrong target.",
        f"Dev {dev:,} and test {test_count:,} {target_name} examples "
        + (
            f"(sized for a {_pct(min_difference)} difference; the rule of thumb gives "
            f"{rule_dev:,})."
            if min_difference is not None
            else f"(a quarter of the {target_name} data each, at most the {rule_dev_count(total):,}"
            f" a single distribution of {total:,} would get)."
        ),
        f"The leftover {target_train:,} {target_name} examples go into training, so the model "
        f"sees some of the target: training data = {source:,} {source_name} + {target_train:,} "
        f"{target_name} = {source + target_train:,}.",
    ]
    if train_dev:
        plan_notes.append(_train_dev_note(held_out, source, f"{source_name} training"))
        plan_notes.append(
            f"So the model trains on {counts['train']:,} ({source - held_out:,} {source_name} + "
            f"{target_train:,} {target_name}). Train-dev − train measures variance; dev − "
            f"train-dev measures the mismatch between {source_name} and {target_name}."
        )
    else:
        plan_notes.append(
            f"Without train-dev, dev − train mixes variance with the {source_name}/{target_name} "
            "mismatch; the two cannot be told apart."
        )
    return _finish(
        regime="mismatched",
        size=total,
        counts=counts,
        composition=composition,
        training_pool={source_name: source, target_name: target_train},
        rule=MISMATCH_RULE_TEXT,
        rule_dev=rule_dev,
        test=test,
        min_difference=min_difference,
        baseline_error=baseline_error,
        disagreement=disagreement,
        notes=plan_notes,
    )


def _finish(
    *,
    regime: str,
    size: int,
    counts: dict[str, int],
    composition: dict[str, dict[str, int]],
    training_pool: dict[str, int],
    rule: str,
    rule_dev: int,
    test: bool,
    min_difference: float | None,
    baseline_error: float | None,
    disagreement: float | None,
    notes: list[str],
) -> SplitPlan:
    dev = counts["dev"]
    if disagreement is None:
        detectable = detectable_difference(dev, baseline_error)
    else:  # the exact McNemar test compare runs, at the given disagreement
        detectable = detectable_paired_difference(dev, disagreement)
    paired_dev = (
        ([{"disagreement": disagreement, "dev": dev}] if disagreement is not None else [])
        + [
            row
            for row in paired_sizes(min_difference, baseline_error)
            if row["disagreement"] != disagreement  # the given share is listed once
        ]
        if min_difference
        else []
    )
    power: dict[str, Any] = {
        "confidence": 0.95,
        "power": 0.80,
        "formula": "n = (z0.975 + z0.8)^2 * (p1(1-p1) + p2(1-p2)) / d^2",
        "baseline_error": baseline_error,
        "min_difference": min_difference,
        "required_dev": (
            _sized_dev(min_difference, baseline_error, disagreement) if min_difference else None
        ),
        "independent_dev": (
            required_dev_size(min_difference, baseline_error) if min_difference else None
        ),
        "disagreement": disagreement,
        "paired_formula": "n = (z0.975 * sqrt(psi) + z0.8 * sqrt(psi - d^2))^2 / d^2",
        "paired_test": (
            "exact McNemar (two-sided, 5%), 80% power: the given share's dev; the other shares "
            "by Connor's normal approximation (about 75-79% power for the exact test)"
        ),
        "paired_dev": paired_dev,
        "rule_of_thumb_dev": rule_dev,
        "dev": dev,
        "detectable_difference": detectable,
    }
    if min_difference is not None:
        notes.append(_paired_note(power))
    if min_difference is None:
        notes.append(
            f"A dev set of {dev:,} tells apart two models whose error rates differ by about "
            f"{_pct(detectable)} (95% confidence, 80% power, "
            + ("worst case" if baseline_error is None else f"baseline error {_pct(baseline_error)}")
            + "); give a minimum difference to size dev for it."
        )
    warnings = []
    if not test:
        warnings.append(NO_TEST_WARNING)
    if dev < SMALL_DEV_EXAMPLES:
        test_words = (
            ""
            if disagreement is None
            else f", exact McNemar test at {_pct(disagreement)} disagreement"
        )
        warnings.append(
            f"A dev set of {dev:,} can only tell apart models about {_pct(detectable)} apart "
            f"(95% confidence, 80% power{test_words}); {RULE_OF_THUMB}."
        )
    assert sum(counts.values()) == size
    return SplitPlan(
        regime=regime,
        total=size,
        counts=counts,
        composition=composition,
        training_pool=training_pool,
        rule=rule,
        dev_rule_of_thumb=rule_dev,
        power=power,
        notes=notes,
        warnings=warnings,
    )


def _paired_note(power: dict[str, Any]) -> str:
    """One sentence: why dev has its size when two models are compared on the same dev set."""
    delta, independent = _pct(power["min_difference"]), power["independent_dev"]
    if power["disagreement"] is not None:
        return (
            f"Two models are compared on the same dev examples, so only the "
            f"{_pct(power['disagreement'])} where they disagree carry the {delta} difference: "
            f"the exact McNemar test that compare runs needs {power['required_dev']:,} for 80% "
            f"power (independent samples would need {independent:,})."
        )
    shown = ", ".join(
        f"{row['dev']:,} at {_pct(row['disagreement'])}" for row in power["paired_dev"]
    )
    return (
        f"Dev is sized for independent samples ({independent:,}), the safe bound; compared on "
        f"the same dev set (McNemar's paired test) two models need only {shown} disagreement, "
        "so measure how often yours disagree and give that share as the disagreement."
    )


def _dev_note(dev: int, size: int, rule_dev: int, regime: str, min_difference: float | None) -> str:
    if min_difference is not None:
        return (
            f"Dev and test {dev:,} each: the size that detects a {_pct(min_difference)} "
            f"difference at 95% confidence and 80% power; the rule of thumb gives {rule_dev:,} "
            f"({_pct(rule_dev / size)})."
        )
    kind = (
        "small data: the classic 60/20/20"
        if regime == "small_data"
        else "big data: dev and test only need enough examples to compare models, so their "
        "share shrinks as the data grows"
    )
    return f"Dev and test {dev:,} each ({_pct(dev / size)}): {kind}; {RULE_OF_THUMB}."


def _train_dev_note(held_out: int, pool: int, what: str) -> str:
    return (
        f"Train-dev: {held_out:,} examples carved out of the {pool:,} {what} examples (the "
        f"smaller of the dev size and {TRAIN_DEV_SHARE:.0%}), same distribution as training "
        "but never trained on."
    )


def _examples(role: str, name: str) -> str:
    return f"{role} examples" if role == name else f"{role} examples ({name})"


def _pct(value: float) -> str:
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _single_counts(
    size: int, test: bool, train_dev: bool, dev: int | None = None
) -> tuple[dict[str, int], int]:
    dev = rule_dev_count(size) if dev is None else dev
    test_count = dev if test else 0
    pool = size - dev - test_count
    held_out = train_dev_count(dev, pool) if train_dev else 0
    return {"train": pool - held_out, "train_dev": held_out, "dev": dev, "test": test_count}, pool


def _target_dev_count(source: int, target: int) -> int:
    return min(math.floor(TARGET_DEV_SHARE * target), rule_dev_count(source + target))


def _mismatch_composition(
    source: int,
    target: int,
    test: bool,
    train_dev: bool,
    dev: int | None,
    source_name: str,
    target_name: str,
) -> dict[str, dict[str, int]]:
    dev = _target_dev_count(source, target) if dev is None else dev
    test_count = dev if test else 0
    held_out = train_dev_count(dev, source) if train_dev else 0
    return {
        "train": {source_name: source - held_out, target_name: target - dev - test_count},
        "train_dev": {source_name: held_out, target_name: 0},
        "dev": {source_name: 0, target_name: dev},
        "test": {source_name: 0, target_name: test_count},
    }


def _mismatch_counts(
    source: int, target: int, test: bool, train_dev: bool, dev: int | None
) -> dict[str, int]:
    parts = _mismatch_composition(source, target, test, train_dev, dev, "s", "t")
    if parts["train"]["t"] < 0:
        return {name: 0 for name in SPLITS}
    return {name: sum(p.values()) for name, p in parts.items()}


def _empty_splits(counts: dict[str, int], test: bool, train_dev: bool) -> list[str]:
    wanted = [s for s in SPLITS if (s != "test" or test) and (s != "train_dev" or train_dev)]
    return [name for name in wanted if counts[name] <= 0]


def _too_few(
    size: int,
    what: str,
    empty: list[str],
    counts_at: Callable[[int], dict[str, int]],
    test: bool,
    train_dev: bool,
) -> None:
    smallest = next(
        (
            n
            for n in range(size + 1, size + 1_000_000)
            if not _empty_splits(counts_at(n), test, train_dev)
        ),
        None,
    )
    needed = f"; this plan needs at least {smallest:,} {what}" if smallest else ""
    hint = " (or drop train-dev with --no-train-dev)" if "train_dev" in empty else ""
    raise InputError(
        f"{size:,} {what} are too few to split: {', '.join(empty)} would be empty{needed}{hint}"
    )

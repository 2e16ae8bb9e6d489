"""The waterfall engine against STRATEGY_NOTES §1's worked examples and special cases."""

import math

import pytest

from diagnostics.metrics import LevelEstimate, mover_interval, wilson_interval
from diagnostics.validation import InputError
from diagnostics.waterfall import HumanLevel, diagnose, parse_human_level

WORKED_EXAMPLES = [
    # human, train, train_dev, dev, test, metric, expected gaps, focus
    (
        0.01, 0.08, 0.09, 0.12, 0.13, "error",
        {"avoidable_bias": 0.07, "variance": 0.01, "data_mismatch": 0.03, "dev_overfitting": 0.01},
        "avoidable_bias",
    ),
    (
        0.01, 0.08, None, 0.10, None, "error",
        {"avoidable_bias": 0.07, "variance": 0.02, "data_mismatch": None, "dev_overfitting": None},
        "avoidable_bias",
    ),
    (
        0.01, 0.02, None, 0.10, None, "error",
        {"avoidable_bias": 0.01, "variance": 0.08, "data_mismatch": None, "dev_overfitting": None},
        "variance",
    ),
    (
        0.01, 0.01, 0.09, 0.10, None, "error",
        {"avoidable_bias": 0.0, "variance": 0.08, "data_mismatch": 0.01, "dev_overfitting": None},
        "variance",
    ),
    (
        8, 12, 15, 28, 30, "mae",
        {"avoidable_bias": 4, "variance": 3, "data_mismatch": 13, "dev_overfitting": 2},
        "data_mismatch",
    ),
    (
        0.02, 0.15, None, 0.16, None, "error",
        {"avoidable_bias": 0.13, "variance": 0.01, "data_mismatch": None, "dev_overfitting": None},
        "avoidable_bias",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("human", "train", "train_dev", "dev", "test", "metric", "gaps", "focus"), WORKED_EXAMPLES
)
def test_worked_examples(human, train, train_dev, dev, test, metric, gaps, focus):
    levels = {"train": train, "train_dev": train_dev, "dev": dev, "test": test}
    result = diagnose(levels, [HumanLevel("human", human)], metric=metric).to_dict()
    assert result["gaps"] == gaps
    assert result["priority"][0] == focus
    assert result["recommendations"][0]["gap"] == focus
    assert result["priority"] == sorted(result["priority"], key=lambda name: -result["gaps"][name])


def test_high_bias_example_never_recommends_regularization_first():
    result = diagnose({"train": 0.15, "dev": 0.16}, [HumanLevel("h", 0.02)])
    first = result.recommendations[0]
    assert first["gap"] == "avoidable_bias"
    assert not any("Regulariz" in action for action in first["actions"])
    assert "regularization would make this worse" in first["reason"]


def test_several_human_levels_use_the_best_as_proxy():
    humans = [HumanLevel("student", 0.05), HumanLevel("expert", 0.02), HumanLevel("team", 0.007)]
    result = diagnose({"train": 0.03, "dev": 0.04}, humans)
    assert result.levels["human"] == 0.007
    assert result.to_dict()["gaps"]["avoidable_bias"] == pytest.approx(0.023)
    assert [h.name for h in result.human_levels] == ["team", "expert", "student"]


def test_model_beats_human_is_warned_and_not_a_priority():
    result = diagnose({"train": 0.005, "dev": 0.006}, [HumanLevel("team", 0.007)])
    assert result.gaps["avoidable_bias"].value < 0
    assert "avoidable_bias" not in result.priority
    assert any("beats the best human level" in w for w in result.warnings)


def test_negative_mismatch_is_reported_not_prioritized():
    result = diagnose({"train": 0.05, "train_dev": 0.08, "dev": 0.06}, [HumanLevel("h", 0.01)])
    assert result.to_dict()["gaps"]["data_mismatch"] == pytest.approx(-0.02)
    assert "data_mismatch" not in result.priority
    assert any("Negative data mismatch" in w and "easier" in w for w in result.warnings)


def test_missing_train_dev_and_test_are_warned():
    result = diagnose({"train": 0.08, "dev": 0.10}, [HumanLevel("h", 0.01)])
    assert result.to_dict()["gaps"]["data_mismatch"] is None
    assert any("No train-dev level" in w for w in result.warnings)
    assert any("No test level" in w for w in result.warnings)


def test_missing_human_level_leaves_bias_unknown():
    result = diagnose({"train": 0.08, "dev": 0.10}).to_dict()
    assert result["gaps"]["avoidable_bias"] is None
    assert result["levels"]["human"] is None
    assert any("No human level" in w for w in result["warnings"])


def test_gap_within_noise_is_not_a_priority():
    small = {
        "train": LevelEstimate(0.10, 0.06, 0.14, 100),
        "dev": LevelEstimate(0.12, 0.07, 0.17, 100),
    }
    result = diagnose(small, [HumanLevel("h", 0.09)])
    assert result.gaps["variance"].within_noise
    assert "variance" not in result.priority
    assert any("within statistical noise" in w for w in result.warnings)


def test_no_levels_is_refused():
    with pytest.raises(InputError, match="at least the train or dev"):
        diagnose({}, [HumanLevel("h", 0.01)])


def test_parse_human_level_names_and_defaults():
    assert parse_human_level("expert=2%") == HumanLevel("expert", 0.02)
    assert parse_human_level("0.7%", index=3) == HumanLevel("human 3", 0.007)
    with pytest.raises(InputError, match="above 1"):
        parse_human_level("8")


def _rate(errors: int, n: int) -> LevelEstimate:
    low, high = wilson_interval(errors / n, n)
    return LevelEstimate(errors / n, low, high, n)


def test_newcombe_hand_computed():
    # Newcombe (1998), table II, example (a): 56/70 − 48/80 = 0.2000, method 10: 0.0524 to 0.3339
    low, high = mover_interval(_rate(48, 80), _rate(56, 70))
    assert low == pytest.approx(0.0524, abs=5e-5)
    assert high == pytest.approx(0.3339, abs=5e-5)
    # (e) 10/10 − 0/10: 0.6075 to 1.0000 (degenerate ends stay inside the truth)
    low, high = mover_interval(_rate(0, 10), _rate(10, 10))
    assert low == pytest.approx(0.6075, abs=5e-5) and high == pytest.approx(1.0, abs=5e-5)


def test_zero_errors_against_five_in_300_is_a_real_gap():
    # symmetric Wilson half-widths called this noise; Newcombe's interval lies above 0
    result = diagnose({"train": _rate(0, 300), "train_dev": _rate(5, 300)}, [HumanLevel("h", 0)])
    gap = result.gaps["variance"]
    assert gap.interval[0] == pytest.approx(0.000834, abs=2e-6)
    assert gap.interval[0] > 0 and not gap.within_noise
    assert "variance" in result.priority
    assert result.to_dict()["gap_intervals"]["variance"] == pytest.approx(list(gap.interval))
    assert result.to_dict()["interval_methods"]["gaps"]["variance"].startswith("Newcombe")


def test_gap_intervals_contain_the_gap():
    levels = {"train": _rate(30, 1000), "train_dev": _rate(41, 900), "dev": _rate(38, 500)}
    levels["test"] = _rate(37, 500)
    result = diagnose(levels, [HumanLevel("h", 0.01)])
    for gap in result.gaps.values():
        assert gap.interval[0] <= gap.value <= gap.interval[1], gap.name
    data = result.to_dict()["gap_intervals"]
    assert set(data) == {"avoidable_bias", "variance", "data_mismatch", "dev_overfitting"}
    assert result.gaps["dev_overfitting"].within_noise


def test_gap_to_the_typed_human_level_has_the_measured_levels_interval():
    train = _rate(30, 1000)
    result = diagnose({"train": train}, [HumanLevel("h", 0.01)])
    gap = result.gaps["avoidable_bias"]
    assert gap.interval == pytest.approx((train.low - 0.01, train.high - 0.01))
    assert "typed" in gap.method


def test_within_noise_names_only_sampled_splits():
    result = diagnose({"train": _rate(3, 100)}, [HumanLevel("h", 0.02)])
    assert result.gaps["avoidable_bias"].within_noise
    (warning,) = [w for w in result.warnings if "within statistical noise" in w]
    assert "more examples in train would tell" in warning and "human" not in warning


def test_negative_gap_below_noise_is_reported_negative():
    result = diagnose({"train": _rate(100, 1000), "train_dev": _rate(50, 1000)})
    assert result.gaps["variance"].interval[1] < 0
    assert any(w.startswith("Negative variance gap") for w in result.warnings)


def test_mae_gap_is_welch_satterthwaite():
    train = LevelEstimate(10.0, 9.0, 11.0, 20, se=0.5, df=19)
    dev = LevelEstimate(12.0, 10.0, 14.0, 10, se=1.0, df=9)
    result = diagnose({"train": train, "dev": dev}, metric="mae")
    # hand: se² = 0.25 + 1 = 1.25, df = 1.25² / (0.25²/19 + 1/9) = 13.66, t(13.66) = 2.1498
    low, high = result.gaps["variance"].interval
    assert (low + high) / 2 == pytest.approx(2.0)
    assert (high - low) / 2 == pytest.approx(2.1498 * math.sqrt(1.25), abs=2e-4)
    assert result.gaps["variance"].within_noise
    assert "Welch" in result.gaps["variance"].method


def test_one_example_level_has_no_interval_and_is_never_a_priority():
    # the case: three train rows, one dev row with a large error
    train = LevelEstimate(0.5, 0.0, 1.2, 3, se=0.29, df=2)
    dev = LevelEstimate(3.5, None, None, 1)
    result = diagnose({"train": train, "dev": dev}, [HumanLevel("h", 0.1)], metric="mae")
    gap = result.gaps["variance"]
    assert gap.interval is None and gap.unmeasurable and not gap.within_noise
    assert "variance" not in result.priority
    assert result.gap_interval_text("variance") == "one example: no interval"
    assert result.level_interval_text("dev") == "one example: no interval"
    data = result.to_dict()
    assert data["intervals"]["dev"] is None and data["gap_intervals"]["variance"] is None
    assert any("dev has one example" in w for w in result.warnings)


def test_typed_levels_keep_plain_priorities():
    result = diagnose({"train": 0.08, "dev": 0.10}, [HumanLevel("h", 0.01)])
    assert result.priority == ["avoidable_bias", "variance"]
    assert result.to_dict()["gap_intervals"]["variance"] is None
    assert result.gap_interval_text("variance") == "—"

"""The waterfall engine against STRATEGY_NOTES §1's worked examples and special cases."""

import pytest

from diagnostics.metrics import LevelEstimate
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

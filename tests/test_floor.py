"""The measured floor against its formula, and the human-level warnings that must (not) fire."""

import json

import numpy as np
import pytest
from scipy.stats import norm

from diagnostics.floor import bootstrap_mean_interval, soft_label_error, soft_label_floor
from diagnostics.metrics import LevelEstimate, wilson_interval
from diagnostics.waterfall import HumanLevel, diagnose
from strategy_app.cli import main


def test_soft_label_estimate_is_the_mean_of_one_minus_the_max():
    soft = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.1, 0.3, 0.6]])
    by_hand = np.mean([1 - 0.7, 1 - 0.5, 1 - 1.0, 1 - 0.6])
    assert soft_label_error(soft).tolist() == pytest.approx([0.3, 0.5, 0.0, 0.4])
    found = soft_label_floor(soft)
    assert found.estimate == pytest.approx(by_hand, abs=1e-15)
    assert found.low <= found.estimate <= found.high
    assert found.votes is None and found.bias == ""
    assert "Ishida" in found.method


def test_bootstrap_interval_is_the_percentiles_of_resampled_means():
    values = np.array([0.0, 0.5, 0.2, 0.4, 0.1, 0.3])
    low, high = bootstrap_mean_interval(values, draws=4000, seed=3)
    rng = np.random.default_rng(3)
    means = values[rng.integers(0, len(values), size=(4000, len(values)))].mean(axis=1)
    assert (low, high) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))


def test_vote_shares_leave_out_examples_with_one_vote_and_state_the_bias():
    shares = np.array([[1.0, 0.0], [2 / 3, 1 / 3], [0.5, 0.5]])
    found = soft_label_floor(shares, votes=[1, 3, 2])
    assert found.n == 2
    assert found.estimate == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert found.votes == pytest.approx(2.5)
    assert "biased low" in found.bias
    with pytest.raises(ValueError):
        soft_label_floor(shares[:1], votes=[1])


def test_exact_soft_labels_estimate_a_known_bayes_error():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 20_000)
    x = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)
    p1 = 1 / (1 + np.exp(-2 * x))
    found = soft_label_floor(np.column_stack([1 - p1, p1]), draws=500)
    assert found.low <= norm.cdf(-1.0) <= found.high


# -- the warnings -------------------------------------------------------------------------------


def _measured(value: float, n: int) -> LevelEstimate:
    low, high = wilson_interval(value, n)
    return LevelEstimate(value, min(low, value), max(high, value), n)


def test_memorised_training_set_is_a_variance_story_not_beating_people():
    # sample v2: train 0.0%, dev 34.5%
    levels = {"train": _measured(0.0, 1000), "dev": _measured(0.345, 200)}
    result = diagnose(levels, [HumanLevel("expert", 0.01)])
    assert not any("beats the best human" in w for w in result.warnings)
    story = [w for w in result.warnings if "variance story" in w]
    assert len(story) == 1
    assert "Train error 0.0% is below the best human level 1.0%" in story[0]
    assert "but dev error is 34.5%" in story[0]
    assert result.priority[0] == "variance"


def test_train_below_human_without_held_out_levels_cannot_tell():
    result = diagnose({"train": 0.0}, [HumanLevel("expert", 0.01)])
    assert any("cannot be told; measure a held-out level" in w for w in result.warnings)
    assert not any("beats the best human" in w for w in result.warnings)


def test_beats_human_fires_on_held_out_levels_only():
    beats = diagnose({"train": 0.004, "dev": 0.005, "test": 0.009}, [HumanLevel("team", 0.007)])
    assert any("beats the best human level on held-out data (dev 0.5%" in w for w in beats.warnings)
    not_beaten = diagnose({"train": 0.004, "dev": 0.008}, [HumanLevel("team", 0.007)])
    assert not any("beats the best human" in w for w in not_beaten.warnings)
    assert any("variance story" in w for w in not_beaten.warnings)


def _floor(value: float, low: float, high: float) -> HumanLevel:
    return HumanLevel("measured floor", value, LevelEstimate(value, low, high, 400), floor=True)


def test_too_good_to_be_true_fires_below_the_floor_interval():
    levels = {"train": _measured(0.01, 2000), "dev": _measured(0.02, 1000)}
    result = diagnose(levels, [_floor(0.08, 0.06, 0.10)])
    too_good = [w for w in result.warnings if w.startswith("Too good to be true")]
    assert len(too_good) == 1
    assert "dev error 2.0%" in too_good[0] and "labels are probably noisy" in too_good[0]
    assert "overfit" in too_good[0]


def test_too_good_does_not_fire_within_the_floor_or_from_noise():
    inside = diagnose({"dev": _measured(0.07, 1000)}, [_floor(0.08, 0.06, 0.10)])
    assert not any("Too good" in w for w in inside.warnings)
    # 0.055 is below the floor's low 0.06, but its own interval reaches above it: noise
    noisy = diagnose({"dev": _measured(0.055, 200)}, [_floor(0.08, 0.06, 0.10)])
    assert not any("Too good" in w for w in noisy.warnings)
    # a typed human level is not a floor: beating it is not too good to be true
    typed = diagnose({"dev": _measured(0.02, 1000)}, [HumanLevel("expert", 0.08)])
    assert not any("Too good" in w for w in typed.warnings)
    # train below the floor is memorisation, never "too good"
    train = diagnose(
        {"train": _measured(0.0, 1000), "dev": _measured(0.2, 500)}, [_floor(0.08, 0.06, 0.1)]
    )
    assert not any("Too good" in w for w in train.warnings)


def test_measured_human_level_widens_the_avoidable_bias_interval():
    train = _measured(0.10, 1000)
    typed = diagnose({"train": train}, [HumanLevel("best", 0.03)])
    measured = diagnose({"train": train}, [HumanLevel("best", 0.03, _measured(0.03, 200))])
    t_low, t_high = typed.gaps["avoidable_bias"].interval
    m_low, m_high = measured.gaps["avoidable_bias"].interval
    assert m_low < t_low and m_high > t_high
    assert "Newcombe" in measured.gaps["avoidable_bias"].method
    assert measured.to_dict()["human_levels"][0]["n"] == 200


# -- the same on files, through the CLI ---------------------------------------------------------


def _write(path, rows):
    path.write_text("id,split,y_true,y_pred\n" + "".join(f"{','.join(r)}\n" for r in rows))
    return path


def test_cli_memorised_file_does_not_say_beats_human(tmp_path, capsys):
    rows = [(f"tr{i}", "train", "a", "a") for i in range(400)]
    rows += [(f"d{i}", "dev", "a", "b" if i < 69 else "a") for i in range(200)]  # 34.5%
    path = _write(tmp_path / "v2.csv", rows)
    assert main(["diagnose", str(path), "--human", "1%", "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert not any("beats the best human" in w for w in warnings)
    assert any("variance story" in w for w in warnings)


def test_cli_too_good_to_be_true_on_files(tmp_path, capsys):
    rows = [(f"tr{i}", "train", "a", "a") for i in range(300)]
    rows += [(f"d{i}", "dev", "a" if i % 2 else "b", "a" if i % 2 else "b") for i in range(300)]
    path = _write(tmp_path / "p.csv", rows)
    # an ambiguous task: on every dev example one of three annotators (in turn) differs from
    # the label, so each errs on a third and the vote shares put the floor at 1/3
    votes = ["id,annotator,label"]
    for i in range(300):
        truth = "a" if i % 2 else "b"
        other = "b" if truth == "a" else "a"
        votes += [f"d{i},{who},{other if i % 3 == k else truth}" for k, who in enumerate("xyz")]
    annotations = tmp_path / "votes.csv"
    annotations.write_text("\n".join(votes) + "\n")
    assert main(["diagnose", str(path), "--annotations", str(annotations), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["floor"]["estimate"] == pytest.approx(1 / 3)
    assert any(w.startswith("Too good to be true: dev error 0.0%") for w in data["warnings"])
    # the same dev set with errors above the floor: no warning
    rows = [(f"tr{i}", "train", "a", "a") for i in range(300)]
    rows += [(f"d{i}", "dev", "a" if i % 2 else "b", "a" if i < 120 else "b") for i in range(300)]
    worse = _write(tmp_path / "worse.csv", rows)
    assert main(["diagnose", str(worse), "--annotations", str(annotations), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert not any("Too good" in w for w in data["warnings"])


def test_a_floor_above_the_best_annotator_is_not_a_floor(tmp_path, capsys):
    rows = [(f"tr{i}", "train", "a", "a") for i in range(300)]
    rows += [(f"d{i}", "dev", "a", "a" if i else "b") for i in range(300)]
    path = _write(tmp_path / "p.csv", rows)
    # x and y always give the label, z never does: the disagreement is z's mistakes
    votes = ["id,annotator,label"]
    votes += [f"d{i},{who},{'b' if who == 'z' else 'a'}" for i in range(300) for who in "xyz"]
    annotations = tmp_path / "votes.csv"
    annotations.write_text("\n".join(votes) + "\n")
    assert main(["diagnose", str(path), "--annotations", str(annotations), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["floor"]["estimate"] == pytest.approx(1 / 3)
    assert data["floor"]["credible"] is False
    assert not any("Too good" in w for w in data["warnings"])

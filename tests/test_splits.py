"""Split plans (STRATEGY_NOTES §2), assigning splits to data, leakage, and the split CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.splits import grouped_class_mix, mean_class_share_gap, mixed_label_groups
from diagnostics import split_assign
from diagnostics.split_assign import (
    apply_plan,
    assign_splits,
    check_leakage,
    class_mix_drift,
    read_dataset,
)
from diagnostics.splitnames import SPLITS
from diagnostics.splits import (
    detectable_difference,
    exact_paired_dev_size,
    independent_disagreement,
    paired_dev_size,
    plan_mismatched,
    plan_split,
    required_dev_size,
    rule_dev_fraction,
)
from diagnostics.validation import InputError
from strategy_app.cli import main

TABLE = [
    (10_000, 6_000, 2_000, 2_000),
    (100_000, 90_000, 5_000, 5_000),
    (1_000_000, 980_000, 10_000, 10_000),
    (10_000_000, 9_950_000, 25_000, 25_000),
]


@pytest.mark.parametrize(("size", "train", "dev", "test"), TABLE)
def test_table_sizes_exactly(size, train, dev, test):
    plan = plan_split(size, train_dev=False)
    assert plan.counts == {"train": train, "train_dev": 0, "dev": dev, "test": test}
    with_train_dev = plan_split(size)
    counts = with_train_dev.counts
    assert counts["dev"] == dev and counts["test"] == test
    assert counts["train"] + counts["train_dev"] == train  # carved out of train
    assert counts["train_dev"] == min(dev, round(0.1 * train))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=10, max_value=10**10), st.integers(min_value=1, max_value=10**8))
def test_dev_count_monotone_fraction_non_increasing_counts_add_up(size, extra):
    small, large = plan_split(size), plan_split(size + extra)
    for plan in (small, large):
        assert sum(plan.counts.values()) == plan.total
        assert all(n >= 0 for n in plan.counts.values())
        assert abs(plan.counts["dev"] - rule_dev_fraction(plan.total) * plan.total) <= 0.5
    assert large.counts["dev"] >= small.counts["dev"]
    assert rule_dev_fraction(size + extra) <= rule_dev_fraction(size) + 1e-15


def test_mismatch_example_of_the_notes():
    plan = plan_mismatched(200_000, 10_000, source_name="web", target_name="phone", train_dev=False)
    assert plan.composition["train"] == {"web": 200_000, "phone": 5_000}
    assert plan.counts == {"train": 205_000, "train_dev": 0, "dev": 2_500, "test": 2_500}
    assert plan.sources == {"train": ["web", "phone"], "train_dev": [], "dev": ["phone"],
                            "test": ["phone"]}  # fmt: skip
    carved = plan_mismatched(200_000, 10_000, source_name="web", target_name="phone")
    assert carved.training_pool == {"web": 200_000, "phone": 5_000}
    assert carved.composition["train_dev"] == {"web": 2_500, "phone": 0}
    assert carved.composition["train"] == {"web": 197_500, "phone": 5_000}
    assert carved.counts["dev"] == carved.counts["test"] == 2_500
    assert sum(carved.counts.values()) == 210_000
    assert any("phone" in note and "product will see" in note for note in carved.notes)


def test_no_test_warns_and_gives_test_share_to_training():
    plan = plan_split(100_000, test=False, train_dev=False)
    assert plan.counts == {"train": 95_000, "train_dev": 0, "dev": 5_000, "test": 0}
    assert any("No test set" in w for w in plan.warnings)


def test_power_calculation_beside_the_rule_of_thumb():
    # (1.959964 + 0.841621)² · (0.55·0.45 + 0.45·0.55) / 0.1² = 388.5 → 389
    assert required_dev_size(0.10) == 389
    assert required_dev_size(0.02, baseline_error=0.10) == 3_211  # 0.1·0.9 + 0.08·0.92
    plan = plan_split(1_000_000, min_difference=0.01, baseline_error=0.10)
    assert plan.counts["dev"] == plan.counts["test"] == required_dev_size(0.01, 0.10)
    assert plan.power["rule_of_thumb_dev"] == 10_000
    assert detectable_difference(plan.counts["dev"], 0.10) <= 0.01
    with pytest.raises(InputError, match="smallest detectable difference"):
        plan_split(10_000, min_difference=0.001)


def test_paired_dev_size_is_mcnemars():
    # (1.959964·√0.02 + 0.841621·√(0.02 − 0.01²))² / 0.01² = 1,567.4 → 1,568
    assert paired_dev_size(0.01, 0.02) == 1_568
    assert paired_dev_size(0.01, 0.012) == 940
    for delta, psi in [(0.01, 0.05), (0.02, 0.1), (0.005, 0.03)]:
        z = 1.959963984540054 * psi**0.5 + 0.8416212335729143 * (psi - delta**2) ** 0.5
        assert paired_dev_size(delta, psi) == int(np.ceil(z * z / delta**2))
    # independent errors: McNemar is about the independent-samples size (its upper bound)
    psi = independent_disagreement(0.01, 0.10)
    assert psi == pytest.approx(0.1 * 0.91 + 0.09 * 0.9)
    assert abs(paired_dev_size(0.01, psi) - required_dev_size(0.01, 0.10)) < 10


def test_min_difference_sizes_dev_paired_when_the_disagreement_is_known():
    # sized for the exact McNemar test compare runs (issue 31): Connor's 1,568 gives it only
    # 76.5% power; 1,686 is the smallest size with 80%
    plan = plan_split(1_000_000, min_difference=0.01, baseline_error=0.10, disagreement=0.02)
    assert plan.counts["dev"] == plan.counts["test"] == 1_686
    assert plan.power["disagreement"] == 0.02 and plan.power["independent_dev"] == 13_493
    assert plan.power["paired_dev"][0] == {"disagreement": 0.02, "dev": 1_686}
    assert any("McNemar" in note and "1,686" in note for note in plan.notes)
    mismatched = plan_mismatched(200_000, 10_000, min_difference=0.02, disagreement=0.04)
    assert mismatched.counts["dev"] == exact_paired_dev_size(0.02, 0.04)


def test_min_difference_without_disagreement_keeps_the_bound_and_shows_paired_sizes():
    plan = plan_split(1_000_000, min_difference=0.01, baseline_error=0.10)
    assert plan.counts["dev"] == plan.power["independent_dev"] == 13_493
    assert plan.power["disagreement"] is None
    rows = plan.power["paired_dev"]
    assert [row["disagreement"] for row in rows] == [0.015, 0.02, 0.03, 0.05]
    assert {"disagreement": 0.02, "dev": 1_568} in rows
    assert all(row["dev"] < 13_493 for row in rows)
    (note,) = [note for note in plan.notes if "McNemar" in note]
    assert "independent samples (13,493)" in note and "1,568 at 2%" in note


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_difference": 0.02, "disagreement": 0.01}, "at least that share"),
        ({"disagreement": 0.05}, "give --min-difference too"),
    ],
)
def test_bad_disagreement_is_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        plan_split(100_000, **kwargs)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: plan_split(-1), "negative"),
        (lambda: plan_split("12.5"), "whole number"),
        (lambda: plan_split(3), "too few.*at least"),
        (lambda: plan_mismatched(1000, 0), "target of 0"),
        (lambda: plan_mismatched(1000, 2), "too few.*at least 4"),
    ],
)
def test_bad_sizes_are_refused(call, message):
    with pytest.raises(InputError, match=message):
        call()


# -- assigning splits to data ------------------------------------------------------------------


def make_frame(rows=40_000, groups=4_000, seed=1):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, rows)
    group_label = rng.choice(["cat", "dog", "bird", "fish"], groups, p=[0.5, 0.3, 0.15, 0.05])
    device = np.where(rng.random(groups) < 0.1, "phone", "web")
    return pd.DataFrame(
        {"user": group, "label": group_label[group], "device": device[group], "x": rng.random(rows)}
    )


def class_share_gap(frame, split):
    overall = frame["label"].value_counts(normalize=True)
    table = pd.crosstab(split, frame["label"], normalize="index")
    return float((table - overall).abs().to_numpy().max())


def test_assign_is_deterministic_and_follows_the_plan():
    frame = make_frame()
    first = assign_splits(frame, None, label="label", seed=7)
    again = assign_splits(frame, None, label="label", seed=7)
    other = assign_splits(frame, None, label="label", seed=8)
    assert first.equals(again) and not first.equals(other)
    assert first.value_counts().to_dict() == plan_split(len(frame)).counts
    assert class_share_gap(frame, first) < 0.01


def test_assign_grouped_never_splits_a_group_and_stays_stratified():
    frame = make_frame()
    split = assign_splits(frame, None, label="label", group="user", seed=3)
    assert (frame.assign(split=split).groupby("user")["split"].nunique() == 1).all()
    assert class_share_gap(frame, split) < 0.01
    report = check_leakage(frame, split, group="user")
    assert report.groups_across_splits == 0 and report.clean


def test_assign_mismatched_dev_and_test_only_from_target():
    frame = make_frame()
    split = assign_splits(frame, None, group="user", source="device", target_value="phone")
    by_device = pd.crosstab(split, frame["device"])
    assert by_device.loc["dev", "web"] == 0 and by_device.loc["test", "web"] == 0
    assert by_device.loc["train_dev", "phone"] == 0
    assert by_device.loc["train", "phone"] > 0  # leftover target in training
    assert (frame.assign(split=split).groupby("user")["split"].nunique() == 1).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_class_mix_at_most_stratified_group_kfolds(seed):
    # 60/20/20 is StratifiedGroupKFold's five folds as 3 + 1 + 1; `python bench/splits.py`
    # prints the mean |class share − overall| of both over seeds 0–9
    frame = mixed_label_groups(seed)
    ours, theirs = grouped_class_mix(seed)
    assert mean_class_share_gap(frame, ours) <= mean_class_share_gap(frame, theirs)
    assert (frame.assign(split=ours).groupby("user")["split"].nunique() == 1).all()
    assert abs(ours.value_counts()["dev"] - 1_200) < 30


def test_more_groups_than_the_greedy_places_keep_whole_groups_and_the_mix(monkeypatch):
    monkeypatch.setattr(split_assign, "GREEDY_GROUPS", 100)  # the rest: cut per stratum
    frame = mixed_label_groups(3)
    split = assign_splits(frame, {"train": 0.6, "dev": 0.2, "test": 0.2}, label="label",
                          group="user", seed=3)  # fmt: skip
    assert (frame.assign(split=split).groupby("user")["split"].nunique() == 1).all()
    assert mean_class_share_gap(frame, split) < 0.01
    assert abs(split.value_counts()["dev"] - 1_200) < 60


def test_a_group_too_large_for_its_split_is_warned_about_by_class_and_split():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {"user": rng.integers(0, 500, 5_000), "label": rng.choice(["cat", "dog"], 5_000)}
    )
    whale = pd.DataFrame(
        {"user": [-1] * 400, "label": ["bird"] * 400}
    )  # 400 of 5,400 rows, 4× a 10% split
    frame = pd.concat([frame, whale], ignore_index=True)
    fractions = {"train": 0.8, "train_dev": 0, "dev": 0.1, "test": 0.1}
    result = apply_plan(frame, fractions, label="label", group="user", seed=0)
    shares = pd.crosstab(result.split, frame["label"], normalize="index")["bird"]
    off = {s.replace("_", "-") for s, share in shares.items() if abs(share - 400 / 5_400) > 0.02}
    drift = [w for w in result.shortfalls if "of class 'bird'" in w]
    assert off and {w.split()[0] for w in drift} == off  # each named split, with the class
    assert class_mix_drift(frame["label"], result.split) == [
        w for w in result.shortfalls if "class" in w
    ]


def test_no_drift_warning_for_rounding_alone():
    frame = pd.DataFrame({"label": ["a"] * 7 + ["b"] * 3})
    split = assign_splits(frame, {"train": 0.6, "dev": 0.2, "test": 0.2}, label="label")
    assert class_mix_drift(frame["label"], split) == []


def test_assign_refuses_missing_columns():
    frame = make_frame(rows=100, groups=10)
    with pytest.raises(InputError, match=r"no column 'patient'.*columns found: user, label"):
        assign_splits(frame, None, group="patient")


def test_leakage_reports_duplicates_across_splits():
    frame = pd.DataFrame({"text": ["a", "b", "a", "c"], "y": [1, 0, 1, 0]})
    split = pd.Series(pd.Categorical(["train", "dev", "dev", "test"], categories=list(SPLITS)))
    report = check_leakage(frame, split)
    assert report.duplicate_sets_across_splits == 1
    assert report.examples == [{"rows": [1, 3], "splits": ["train", "dev"]}]
    assert check_leakage(frame, split, hash_column="y").duplicate_sets_across_splits == 2


# -- CLI -------------------------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_plan_json_contract(capsys):
    code, out, _ = run_cli(capsys, "split", "--size", "100000", "--json")
    data = json.loads(out)
    assert code == 0
    assert {"regime", "counts", "fractions", "sources", "notes", "warnings"} <= data.keys()
    assert data["counts"]["dev"] == 5_000 and set(data["counts"]) == set(SPLITS)
    code, out, _ = run_cli(
        capsys, "split", "--source", "200,000", "--target", "10000", "--target-name", "phone",
        "--source-name", "web", "--no-train-dev", "--json",
    )  # fmt: skip
    data = json.loads(out)
    assert data["regime"] == "mismatched"
    assert data["composition"]["train"] == {"web": 200_000, "phone": 5_000}
    assert data["sources"]["dev"] == ["phone"]
    code, out, _ = run_cli(
        capsys, "split", "--size", "1000000", "--min-difference", "1%", "--baseline-error", "10%",
        "--disagreement", "2%", "--json",
    )  # fmt: skip
    power = json.loads(out)["power"]
    assert power["disagreement"] == 0.02 and power["paired_dev"][0]["dev"] == 1_686
    assert json.loads(out)["counts"]["dev"] == 1_686


@pytest.mark.parametrize(
    "argv",
    [
        ["split", "--size", "-10"],
        ["split", "--size", "ten"],
        ["split", "--source", "100", "--target", "0"],
        ["split", "--size", "2"],
        ["split"],
        ["split", "frobnicate"],
        ["split", "--size", "100000", "--min-difference", "2%", "--disagreement", "1%"],
        ["split", "--size", "100000", "--disagreement", "150"],
    ],
)
def test_cli_bad_input_exits_2(capsys, argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_assign_writes_same_format_with_split_column(capsys, tmp_path, suffix):
    frame = make_frame(rows=5_000, groups=500)
    data = tmp_path / f"data{suffix}"
    out = tmp_path / f"out{suffix}"
    frame.to_csv(data, index=False) if suffix == ".csv" else frame.to_parquet(data)
    code, printed, _ = run_cli(
        capsys, "split", "assign", str(data), "--out", str(out), "--label", "label",
        "--group", "user", "--seed", "4", "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(printed)
    written = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(written.columns) == [*frame.columns, "split"]
    assert written["split"].astype(str).value_counts().to_dict() == {
        k: v for k, v in result["assigned"].items() if v
    }
    assert result["leakage"]["groups_across_splits"] == 0
    assert written.groupby("user")["split"].nunique().max() == 1


def test_cli_assign_refuses_missing_column_naming_it(capsys, tmp_path):
    data = tmp_path / "data.csv"
    make_frame(rows=200, groups=20).to_csv(data, index=False)
    code, _, err = run_cli(
        capsys, "split", "assign", str(data), "--out", str(tmp_path / "o.csv"), "--label", "class"
    )
    assert code == 2
    assert "'class'" in err and "columns found: user, label, device, x" in err
    assert read_dataset(data).shape == (200, 4)

"""The waterfall chart spec: bars, gaps, intervals, highlight, self-contained data."""

import json
import re

import optuna
import vl_convert

from diagnostics.charts import (
    NOISE_TEXT_COLOR,
    PARAM_COLUMNS,
    grid_random_chart,
    importance_chart,
    lr_finder_chart,
    search_params_chart,
    split_plan_chart,
    waterfall_chart,
    waterfall_rows,
)
from diagnostics.metrics import LevelEstimate
from diagnostics.search.budget import compare_grid_random
from diagnostics.search.space import DEFAULT_SPACE, SearchSpace
from diagnostics.splits import plan_mismatched
from diagnostics.waterfall import HumanLevel, diagnose

MAIN_COLUMN_1024_PX = 564  # Streamlit's main column on a 1024 px wide page, sidebar open


def test_seed_waterfall_rows_interleave_levels_and_gaps():
    diagnosis = diagnose(
        {"train": 0.08, "train_dev": 0.09, "dev": 0.12, "test": 0.13},
        [HumanLevel("student", 0.05), HumanLevel("expert", 0.01)],
    )
    rows = waterfall_rows(diagnosis)
    assert rows["label"].tolist() == [
        "human (expert)", "avoidable bias", "train", "variance", "train-dev",
        "data mismatch", "dev", "dev overfitting", "test",
    ]  # fmt: skip
    assert rows.loc[rows["role"] == "largest", "label"].tolist() == ["avoidable bias"]
    assert rows.loc[rows["kind"] == "gap", "text"].tolist() == ["+7.0%", "+1.0%", "+3.0%", "+1.0%"]


def test_chart_is_self_contained_with_error_bars():
    estimate = LevelEstimate(0.1, 0.08, 0.12, 900)
    diagnosis = diagnose({"train": estimate, "dev": LevelEstimate(0.2, 0.17, 0.23, 900)})
    spec = waterfall_chart(diagnosis).to_dict()
    text = json.dumps(spec)
    assert '"url"' not in text
    assert "datasets" in spec
    assert any(layer["mark"]["type"] == "rule" for layer in spec["layer"])
    assert "largest gap: variance (10.0%)" in text


def _svg_size(chart) -> tuple[float, float]:
    """The (width, height) of the chart rendered to SVG, as the report renders it."""
    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    width, height = re.search(r'<svg[^>]* width="([\d.]+)" height="([\d.]+)"', svg).groups()
    return float(width), float(height)


def _search_trials() -> tuple[list[dict], list[dict]]:
    space = SearchSpace.default()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    trials = []
    for number in range(12):
        trial = study.ask()
        params = space.suggest(trial)
        study.tell(trial, 0.0)
        trials.append({"round": 1, "trial": number, "value": 0.3 + 0.05 * number, **params})
    return trials, [space.to_dict(), space.narrow(trials[-3:], 0.25).to_dict()]


def test_the_parameter_charts_wrap_into_rows_that_fit_a_1024_px_page():
    trials, spaces = _search_trials()
    chart = search_params_chart(trials, spaces)
    spec = chart.to_dict()
    assert spec["columns"] == PARAM_COLUMNS and len(spec["concat"]) == len(DEFAULT_SPACE)
    width, height = _svg_size(chart)
    assert width <= MAIN_COLUMN_1024_PX
    assert height >= 2 * 150  # two rows of charts, each readable


def test_the_lr_finder_plot_is_clipped_to_a_readable_height_with_one_line_per_label():
    lrs = [10 ** (-7 + 8 * i / 59) for i in range(60)]
    losses = [2.3 - 0.01 * i for i in range(59)] + [1e5]  # the test stops where it explodes
    result = {
        "lrs": lrs,
        "losses": losses,
        "suggestions": {"valley": 0.011, "steepest": 0.02, "min10": 0.01},
        "rule_of_thumb": [0.005, 0.015],
        "method": "valley",
    }
    chart = lr_finder_chart(result)
    width, height = _svg_size(chart)
    assert 150 <= height <= 400 and width <= 620
    spec = chart.to_dict()
    line = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert line["mark"]["clip"] is True
    assert line["encoding"]["y"]["scale"]["domain"][1] < 100  # the explosion is off the axis
    marks = spec["datasets"][
        next(layer for layer in spec["layer"] if "transform" in layer)["data"]["name"]
    ]
    assert sorted(m["line"] for m in marks) == [0, 1, 2]  # close suggestions: one line each
    assert [m["method"] for m in sorted(marks, key=lambda m: m["line"])] == [
        "min10", "valley", "steepest"
    ]  # fmt: skip


def test_waterfall_labels_wrap_and_are_never_dropped_and_the_legend_names_the_roles():
    diagnosis = diagnose(
        {
            "train": LevelEstimate(0.02, 0.01, 0.035, 300),
            "train_dev": LevelEstimate(0.025, 0.01, 0.05, 200),
            "dev": LevelEstimate(0.03, 0.015, 0.05, 300),
        },
        [HumanLevel("expert reader", 0.015)],
    )
    spec = waterfall_chart(diagnosis).to_dict()
    axis = spec["layer"][0]["encoding"]["x"]["axis"]
    assert axis["labelOverlap"] is False and "split(datum.label, ' ')" in axis["labelExpr"]
    assert "width / 7 < 64" in axis["labelAngle"]["expr"]  # a narrow column turns them instead
    narrow = vl_convert.vegalite_to_svg({**waterfall_chart(diagnosis).to_dict(), "width": 300})
    assert "rotate(-40)" in narrow
    rows = waterfall_rows(diagnosis)
    longest_word = max(len(word) for label in rows["label"] for word in label.split())
    assert longest_word * 7 <= spec["width"] / len(rows)  # each line fits its band
    legend = spec["layer"][0]["encoding"]["color"]
    assert "labelExpr" not in legend["legend"]  # the legend lays out the words it shows
    assert legend["legend"]["columns"] == 1  # no entries side by side to overlap in the SVG
    assert set(legend["scale"]["domain"]) <= {
        "level",
        "gap within noise",
        "gap",
        "negative gap",
        "largest gap (fix first)",
    }
    text = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text")
    assert text["encoding"]["color"]["field"] == "text_color"
    data = (
        spec["datasets"][spec["data"]["name"]]
        if "data" in spec
        else next(iter(spec["datasets"].values()))
    )
    noise = [row["text_color"] for row in data if row["role"] == "noise"]
    assert noise and set(noise) == {NOISE_TEXT_COLOR}  # readable grey, not the bar's pale one
    svg = vl_convert.vegalite_to_svg(spec)
    assert "(expert" in svg and "reader)" in svg  # the human label is on lines of its own


def test_importance_and_grid_random_charts_keep_a_readable_height():
    importances = {"lr": 0.5, "hidden_units": 0.2, "momentum": 0.15, "batch_size": 0.1,
                   "layers": 0.04, "lr_decay": 0.01}  # fmt: skip
    chart = importance_chart(importances)
    _, height = _svg_size(chart)
    assert height >= 26 * len(importances)
    assert chart.to_dict()["layer"][0]["encoding"]["y"]["axis"]["labelOverlap"] is False
    comparison = compare_grid_random(20, 6, 0.1).to_dict()
    _, height = _svg_size(grid_random_chart(comparison))
    assert height >= 150
    svg = vl_convert.vegalite_to_svg(grid_random_chart(comparison).to_dict())
    assert "1 value · 10% chance" in svg and "20 values · 88% chance" in svg


def test_charts_that_stretch_keep_their_own_height_in_the_app():
    """Streamlit stretches the width; "fit-x" keeps the plot's height (plain "fit" squashes it)."""
    diagnosis = diagnose({"train": 0.08, "dev": 0.1}, [HumanLevel("expert", 0.01)])
    comparison = compare_grid_random(20, 6, 0.1).to_dict()
    for chart in (waterfall_chart(diagnosis), grid_random_chart(comparison),
                  importance_chart({"lr": 1.0})):  # fmt: skip
        assert chart.to_dict()["autosize"] == {"type": "fit-x", "contains": "padding"}


def test_a_long_split_bar_carries_its_label_inside():
    plan = plan_mismatched(200_000, 10_000).to_dict()
    spec = split_plan_chart(plan).to_dict()
    texts = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert [t["transform"][0]["filter"] for t in texts] == [
        "datum.share >= 0.5",
        "datum.share < 0.5",
    ]
    assert texts[0]["mark"]["align"] == "right" and texts[0]["mark"]["color"] == "white"
    width, _ = _svg_size(split_plan_chart(plan))
    assert width <= MAIN_COLUMN_1024_PX


def test_the_pareto_chart_marks_the_front_and_skips_unfinished_trials():
    from diagnostics.charts import pareto_chart

    trials = [
        {"number": 0, "state": "complete", "values": [0.10, 5.0]},
        {"number": 1, "state": "complete", "values": [0.20, 1.0]},
        {"number": 2, "state": "complete", "values": [0.25, 6.0]},
        {"number": 3, "state": "fail", "values": None},
    ]
    spec = pareto_chart(trials, ["dev_error", "time"], [0, 1]).to_dict()
    rows = [r for data in spec["datasets"].values() for r in data]
    assert {r["trial"] for r in rows} == {0, 1, 2}
    assert sorted({r["trial"] for r in rows if r["front"]}) == [0, 1]
    assert spec["width"] == "container"
    assert "2 of 3 completed trials" in spec["title"]["subtitle"]

"""The waterfall chart spec: bars, gaps, intervals, highlight, self-contained data."""

import json

from diagnostics.charts import waterfall_chart, waterfall_rows
from diagnostics.metrics import LevelEstimate
from diagnostics.waterfall import HumanLevel, diagnose


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

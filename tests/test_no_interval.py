"""A level measured on one example has no interval: every consumer says so instead of failing."""

import pandas as pd

from diagnostics.charts import waterfall_chart, waterfall_rows
from diagnostics.metrics import NO_INTERVAL, LevelEstimate
from diagnostics.report import ReportInputs, render_html, report_tables
from diagnostics.waterfall import HumanLevel, diagnose


def one_dev_row():
    train = LevelEstimate(0.5, 0.0, 1.74, 3, se=0.29, df=2)
    dev = LevelEstimate(3.5, None, None, 1)
    return diagnose({"train": train, "dev": dev}, [HumanLevel("h", 0.1)], metric="mae")


def test_chart_rows_leave_the_error_bar_out():
    rows = waterfall_rows(one_dev_row())
    dev = rows[(rows["kind"] == "level") & (rows["label"] == "dev")].iloc[0]
    assert pd.isna(dev["low"]) and pd.isna(dev["high"])
    assert waterfall_chart(one_dev_row()).to_dict()["datasets"]


def test_report_shows_no_interval_in_words():
    inputs = ReportInputs(diagnosis=one_dev_row(), source="tiny.csv")
    assert NO_INTERVAL in render_html(inputs, charts={})
    tables = report_tables(inputs)
    levels = {row[0]: row[2] for row in tables["levels"][1:]}
    assert levels["dev"] == NO_INTERVAL and levels["train"] == "0.00 – 1.74"
    gaps = {row[0]: row[3] for row in tables["gaps"][1:]}
    assert gaps["variance"] == NO_INTERVAL

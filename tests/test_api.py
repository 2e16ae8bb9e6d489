"""The notebook API (``import diagnostics``): the CLI's results and refusals on in-memory tables."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import diagnostics
from diagnostics.errors import sample_errors as sample_of_predictions
from diagnostics.ingest import read_predictions
from diagnostics.validation import InputError
from strategy_app.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "predictions.csv"
REGRESSION = ROOT / "sample_data" / "regression.csv"


def cli_json(capsys, *args: str) -> dict:
    """What ``python -m strategy_app ARGS --json`` prints, parsed."""
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_same_numbers(left, right, rel: float) -> None:
    """Equal JSON-like values, floats within ``rel`` (the DuckDB scan sums in another order)."""
    if isinstance(left, dict):
        assert left.keys() == right.keys()
        for key in left:
            assert_same_numbers(left[key], right[key], rel)
    elif isinstance(left, list):
        assert len(left) == len(right)
        for a, b in zip(left, right, strict=True):
            assert_same_numbers(a, b, rel)
    elif isinstance(left, float) and isinstance(right, float):
        assert math.isclose(left, right, rel_tol=rel), (left, right)
    else:
        assert left == right


def test_diagnose_of_a_dataframe_equals_the_cli_json_on_the_same_file(capsys, tmp_path):
    cli = cli_json(capsys, "diagnose", str(SAMPLE), "--human", "0.5%", "--slice", "device")
    frame = pd.read_csv(SAMPLE)
    for data in (frame, pa.Table.from_pandas(frame), frame.to_dict("list"), SAMPLE, str(SAMPLE)):
        diagnosis = diagnostics.diagnose(data, human="0.5%", slice_column="device")
        assert json.loads(json.dumps(diagnosis.to_dict())) == cli
    parquet = tmp_path / "predictions.parquet"
    frame.to_parquet(parquet)
    assert cli_json(capsys, "diagnose", str(parquet), "--human", "0.5%", "--slice", "device") == (
        diagnostics.diagnose(parquet, human="0.5%", slice_column="device").to_dict()
    )


def test_regression_and_several_humans_match_the_cli(capsys):
    args = ["--unit", "₹", "--human", "valuer=400000", "--human", "agent=650000"]
    cli = cli_json(capsys, "diagnose", str(REGRESSION), *args, "--slice", "city")
    humans = {"valuer": 400000, "agent": 650000}
    on_file = diagnostics.diagnose(REGRESSION, human=humans, unit="₹", slice_column="city")
    assert json.loads(json.dumps(on_file.to_dict(), ensure_ascii=False)) == cli
    in_memory = diagnostics.diagnose(
        pd.read_csv(REGRESSION), human=humans, unit="₹", slice_column="city"
    )
    assert_same_numbers(json.loads(json.dumps(in_memory.to_dict())), cli, rel=1e-12)


def test_without_a_slice_the_result_is_a_plain_diagnosis_and_typed_levels_refuse_alike(capsys):
    result = diagnostics.diagnose(pd.read_csv(SAMPLE), human=["expert=0.5%", 0.02])
    # a plain diagnosis (no slices), with Jupyter's view: the notebook API's own subclass, so
    # the result type never imports its renderer
    assert isinstance(result, diagnostics.Diagnosis)
    assert not isinstance(result, diagnostics.SlicedDiagnosis)
    assert "slices" not in result.to_dict() and "avoidable bias" in result._repr_html_()
    assert [h.name for h in result.human_levels] == ["expert", "human 2"]
    assert result.to_dict() == cli_json(
        capsys, "diagnose", str(SAMPLE), "--human", "expert=0.5%", "--human", "0.02"
    )
    assert main(["diagnose", str(SAMPLE), "--human", "8"]) == 2
    cli_error = capsys.readouterr().err.removeprefix("error: ").strip()
    with pytest.raises(InputError) as refused:
        diagnostics.diagnose(SAMPLE, human=8)
    assert str(refused.value) == cli_error


BAD_TABLES = {
    "no split column": lambda f: f.drop(columns="split"),
    "unknown split": lambda f: f.assign(split="holdout"),
    "empty split values": lambda f: f.assign(split=None),
    "repeated ids": lambda f: f.assign(id="same"),
    "empty labels": lambda f: f.assign(y_true=float("nan")),
    "no rows": lambda f: f.iloc[:0],
    "non-numeric score": lambda f: f.assign(score="high"),
    "missing slice column": lambda f: f.drop(columns="device"),
}


@pytest.mark.parametrize("case", BAD_TABLES)
def test_an_in_memory_table_is_refused_as_the_same_parquet_file_is(case, tmp_path):
    frame = BAD_TABLES[case](pd.read_csv(SAMPLE))
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    messages = []
    for data in (path, frame, pa.Table.from_pandas(frame), frame.to_dict("list")):
        with pytest.raises(InputError) as refused:
            read_predictions(data, display_name="bad.parquet", extra_columns=("device",))
        messages.append(str(refused.value))
    assert len(set(messages)) == 1, messages
    if case != "non-numeric score":  # a diagnosis reads no score
        with pytest.raises(InputError, match=r"^the DataFrame"):
            diagnostics.diagnose(frame, slice_column="device")


def test_what_only_memory_can_hold_is_refused_in_one_line():
    with pytest.raises(InputError, match="the same length"):
        read_predictions({"split": ["dev", "dev"], "y_true": [1], "y_pred": [1, 0]})
    with pytest.raises(InputError, match="not list"):
        read_predictions([("dev", 1, 1)])
    with pytest.raises(InputError, match=r"^the Arrow table has no column 'y_pred'"):
        read_predictions(pa.table({"split": ["dev"], "y_true": [1]}))
    tiny = pd.DataFrame({"split": ["dev"], "y_true": [1], "y_pred": [0]}).rename(columns=str)
    assert diagnostics.diagnose(tiny).levels["dev"] == 1.0


def test_sample_errors_of_a_dataframe_is_the_cli_sample():
    expected = sample_of_predictions(read_predictions(SAMPLE, metric="error"), 20, seed=3)
    for data in (pd.read_csv(SAMPLE), SAMPLE):
        pd.testing.assert_frame_equal(diagnostics.sample_errors(data, 20, seed=3), expected)


def test_results_render_in_jupyter_with_the_report_pieces():
    frame = pd.read_csv(SAMPLE)
    frame.loc[frame["device"] == "phone", "device"] = "<script>alert(1)</script>"
    html = diagnostics.diagnose(frame, human="0.5%", slice_column="device")._repr_html_()
    assert html.count("<svg") == 1  # the waterfall chart, inline
    for text in ("data mismatch", "fix this first", "Action plan", "Slices by device"):
        assert text in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<style" not in html and "Content-Security-Policy" not in html  # a fragment, not a page
    plan = diagnostics.plan_split(1_000_000)._repr_html_()
    assert "970,000" in plan and "<section" in plan
    ceiling = diagnostics.ceiling_from_counts({"blurry": 19, "dark": 6}, 50, 0.1)._repr_html_()
    assert "blurry" in ceiling and "<svg" in ceiling


def test_import_diagnostics_is_light_and_lists_its_api():
    code = (
        "import sys, diagnostics; diagnostics.diagnose; diagnostics.plan_split; "
        "print(sorted(m for m in ('torch', 'streamlit', 'sqlalchemy') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    assert set(diagnostics.__all__) <= set(dir(diagnostics))
    for name in diagnostics.__all__:
        assert getattr(diagnostics, name).__doc__
    with pytest.raises(AttributeError):
        diagnostics.no_such_name  # noqa: B018

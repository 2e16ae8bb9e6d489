"""The stakeholder report: content, numbers, self-containment, escaping, CSV and the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from html.parser import HTMLParser

import pytest

from diagnostics.ceiling import ceiling_from_counts
from diagnostics.rates import format_value
from diagnostics.report import (
    SECTIONS,
    ReportInputs,
    export,
    neutralize_cell,
    render_html,
    report_data,
    report_tables,
    table_csv,
)
from diagnostics.tags import neutralize
from diagnostics.waterfall import HumanLevel, diagnose
from strategy_app.cli import main
from tests.conftest import write_predictions

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    "</title><script>alert(2)</script>",
    "</style><script>alert(3)</script>",
    "<svg onload=alert(4)>",
    "]]></text><script>alert(5)</script>",
    "{{ 7*7 }}",
]
URL_ATTRIBUTES = {"href", "src", "xlink:href", "action", "formaction", "style", "data"}
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action|poster|data|xlink:href)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|@import""",
    re.IGNORECASE,
)


def split_plan_dict(note: str = "Dev and test come from the target distribution.") -> dict:
    """A split plan in the ``split --json`` shape."""
    counts = {"train": 9_000, "train_dev": 500, "dev": 250, "test": 250}
    return {
        "regime": "small_data",
        "total": 10_000,
        "counts": counts,
        "fractions": {k: v / 10_000 for k, v in counts.items()},
        "sources": {"train": ["web"], "train_dev": ["web"], "dev": ["phone"], "test": ["phone"]},
        "notes": [note],
        "warnings": ["dev has only 250 examples: differences under 3% are noise"],
    }


def search_dict(name: str = "lr", study: str = "digits-search") -> dict:
    """A search summary in the search engine's shape."""
    values = [0.81, 0.86, None, 0.9, 0.88, 0.93]
    trials = [
        {
            "number": i,
            "value": v,
            "state": "pruned" if v is None else "complete",
            "params": {name: 10 ** -(i % 4)},
        }
        for i, v in enumerate(values)
    ]
    return {
        "study": study,
        "storage": "journal.log",
        "n_complete": 5,
        "n_pruned": 1,
        "best": {"params": {name: 0.001, "hidden": 128}, "value": 0.93, "dev_accuracy": 0.93},
        "trials": trials,
        "rounds": [
            {"round": 1, "space": {name: {"type": "float", "low": 1e-5, "high": 1.0, "log": True}}},
            {"round": 2, "space": {name: {"type": "float", "low": 1e-4, "high": 1e-2}}},
        ],
    }


def learning_curve_dict() -> dict:
    """A fitted learning curve (exact synthetic points, two seeds per size)."""
    from diagnostics.learning_curve import CurvePoint, fit_curve

    points = [
        CurvePoint(n=n, dev_error=0.05 + 2 * n**-0.5 + w, train_error=0.02, seed=s)
        for n in (50, 100, 200, 400, 800)
        for s, w in enumerate((-0.003, 0.003))
    ]
    return fit_curve(points, rounds=50).to_dict()


def full_inputs(text: str | None = None) -> ReportInputs:
    """A report with every section; ``text`` goes into every user-typed field."""
    label = text or "expert"
    diagnosis = diagnose(
        {"train": 0.08, "train_dev": 0.09, "dev": 0.15, "test": 0.16},
        [HumanLevel(label, 0.01)],
    )
    slices = [
        (text or "phone", diagnose({"train": 0.05, "dev": 0.2}, [HumanLevel(label, 0.01)])),
        ("web", diagnose({"train": 0.05, "dev": 0.06})),
    ]
    counts = {text or "blurry": 30, "mislabeled": 12, "dark": 5}
    return ReportInputs(
        title=text or "Digits model: what to fix next",
        project=text or "digits",
        source=text or "predictions.csv",
        diagnosis=diagnosis,
        slice_column=text or "device",
        slices=slices,
        split_plan=split_plan_dict(text or "Dev and test come from the target."),
        ceiling=ceiling_from_counts(counts, 100, 0.15),
        search=search_dict(text or "lr", text or "digits-search"),
        error_slices=slice_search_dict(text),
        comparison=comparison_dict(text or "v1 · logistic regression"),
        floor=floor_dict(text),
        learning_curve=learning_curve_dict(),
        target_curve=target_curve_dict(text),
    )


def target_curve_dict(text: str | None = None) -> dict:
    """A fitted target-data curve (``learning-curve --target-pool --json``), its pool named by
    ``text`` (user text in the report)."""
    from diagnostics.target_curve import fit_target_curve
    from tests.test_target_curve import curve_points

    curve = fit_target_curve(curve_points(), rounds=50).to_dict()
    return {**curve, "pool": {"spec": text or "device=phone", "rows": 400, "classes": 2}}


def floor_dict(text: str | None = None) -> dict:
    """What annotations measure, in the ``diagnose --annotations --json`` shape."""

    def level(name, errors, n, kappa=None):
        return {"name": name, "error": errors / n, "interval": [0.01, 0.09], "n": n,
                "errors": errors, "kappa": kappa, "pairs": n}  # fmt: skip

    best, typical = level(text or "ana", 6, 300, 0.8), level("ben", 15, 300, 0.7)
    return {
        "annotations_file": text or "annotations.csv",
        "reference_labels": "the predictions' y_true",
        "annotators": [best, typical, level("cleo", 75, 300, 0.3)],
        "typical": typical,
        "best": best,
        "team": level("team (majority vote)", 20, 745),
        "floor": {
            "estimate": 0.05,
            "interval": [0.03, 0.07],
            "n": 146,
            "method": "soft labels",
            "votes_per_example": 2.1,
            "bias": "biased low",
            "credible": True,
        },
        "label_noise": {},
    }


def slice_search_dict(text: str | None = None) -> dict:
    """A slice search in the ``slices --json`` shape; ``text`` names the column and value."""
    column, value = text or "device", text or "phone"
    found = {
        "predicates": [
            {"column": column, "op": "==", "value": value},
            {"column": "brightness", "op": "<", "value": 0.31},
        ],
        "label": f"{column}={value} ∧ brightness<0.31",
        "n": 120,
        "errors": 41,
        "error_rate": 41 / 120,
        "interval": [0.26, 0.43],
        "rest_rate": 0.107,
        "lift": 3.2,
        "error_share": 0.41,
        "p_value": 1e-9,
        "p_adjusted": 2e-7,
        "representation": {"train": 0.05, "dev": 0.15},
        "waterfall": {"levels": {"train": 0.02, "dev": 0.34}, "largest_gap": "variance"},
    }
    return {
        "split": "dev", "rows": 800, "errors": 100, "base_rate": 0.125, "tried": 216,
        "significant": 3, "method": "one-sided Fisher exact test; Benjamini–Hochberg 5%",
        "slices": [found], "warnings": [],
    }  # fmt: skip


def comparison_dict(before: str) -> dict:
    """A ``compare --json`` result of two hand-made versions (paired on 3 dev examples)."""
    return {
        "metric": "error",
        "unit": None,
        "before": before,
        "after": "v2 · search s1 best",
        "levels": {
            "dev": {
                "before": 0.15,
                "after": 0.1,
                "change": -0.05,
                "paired": True,
                "n_shared": 1000,
                "improved": 70,
                "worsened": 20,
                "p_value": 0.0001,
                "interval": [-0.07, -0.03],
                "real": True,
            }
        },
        "gaps": {"data_mismatch": {"before": 0.06, "after": 0.02, "change": -0.04, "real": True}},
        "verdict": "data mismatch 6.0% → 2.0%: closed by 4.0 points, real",
        "notes": [],
        "categories": [
            {
                "name": "blurry",
                "tagged": 38,
                "fixed": 19,
                "still_wrong": 19,
                "missing": 0,
                "fixed_share": 0.5,
                "interval": [0.35, 0.65],
                "ceiling_share": 0.38,
            }
        ],
    }


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def start_tags(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_every_section_and_chart_appears():
    html = render_html(full_inputs())
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert html.count("<svg") >= 2  # waterfall and search history
    assert "100 misclassified dev examples reviewed" in html
    assert "Search space by round" in html and "<td>0.0001 – 0.01</td>" in html
    assert "Split plan: dev has only 250 examples" in html
    assert "<td>device=phone ∧ brightness&lt;0.31</td>" in html and "<td>3.2×</td>" in html
    assert "216 slices tried, 3 significant" in html
    assert "closed by 4.0 points, real" in html and "paired on 1,000 examples" in html
    assert "blurry: 19 of 38 fixed, 50% (35% – 65%); the ceiling promised up to 38%" in html
    assert len(html.encode()) < 1_000_000


def test_chosen_sections_only():
    inputs = full_inputs()
    html = render_html(inputs, ["waterfall", "ceiling"])
    assert '<section id="waterfall">' in html and '<section id="ceiling">' in html
    assert '<section id="search">' not in html and '<section id="plan">' not in html
    data = report_data(inputs, ["ceiling"])
    assert data["sections"] == ["ceiling"] and data["diagnosis"] is None
    assert data["ceiling"]["reviewed"] == 100
    with pytest.raises(ValueError, match="unknown report section"):
        render_html(inputs, ["nope"])


def test_no_external_resource_anywhere():
    html = render_html(full_inputs())
    assert not EXTERNAL.search(html)
    for tag, attrs in start_tags(html):
        assert tag not in {"script", "link", "iframe", "object", "embed", "img", "base"}
        for name, value in attrs.items():
            if name == "xmlns" or name.startswith("xmlns:"):
                continue
            assert not re.match(r"\s*(https?:|//|javascript:)", value, re.I), (tag, name)
    assert "default-src 'none'" in html


@pytest.mark.parametrize("payload", XSS)
def test_user_text_is_escaped_everywhere(payload):
    html = render_html(full_inputs(payload))
    tags = start_tags(html)
    assert not any(tag == "script" for tag, _ in tags)
    for tag, attrs in tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in URL_ATTRIBUTES:
                assert "javascript:" not in value.lower(), (tag, name)
    assert "<title>" in html and html.count("</title>") == 1
    assert html.count("</style>") == 1
    if re.search(r'[<>"]', payload):  # a lone ' inside a "-quoted attribute is harmless
        assert payload not in html
    if "<" in payload:
        assert "&lt;" in html
    if "{{" in payload:  # user text is data, never a template
        assert "<td>{{ 7*7 }}</td>" in html


def test_the_target_section_has_the_runs_forecasts_and_the_plans_mismatch_line():
    from diagnostics.target_curve import target_forecast_line

    inputs = full_inputs()
    curve = inputs.target_curve
    line = target_forecast_line(curve)
    assert line and line.startswith("about ")
    html = render_html(inputs, ["plan", "target"])
    assert "Target data: what moving target examples in is worth" in html
    assert f"Put some target-distribution data into training — {line}" in html
    assert "Pool device=phone: 400 rows." in html and curve["verdict"] in html
    assert f"m={curve['fit']['m']:.4g}) by bounded least squares" in html
    assert html.count("<svg") == 1  # the target curve's chart (no waterfall chosen)
    tables = report_tables(inputs, ["target"])
    assert tables["target"][0] == ["k", "n", "train-dev", "dev", "mismatch", "seeds", "dev range"]
    assert [row[0] for row in tables["target"][1:]] == [p["k"] for p in curve["points"]]
    assert tables["target_2"][1:] == [
        [f"{f['multiple']:g}×", f["k"], format_value(f["dev_error"], "error"),
         f"{format_value(f['interval'][0], 'error')}–{format_value(f['interval'][1], 'error')}",
         format_value(f["gap_closed"], "error")]
        for f in curve["forecasts"]
    ]  # fmt: skip
    assert report_data(inputs, ["target"])["target_curve"] == curve
    # without a target curve: no section, and the plan's line has no forecast
    inputs.target_curve = None
    assert "target" not in inputs.available_sections()
    html = render_html(inputs, ["plan"])
    assert "Put some target-distribution data into training —" not in html
    # a curve that could not be read is its one line, the rest of the report unchanged
    inputs.target_curve = {"problem": "the saved target-data curve of v2: broken", "points": [],
                           "runs": [], "fit": None, "forecasts": []}  # fmt: skip
    html = render_html(inputs, ["waterfall", "target"])
    assert "No curve fitted." in html and "the saved target-data curve of v2: broken" in html


def test_json_and_csv_exports_carry_the_same_numbers():
    inputs = full_inputs()
    data = json.loads(export(inputs, "json"))
    assert data["diagnosis"] == inputs.diagnosis.to_dict()
    assert data["ceiling"]["categories"][0]["name"] == "blurry"
    archive = zipfile.ZipFile(io.BytesIO(export(inputs, "csv")))
    names = set(archive.namelist())
    assert {"levels.csv", "gaps.csv", "plan.csv", "slices.csv", "ceiling.csv"} <= names
    assert {"splits.csv", "search.csv", "search_2.csv", "warnings.csv"} <= names
    levels = list(csv.reader(io.StringIO(archive.read("levels.csv").decode())))
    assert levels[0] == ["level", "value", "interval", "n"]
    assert ["dev", "15.0%", "", ""] in levels


def test_csv_formula_cells_are_neutralized():
    inputs = full_inputs('=HYPERLINK("http://x","y")')
    text = table_csv(report_tables(inputs)["ceiling"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == '\'=HYPERLINK("http://x","y")'
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert neutralize_cell("-1+2") == neutralize("-1+2") == "'-1+2"
    assert neutralize_cell(-3) == -3 and neutralize_cell("plain") == "plain"


def test_regression_report_keeps_its_unit():
    diagnosis = diagnose({"train": 1200.0, "dev": 2100.0}, metric="mae", unit="₹")
    html = render_html(ReportInputs(diagnosis=diagnosis))
    assert "2,100.00 ₹" in html and "MAE (₹)" in html


# -- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    predictions = write_predictions(tmp_path / "predictions.csv", rows_per_split=1500)
    labels = tmp_path / "labels.csv"
    labels.write_text("id,blurry,mislabeled,notes\n1,1,0,\n2,0,1,\n3,1,1,=cmd\n4,0,0,\n5,1,0,\n")
    return predictions, labels


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_report_matches_diagnose_json(files, tmp_path, capsys):
    predictions, labels = files
    flags = [predictions, "--human", "expert=1%", "--slice", "device"]
    code, out, _ = run_cli(capsys, "diagnose", *flags, "--json")
    assert code == 0
    expected = json.loads(out)
    target = tmp_path / "report.json"
    code, out, _ = run_cli(
        capsys, "report", *flags, "--labels", labels, "--format", "json", "--out", target
    )
    assert code == 0, out
    data = json.loads(target.read_text())
    slices = expected.pop("slices")
    assert data["diagnosis"] == expected
    assert data["slices"] == slices
    assert data["source"] == "predictions.csv"
    assert data["ceiling"]["dev_error"] == pytest.approx(expected["levels"]["dev"])
    assert data["ceiling"]["reviewed"] == 5

    html_file = tmp_path / "report.html"
    code, out, _ = run_cli(capsys, "report", *flags, "--labels", labels, "--out", html_file)
    assert code == 0 and "Wrote" in out
    html = html_file.read_text()
    for section in ("summary", "waterfall", "plan", "warnings", "slices", "ceiling"):
        assert f'<section id="{section}">' in html
    for level, value in expected["levels"].items():
        if value is not None:
            assert f">{format_value(value, 'error')}<" in html, level
    for name, gap in expected["gaps"].items():
        if gap is not None:
            assert format_value(gap, "error", signed=True) in html, name
    for level, (low, high) in expected["intervals"].items():
        assert f"{format_value(low, 'error')} – {format_value(high, 'error')}" in html, level
    assert "5 misclassified dev examples reviewed" in html
    assert len(html.encode()) < 1_000_000


def test_cli_csv_writes_a_zip_of_tables(files, tmp_path, capsys):
    predictions, labels = files
    out = tmp_path / "tables.zip"
    code, _, _ = run_cli(
        capsys, "report", predictions, "--labels", labels, "--format", "csv", "--out", out
    )
    assert code == 0
    archive = zipfile.ZipFile(out)
    assert {"levels.csv", "gaps.csv", "ceiling.csv"} <= set(archive.namelist())


def test_cli_typed_levels_and_dev_error(tmp_path, capsys, files):
    _, labels = files
    out = tmp_path / "r.html"
    code, _, err = run_cli(
        capsys, "report", "--train", "5%", "--dev", "9%", "--labels", labels, "--out", out
    )
    assert code == 0, err
    assert "9.0%" in out.read_text()
    code, _, err = run_cli(
        capsys, "report", "--labels", labels, "--dev-error", "12%", "--title", "Q3", "--out", out
    )
    assert code == 0, err
    html = out.read_text()
    assert "<title>Q3</title>" in html and "Dev error 12.0%" in html
    assert '<section id="waterfall">' not in html


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dev-error", "10%"], "only for reports without predictions"),
        (["--train", "5%"], "not both"),
        (["--section", "search"], "nothing to report"),
    ],
)
def test_cli_refusals(files, tmp_path, capsys, extra, message):
    predictions, labels = files
    argv = ["report", predictions, "--labels", labels, *extra, "--out", tmp_path / "r.html"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err


def test_cli_labels_need_a_dev_error(files, tmp_path, capsys):
    _, labels = files
    code, _, err = run_cli(capsys, "report", "--labels", labels, "--out", tmp_path / "r.html")
    assert code == 2 and "needs the dev error" in err


def test_cli_split_plan(tmp_path, capsys):
    out = tmp_path / "r.json"
    code, _, err = run_cli(
        capsys, "report", "--split-size", "10000", "--format", "json", "--out", out
    )
    assert code == 0, err
    assert json.loads(out.read_text())["split_plan"]["counts"] == {
        "train": 5400,
        "train_dev": 600,
        "dev": 2000,
        "test": 2000,
    }


def test_cli_search_study_from_optuna_journal(tmp_path, capsys):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    journal = tmp_path / "search.log"
    storage = optuna.storages.journal.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    study = optuna.create_study(study_name="lr-search", storage=storage, direction="maximize")
    study.set_user_attr("space", {"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True}})
    study.optimize(lambda t: 1 - abs(t.suggest_float("lr", 1e-4, 1.0, log=True) - 0.01), 6)
    out = tmp_path / "search.html"
    code, _, err = run_cli(
        capsys, "report", "--study", "lr-search", "--storage", journal, "--out", out
    )
    assert code == 0, err
    html = out.read_text()
    assert "Study lr-search: 6 trials complete, 0 pruned." in html
    assert "Search space by round" in html and "<svg" in html
    code, _, err = run_cli(
        capsys, "report", "--study", "missing", "--storage", journal, "--out", out
    )
    assert code == 2 and "no study 'missing'" in err


def test_cli_report_from_a_saved_project(data_dir, tmp_path, capsys):
    from strategy_app.shell.sample import ensure_sample_project
    from strategy_app.store import open_store

    store = open_store()
    ensure_sample_project(store, write_predictions(tmp_path / "sample.csv"))
    (project,) = store.projects.list()
    out = tmp_path / "project.json"
    code, _, err = run_cli(
        capsys, "report", "--project", project.name, "--format", "json", "--out", out
    )
    assert code == 0, err
    data = json.loads(out.read_text())
    assert data["project"] == project.name and data["source"] == "sample.csv"
    assert data["diagnosis"]["human_levels"][0]["name"] == "expert reader"
    assert data["slices"]["column"] == "device"
    code, _, err = run_cli(capsys, "report", "--project", "nope", "--out", out)
    assert code == 2 and "no project named 'nope'" in err


def test_search_summary_shows_momentum_not_its_complement(tmp_path):
    from diagnostics.search.rounds import run_search
    from diagnostics.search.settings import SearchSettings
    from diagnostics.search.study import summary as search_summary

    settings = SearchSettings(data_dir=str(tmp_path), study="beta", trials=2, epochs=1)
    run_search(settings)
    summary = search_summary(str(tmp_path / "optuna-journal.log"), "beta")
    for trial in summary["trials"]:
        assert "momentum__complement" not in trial["params"]
        assert 0.9 <= trial["params"]["momentum"] <= 0.999


def test_printed_headings_stay_with_their_content():
    html = render_html(full_inputs())
    print_css = re.search(r"@media print \{(.*?)\n  \}", html, re.S).group(1)
    # a whole section is not kept on one page (a long first section left page 1 empty, issue
    # 31); its tables, charts and plan items are
    assert "section { break-inside" not in print_css
    assert re.search(r"table, \.chart, ol\.plan > li \{ break-inside: avoid; \}", print_css)
    assert re.search(r"h2, h3 \{ break-after: avoid-page; break-inside: avoid; \}", print_css)
    # Chromium ignores break-after on a heading: a reserved block after it moves it instead
    assert re.search(
        r"h2::after, h3::after \{[^}]*height: (\d+)rem; margin-bottom: -\1rem;", print_css
    )
    for section in SECTIONS:
        block = re.search(f'<section id="{section}">\\s*<h2>', html)
        assert block, f"section {section} must open with its heading"

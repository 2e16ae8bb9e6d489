"""Stakeholder reports: one self-contained HTML file, the same content as JSON, tables as CSV.

The report is rendered with Jinja2 (autoescape on, so every user-typed string is escaped) from
the same objects the app shows: the :class:`~diagnostics.waterfall.Diagnosis`, the split plan,
the ceiling table and the search summary (each as its ``to_dict()`` form). Charts are the app's
own Altair specs rendered to inline SVG by vl-convert; nothing is loaded from the network, and a
Content-Security-Policy forbids it, so the file works offline and prints cleanly to PDF.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup

from diagnostics import charts as chart_specs
from diagnostics import compare_rows
from diagnostics.annotators import annotator_rows, floor_lines
from diagnostics.ceiling import Ceiling, ceiling_table
from diagnostics.learning_curve import with_forecast
from diagnostics.rates import format_value
from diagnostics.reportnames import DEFAULT_TITLE, FORMATS
from diagnostics.reportnames import SECTIONS as SECTIONS  # re-exported: the page lists them
from diagnostics.splitnames import LEVEL_LABELS, SPLITS
from diagnostics.tags import neutralize
from diagnostics.target_curve import FORM as TARGET_FORM
from diagnostics.target_curve import target_forecast_line, with_target_forecast
from diagnostics.waterfall import GAP_LABELS, Diagnosis, gap_rows

SECTION_TITLES = {
    "summary": "Data summary",
    "waterfall": "Error waterfall and gap table",
    "plan": "Action plan",
    "warnings": "Warnings",
    "curve": "Learning curve: what more data is worth",
    "target": "Target data: what moving target examples in is worth",
    "slices": "Per-slice waterfalls",
    "floor": "Human levels, the floor and label noise",
    "concentration": "Where errors concentrate",
    "changed": "What changed",
    "splits": "Split plan",
    "ceiling": "Error analysis: ceilings",
    "search": "Hyperparameter search",
}
DIAGNOSIS_SECTIONS = ("summary", "waterfall", "plan", "warnings")

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("diagnostics", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class ReportInputs:
    """Everything a report may show; absent parts leave their section out.

    ``comparison`` (the current version against the one before it), ``split_plan`` and
    ``search`` are result objects with ``to_dict()`` (a split plan) or their dict forms (the
    ``--json`` contracts); ``ceiling`` is a :class:`~diagnostics.ceiling.Ceiling` (its chart
    needs the object); ``source`` is the predictions file's name as the user knows it.
    """

    title: str = DEFAULT_TITLE
    project: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    source: str | None = None
    diagnosis: Diagnosis | None = None
    slice_column: str | None = None
    slices: Sequence[tuple[str, Diagnosis]] = ()
    split_plan: object | None = None
    ceiling: Ceiling | None = None
    search: object | None = None
    error_slices: object | None = None  # a slice search (diagnostics.slices) or its dict
    comparison: object | None = None
    floor: object | None = None  # what annotators' labels measure, or its dict (--annotations)
    learning_curve: Mapping[str, Any] | None = None  # ``learning-curve --json``
    target_curve: Mapping[str, Any] | None = None  # ``learning-curve --target-pool … --json``

    def available_sections(self) -> list[str]:
        """The sections this report has content for, in report order."""
        present = {
            "slices": bool(self.slices),
            "changed": self.comparison is not None,
            "splits": self.split_plan is not None,
            "ceiling": self.ceiling is not None,
            "search": self.search is not None,
            "concentration": self.error_slices is not None,
            "floor": self.floor is not None,
            "curve": self.learning_curve is not None,
            "target": self.target_curve is not None,
        }
        present |= dict.fromkeys(DIAGNOSIS_SECTIONS, self.diagnosis is not None)
        return [s for s in SECTIONS if present[s]]


def as_dict(result: Any) -> dict[str, Any] | None:
    """A result object's ``to_dict()`` form (a dict is copied; None stays None)."""
    if result is None:
        return None
    return result.to_dict() if hasattr(result, "to_dict") else dict(result)


def report_data(inputs: ReportInputs, sections: Sequence[str] = SECTIONS) -> dict[str, Any]:
    """The report's content as plain data (``report --format json``), chosen sections only."""
    _check_sections(sections)
    chosen = set(sections)
    diagnosis = inputs.diagnosis if chosen & set(DIAGNOSIS_SECTIONS) else None
    return {
        "title": inputs.title,
        "project": inputs.project,
        "created": inputs.created.isoformat(timespec="seconds"),
        "source": inputs.source,
        "sections": [s for s in inputs.available_sections() if s in chosen],
        "diagnosis": diagnosis.to_dict() if diagnosis else None,
        "slices": {
            "column": inputs.slice_column,
            "values": [{"value": v, **d.to_dict()} for v, d in inputs.slices],
        }
        if inputs.slices and "slices" in chosen
        else None,
        "split_plan": as_dict(inputs.split_plan) if "splits" in chosen else None,
        "ceiling": as_dict(inputs.ceiling) if "ceiling" in chosen else None,
        "search": as_dict(inputs.search) if "search" in chosen else None,
        "error_slices": as_dict(inputs.error_slices) if "concentration" in chosen else None,
        "comparison": as_dict(inputs.comparison) if "changed" in chosen else None,
        "floor": as_dict(inputs.floor) if "floor" in chosen else None,
        "learning_curve": as_dict(inputs.learning_curve) if "curve" in chosen else None,
        "target_curve": as_dict(inputs.target_curve) if "target" in chosen else None,
    }


def report_charts(inputs: ReportInputs) -> dict[str, object]:
    """The Altair charts the report shows, keyed by section (the app's own chart specs)."""
    charts: dict[str, object] = {}
    if inputs.diagnosis is not None:
        charts["waterfall"] = chart_specs.waterfall_chart(inputs.diagnosis)
    if inputs.ceiling is not None:
        charts["ceiling"] = chart_specs.ceiling_chart(inputs.ceiling)
    if inputs.learning_curve is not None and inputs.learning_curve.get("runs"):
        charts["curve"] = chart_specs.learning_curve_chart(inputs.learning_curve)
    if inputs.target_curve is not None and inputs.target_curve.get("runs"):
        charts["target"] = chart_specs.target_curve_chart(inputs.target_curve)
    search = as_dict(inputs.search)
    if search and any(t.get("value") is not None for t in search.get("trials", [])):
        charts["search"] = chart_specs.search_history_chart(search)
    return charts


# vl-convert lays text out with Liberation Sans (Arial's metrics); a browser without Arial draws
# it in a wider font (DejaVu Sans is ~15% wider), so labels laid out to the edge ran past it
# ("lurry/low quality", slanted axis labels cut at the bottom). The report asks for Arial's
# metrics (CSS) and keeps this margin.
CHART_PADDING = {"left": 48, "right": 24, "top": 8, "bottom": 72}


def chart_svg(chart: Any) -> Markup:
    """Render an Altair chart to inline SVG markup (vl-convert; no network, no script), with
    :data:`CHART_PADDING` around it for a browser font wider than vl-convert's."""
    import vl_convert

    spec = {**chart.to_dict(), "padding": CHART_PADDING}
    return Markup(vl_convert.vegalite_to_svg(spec))


def render_html(
    inputs: ReportInputs,
    sections: Sequence[str] = SECTIONS,
    *,
    charts: Mapping[str, object] | None = None,
) -> str:
    """Render the self-contained HTML report with the chosen sections.

    ``charts`` maps a section key (``waterfall``, ``ceiling``, ``search``) to an Altair chart,
    rendered inline as SVG; by default :func:`report_charts`.
    """
    return _ENV.get_template("report.html.j2").render(_context(inputs, sections, charts))


def render_fragment(
    inputs: ReportInputs,
    sections: Sequence[str] = SECTIONS,
    *,
    charts: Mapping[str, object] | None = None,
) -> str:
    """The chosen sections of the report alone, as an HTML fragment: no page, header, style or
    policy (what a Jupyter notebook shows for a result, see ``_repr_html_``)."""
    template = _ENV.get_template("report.html.j2")
    context = template.new_context(_context(inputs, sections, charts))
    return "".join(template.blocks["sections"](context)).strip()


def _context(
    inputs: ReportInputs, sections: Sequence[str], charts: Mapping[str, object] | None
) -> dict[str, Any]:
    """What the report template renders: the view, the chosen sections and their charts."""
    _check_sections(sections)
    if charts is None:
        charts = report_charts(inputs)
    svgs = {
        key: chart_svg(chart)
        for key, chart in charts.items()
        if chart is not None and key in sections
    }
    return {
        "report": _view(inputs),
        "sections": set(sections),
        "charts": _Charts(svgs),
        "extra_sections": _extra_sections(inputs),
    }


def _check_sections(sections: Sequence[str]) -> None:
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown report section {unknown[0]!r}; sections: {', '.join(SECTIONS)}")


class _Charts(dict[str, Any]):
    """Chart lookup that yields None for sections without a chart (StrictUndefined-safe)."""

    def __missing__(self, key: str) -> None:
        return None


def report_tables(inputs: ReportInputs, sections: Sequence[str] = SECTIONS) -> dict[str, list[Any]]:
    """Each table of the chosen sections as rows (header first), for CSV export."""
    _check_sections(sections)
    tables: dict[str, list[list[Any]]] = {}
    view = _view(inputs)
    if view["summary"] and "summary" in sections:
        tables["rows_per_split"] = [["split", "rows"]] + [
            [split, n] for split, n in view["summary"]["rows"].items()
        ]
    if view["waterfall"] and "waterfall" in sections:
        tables["levels"] = [["level", "value", "interval", "n"]] + [
            [r["label"], r["value"], r["interval"], r["n"]] for r in view["waterfall"]["levels"]
        ]
        tables["gaps"] = [["gap", "size", "between", "95% interval", "status", "note"]] + [
            [r["gap"], r["size"], r["between"], r["interval"], r["status"], r["note"]]
            for r in view["waterfall"]["gaps"]
        ]
    if view["waterfall"] and "plan" in sections:
        tables["plan"] = [["step", "gap", "size", "reason", "action"]] + [
            [i, step["label"], step["size"], step["reason"], action]
            for i, step in enumerate(view["waterfall"]["plan"], start=1)
            for action in step["actions"]
        ]
    if view["warnings"] and "warnings" in sections:
        tables["warnings"] = [["warning"]] + [[w] for w in view["warnings"]]
    if view["slices"] and "slices" in sections:
        column = view["slices"]["column"]
        tables["slices"] = [[column, "largest gap", "size", "levels"]] + [
            [r["value"], r["gap"], r["size"], r["levels"]] for r in view["slices"]["rows"]
        ]
    for block in _extra_sections(inputs):
        if block["key"] not in sections:
            continue
        for i, table in enumerate(block["tables"]):
            name = block["key"] if i == 0 else f"{block['key']}_{i + 1}"
            tables[name] = [list(table["columns"]), *[list(r) for r in table["rows"]]]
    return tables


def neutralize_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets ``'`` (numbers stay numbers)."""
    return neutralize(value) if isinstance(value, str) else value


def table_csv(rows: Sequence[Sequence[Any]]) -> str:
    """One table as CSV text, formula cells neutralized."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([neutralize_cell(cell) for cell in row])
    return buffer.getvalue()


def tables_zip(inputs: ReportInputs, sections: Sequence[str] = SECTIONS) -> bytes:
    """A zip archive with one CSV per table (``<table>.csv``), formula cells neutralized."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in report_tables(inputs, sections).items():
            archive.writestr(f"{name}.csv", table_csv(rows))
    return buffer.getvalue()


def export(inputs: ReportInputs, fmt: str, sections: Sequence[str] = SECTIONS) -> bytes:
    """The report as file bytes: ``html``, ``json`` (its content) or ``csv`` (a zip of tables)."""
    if fmt == "html":
        return render_html(inputs, sections).encode("utf-8")
    if fmt == "json":
        data = report_data(inputs, sections)
        return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    if fmt == "csv":
        return tables_zip(inputs, sections)
    raise ValueError(f"unknown report format {fmt!r}; formats: {', '.join(FORMATS)}")


# -- view models ------------------------------------------------------------------------------


def _view(inputs: ReportInputs) -> dict[str, Any]:
    d = inputs.diagnosis
    return {
        "title": inputs.title,
        "project": inputs.project,
        "created": inputs.created.strftime("%Y-%m-%d %H:%M UTC"),
        "summary": _summary(inputs, d) if d else None,
        "waterfall": _waterfall(d, inputs.learning_curve, inputs.target_curve) if d else None,
        "warnings": _warnings(inputs),
        "slices": _slices(inputs) if inputs.slices else None,
    }


def _warnings(inputs: ReportInputs) -> list[str]:
    warnings = list(inputs.diagnosis.warnings) if inputs.diagnosis else []
    plan = as_dict(inputs.split_plan) or {}
    warnings += [f"Split plan: {w}" for w in plan.get("warnings", [])]
    return warnings


def _summary(inputs: ReportInputs, d: Diagnosis) -> dict[str, Any]:
    metric_label = "error rate" if d.metric == "error" else d.metric.upper()
    if d.unit:
        metric_label += f" ({d.unit})"
    return {
        "source": inputs.source,
        "metric_label": metric_label,
        "rows": {LEVEL_LABELS[k]: est.n for k, est in d.intervals.items() if k in SPLITS},
    }


def _waterfall(
    d: Diagnosis,
    curve: Mapping[str, Any] | None = None,
    target: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    fmt = d.fmt
    levels = []
    for level, value in d.levels.items():
        if value is None:
            continue
        est = d.intervals.get(level)
        levels.append(
            {
                "label": LEVEL_LABELS[level],
                "value": fmt(value),
                "interval": d.level_interval_text(level),
                "n": f"{est.n:,}" if est else "",
            }
        )
    gaps = gap_rows(d)
    plan = [
        {
            "label": GAP_LABELS[rec["gap"]],
            "size": fmt(rec["size"]),
            "reason": rec["reason"],
            "actions": with_target_forecast(
                rec["gap"], with_forecast(rec["gap"], rec["actions"], curve), target
            ),
        }
        for rec in d.recommendations
    ]
    humans = [
        {
            "name": h.name,
            "value": fmt(h.value)
            + (f" (measured on {h.estimate.n:,})" if h.estimate is not None else ""),
        }
        for h in d.human_levels
    ]
    return {"levels": levels, "gaps": gaps, "plan": plan, "humans": humans}


def _slices(inputs: ReportInputs) -> dict[str, Any]:
    rows = []
    for value, d in inputs.slices:
        gap = d.largest_gap()
        rows.append(
            {
                "value": value,
                "gap": GAP_LABELS[gap.name] if gap else "none above noise",
                "size": d.fmt(gap.value) if gap else "",
                "levels": ", ".join(
                    f"{LEVEL_LABELS[k]} {d.fmt(v)}" for k, v in d.levels.items() if v is not None
                ),
            }
        )
    return {"column": inputs.slice_column, "rows": rows}


def _extra_sections(inputs: ReportInputs) -> list[dict[str, Any]]:
    builders: dict[
        str, tuple[Mapping[str, Any] | None, Callable[[Mapping[str, Any]], dict[str, Any]]]
    ] = {
        "curve": (as_dict(inputs.learning_curve), _curve_section),
        "target": (as_dict(inputs.target_curve), _target_section),
        "floor": (as_dict(inputs.floor), _floor_section),
        "concentration": (as_dict(inputs.error_slices), _concentration_section),
        "changed": (as_dict(inputs.comparison), _changed_section),
        "splits": (as_dict(inputs.split_plan), _split_section),
        "ceiling": (as_dict(inputs.ceiling), _ceiling_section),
        "search": (as_dict(inputs.search), _search_section),
    }
    return [
        {"key": key, "title": SECTION_TITLES[key], **build(data)}
        for key, (data, build) in builders.items()
        if data
    ]


def _pct(value: float | None) -> str:
    return format_value(value, "error")


def _concentration_section(search: Mapping[str, Any]) -> dict[str, Any]:
    split = LEVEL_LABELS.get(search["split"], search["split"])
    rows = []
    for found in search["slices"]:
        low, high = found["interval"]
        shares = found.get("representation") or {}
        gap = (found.get("waterfall") or {}).get("largest_gap")
        rows.append(
            [
                found["label"],
                f"{found['n']:,}",
                _pct(found["error_rate"]),
                f"{_pct(low)} – {_pct(high)}",
                f"{found['lift']:.1f}×",
                _pct(found["error_share"]),
                f"{found['p_adjusted']:.2g}",
                GAP_LABELS[gap] if gap else "",
                " / ".join(_pct(shares[k]) for k in (search["split"], "train") if k in shares),
            ]
        )
    intro = (
        f"{split}: {search['errors']:,} errors in {search['rows']:,} rows "
        f"({_pct(search['base_rate'])}); {search['tried']:,} slices tried, "
        f"{search['significant']:,} significant."
    )
    if not rows:
        intro += " No slice has an error rate significantly above the rest of the split."
    columns = [
        "slice", "rows", "error rate", "95% interval", "vs rest", "share of errors",
        "adjusted p", "its largest gap", f"share of {split} / train",
    ]  # fmt: skip
    table = {"caption": "", "columns": columns, "rows": rows}
    return {
        "intro": intro,
        "tables": [table] if rows else [],
        "notes": [f"Method: {search['method']}.", *search.get("warnings", [])],
    }


def _curve_section(curve: Mapping[str, Any]) -> dict[str, Any]:
    points = [
        [p["n"], _pct(p["train_error"]), _pct(p["dev_error"]), p.get("seeds", 1),
         f"{_pct(p['interval'][0])}–{_pct(p['interval'][1])}"]
        for p in curve["points"]
    ]  # fmt: skip
    forecasts = [
        [f"{f['multiple']:g}×", f["n"], _pct(f["dev_error"]),
         f"{_pct(f['interval'][0])}–{_pct(f['interval'][1])}"]
        for f in curve.get("forecasts", [])
    ]  # fmt: skip
    fit = curve.get("fit")
    intro = (
        f"Fitted {fit['form']} (a={fit['a']:.4g}, b={fit['b']:.4g}, c={fit['c']:.4g}) by bounded "
        "least squares; forecast intervals: 95% bootstrap over the runs."
        if fit
        else "No curve fitted."
    )
    tables = [
        {"caption": "Runs", "columns": ["n", "train", "dev", "seeds", "dev range"], "rows": points}
    ]
    if forecasts:
        tables.append(
            {"caption": "Forecasts", "columns": ["data", "n", "dev", "95% interval"],
             "rows": forecasts}
        )  # fmt: skip
    notes = [
        curve.get("source"), curve.get("problem"), curve.get("verdict"),
        *(curve.get("failures") or []), curve.get("skipped"), curve.get("left_out"),
    ]  # fmt: skip
    return {"intro": intro, "tables": tables, "notes": list(dict.fromkeys(n for n in notes if n))}


def _target_section(curve: Mapping[str, Any]) -> dict[str, Any]:
    points = [
        [p["k"], p.get("n"), _pct(p.get("train_dev_error")), _pct(p["dev_error"]),
         _pct(p.get("data_mismatch")), p.get("seeds", 1),
         f"{_pct(p['interval'][0])}–{_pct(p['interval'][1])}"]
        for p in curve["points"]
    ]  # fmt: skip
    forecasts = [
        [_times(f.get("multiple")), f["k"], _pct(f["dev_error"]),
         f"{_pct(f['interval'][0])}–{_pct(f['interval'][1])}", _pct(f.get("gap_closed"))]
        for f in curve.get("forecasts", [])
    ]  # fmt: skip
    fit = curve.get("fit")
    intro = (
        f"Fitted {fit.get('form', TARGET_FORM)} (a={fit['a']:.4g}, b={fit['b']:.4g}, "
        f"c={fit['c']:.4g}, m={fit['m']:.4g}) by bounded least squares, k = target examples "
        "moved from the pool into training; forecast intervals: 95% bootstrap over the runs "
        "within each step."
        if fit
        else "No curve fitted."
    )
    columns = ["k", "n", "train-dev", "dev", "mismatch", "seeds", "dev range"]
    tables = [{"caption": "Runs", "columns": columns, "rows": points}]
    if forecasts:
        tables.append(
            {"caption": "Forecasts", "columns": ["pool", "k", "dev", "95% interval",
             "gap closed"], "rows": forecasts}
        )  # fmt: skip
    pool = curve.get("pool")
    pool = pool if isinstance(pool, Mapping) else {}
    notes = [
        curve.get("source"),
        f"Pool {pool.get('spec')}: {pool.get('rows')} rows." if pool.get("spec") else None,
        curve.get("problem"), curve.get("verdict"), target_forecast_line(curve),
        *(curve.get("failures") or []), *(curve.get("warnings") or []),
    ]  # fmt: skip
    return {"intro": intro, "tables": tables, "notes": list(dict.fromkeys(n for n in notes if n))}


def _times(value: Any) -> str:
    return f"{value:g}×" if isinstance(value, int | float) else ""


def _floor_section(floor: Mapping[str, Any]) -> dict[str, Any]:
    rows = annotator_rows(floor)
    return {
        "intro": f"Human levels measured from {floor['annotations_file']}; errors against "
        f"{floor['reference_labels']}, with Wilson 95% intervals (kappa: each annotator's "
        "agreement with the others).",
        "tables": [
            {
                "caption": "Annotators",
                "columns": list(rows[0]),
                "rows": [list(r.values()) for r in rows],
            }
        ],
        "notes": floor_lines(floor),
    }


def _changed_section(comparison: Mapping[str, Any]) -> dict[str, Any]:
    levels, gaps = compare_rows.level_rows(comparison), compare_rows.gap_change_rows(comparison)
    fixed = compare_rows.category_lines(comparison)
    tables = [
        {"caption": caption, "columns": list(rows[0]), "rows": [list(r.values()) for r in rows]}
        for caption, rows in (("Levels", levels), ("Gaps", gaps))
        if rows
    ]
    fixed_notes = [f"What the new model fixed · {line}" for line in fixed]
    return {
        "intro": f"{comparison['before']} → {comparison['after']}: {comparison['verdict']}.",
        "tables": tables,
        "notes": [*fixed_notes, *comparison.get("notes", []), compare_rows.method_note()],
    }


def _split_section(plan: Mapping[str, Any]) -> dict[str, Any]:
    counts, fractions = plan["counts"], plan["fractions"]
    origin = plan.get("composition") or plan.get("sources") or {}
    rows = [
        [
            LEVEL_LABELS[split],
            f"{counts[split]:,}",
            f"{fractions[split] * 100:.2f}%",
            _describe_source(origin.get(split)),
        ]
        for split in counts
        if counts[split]
    ]
    total = f" of {plan['total']:,} examples" if plan.get("total") else ""
    return {
        "intro": f"Regime: {str(plan['regime']).replace('_', ' ')}{total}.",
        "tables": [{"caption": "", "columns": ["split", "count", "share", "from"], "rows": rows}],
        "notes": list(plan.get("notes", [])),
    }


def _describe_source(source: object) -> str:
    if source is None:
        return ""
    if isinstance(source, Mapping):
        return ", ".join(f"{name} {count:,}" for name, count in source.items() if count)
    if isinstance(source, list | tuple):
        return ", ".join(map(str, source))
    return str(source)


def _ceiling_section(ceiling: Mapping[str, Any]) -> dict[str, Any]:
    rows = ceiling_table(ceiling)
    return {
        "intro": f"Dev error {_pct(ceiling['dev_error'])}; {ceiling['reviewed']:,} misclassified "
        "dev examples reviewed. Fixing a category fully removes at most its share of the errors.",
        "tables": [
            {
                "caption": "",
                "columns": list(rows[0]) if rows else ["category"],
                "rows": [list(row.values()) for row in rows],
            }
        ],
        "notes": _ceiling_notes(ceiling),
    }


def _ceiling_notes(ceiling: Mapping[str, Any]) -> list[str]:
    notes = []
    if ceiling.get("untagged"):
        notes.append(f"{ceiling['untagged']:,} reviewed errors carry no category.")
    return notes + list(ceiling.get("notes", [])) + list(ceiling.get("advice", []))


def _search_section(search: Mapping[str, Any]) -> dict[str, Any]:
    best = search.get("best") or {}
    tables = [
        {
            "caption": "Best trial",
            "columns": ["parameter", "value"],
            "rows": [[name, _format_param(v)] for name, v in best.get("params", {}).items()],
        }
    ]
    spaces = [entry.get("space", entry) for entry in search.get("rounds", [])]
    if spaces:
        names = list(dict.fromkeys(name for space in spaces for name in space))
        tables.append(
            {
                "caption": "Search space by round (coarse to fine)",
                "columns": ["parameter", *[f"round {i}" for i in range(1, len(spaces) + 1)]],
                "rows": [
                    [
                        name,
                        *[_format_range(space[name]) if name in space else "" for space in spaces],
                    ]
                    for name in names
                ],
            }
        )
    intro = (
        f"Study {search.get('study')}: {search.get('n_complete', 0)} trials complete, "
        f"{search.get('n_pruned', 0)} pruned."
    )
    for key, label in (("dev_accuracy", "dev"), ("test_accuracy", "test")):
        if best.get(key) is not None:
            intro += f" Best model's {label} accuracy {_pct(best[key])}."
    return {"intro": intro, "tables": tables, "notes": []}


def _format_range(spec: Mapping[str, Any]) -> str:
    if not isinstance(spec, Mapping):
        return _format_param(spec)
    if "choices" in spec:
        return ", ".join(_format_param(c) for c in spec["choices"])
    text = f"{_format_param(spec.get('low'))} – {_format_param(spec.get('high'))}"
    return text + (" (log scale)" if spec.get("log") or spec.get("type") == "log" else "")


def _format_param(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)

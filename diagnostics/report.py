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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jinja2
from markupsafe import Markup

from diagnostics.rates import format_value
from diagnostics.waterfall import GAP_LABELS, LEVEL_LABELS, Diagnosis

SECTIONS = ("summary", "waterfall", "plan", "warnings", "slices", "splits", "ceiling", "search")
SECTION_TITLES = {
    "summary": "Data summary",
    "waterfall": "Error waterfall and gap table",
    "plan": "Action plan",
    "warnings": "Warnings",
    "slices": "Per-slice waterfalls",
    "splits": "Split plan",
    "ceiling": "Error analysis: ceilings",
    "search": "Hyperparameter search",
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("diagnostics", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class ReportInputs:
    """Everything a report may show; absent parts leave their section out."""

    title: str = "What to fix next"
    project: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    source: str | None = None
    diagnosis: Diagnosis | None = None
    slice_column: str | None = None
    slices: Sequence[tuple[str, Diagnosis]] = ()
    split_plan: Mapping | None = None
    ceiling: Mapping | None = None
    search: Mapping | None = None


def report_data(inputs: ReportInputs) -> dict:
    """The report's content as plain data (``report --format json``)."""
    return {
        "title": inputs.title,
        "project": inputs.project,
        "created": inputs.created.isoformat(timespec="seconds"),
        "source": inputs.source,
        "diagnosis": inputs.diagnosis.to_dict() if inputs.diagnosis else None,
        "slices": {
            "column": inputs.slice_column,
            "values": [{"value": v, **d.to_dict()} for v, d in inputs.slices],
        }
        if inputs.slices
        else None,
        "split_plan": dict(inputs.split_plan) if inputs.split_plan else None,
        "ceiling": dict(inputs.ceiling) if inputs.ceiling else None,
        "search": dict(inputs.search) if inputs.search else None,
    }


def chart_svg(chart) -> Markup:
    """Render an Altair chart to inline SVG markup (vl-convert; no network, no script)."""
    import vl_convert

    return Markup(vl_convert.vegalite_to_svg(chart.to_dict()))


def render_html(
    inputs: ReportInputs,
    sections: Sequence[str] = SECTIONS,
    *,
    charts: Mapping[str, object] | None = None,
) -> str:
    """Render the self-contained HTML report with the chosen sections.

    ``charts`` maps a section key (``waterfall``, ``ceiling``, ``search``) to an Altair chart,
    rendered inline as SVG.
    """
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown report section {unknown[0]!r}; sections: {', '.join(SECTIONS)}")
    svgs = {key: chart_svg(chart) for key, chart in (charts or {}).items() if chart is not None}
    template = _ENV.get_template("report.html.j2")
    return template.render(
        report=_view(inputs),
        sections=set(sections),
        charts=_Charts(svgs),
        extra_sections=_extra_sections(inputs),
    )


class _Charts(dict):
    """Chart lookup that yields None for sections without a chart (StrictUndefined-safe)."""

    def __missing__(self, key):
        return None


def report_tables(inputs: ReportInputs) -> dict[str, list[list]]:
    """Each report table as rows (header first), for CSV export."""
    tables: dict[str, list[list]] = {}
    view = _view(inputs)
    if view["waterfall"]:
        tables["levels"] = [["level", "value", "interval", "n"]] + [
            [r["label"], r["value"], r["interval"], r["n"]] for r in view["waterfall"]["levels"]
        ]
        tables["gaps"] = [["gap", "size", "between", "note"]] + [
            [r["label"], r["size"], r["between"], r["note"]] for r in view["waterfall"]["gaps"]
        ]
    for block in _extra_sections(inputs):
        for i, table in enumerate(block["tables"]):
            name = block["key"] if i == 0 else f"{block['key']}_{i + 1}"
            tables[name] = [list(table["columns"]), *[list(r) for r in table["rows"]]]
    return tables


def neutralize_cell(value) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def table_csv(rows: Sequence[Sequence]) -> str:
    """One table as CSV text, formula cells neutralized."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([neutralize_cell(cell) for cell in row])
    return buffer.getvalue()


# -- view models ------------------------------------------------------------------------------


def _view(inputs: ReportInputs) -> dict:
    d = inputs.diagnosis
    return {
        "title": inputs.title,
        "project": inputs.project,
        "created": inputs.created.strftime("%Y-%m-%d %H:%M UTC"),
        "summary": _summary(inputs) if d else None,
        "waterfall": _waterfall(d) if d else None,
        "warnings": list(d.warnings) if d else [],
        "slices": _slices(inputs) if inputs.slices else None,
    }


def _summary(inputs: ReportInputs) -> dict:
    d = inputs.diagnosis
    metric_label = "error rate" if d.metric == "error" else d.metric.upper()
    if d.unit:
        metric_label += f" ({d.unit})"
    return {
        "source": inputs.source,
        "metric_label": metric_label,
        "rows": {LEVEL_LABELS[k]: est.n for k, est in d.intervals.items()},
    }


def _waterfall(d: Diagnosis) -> dict:
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
                "interval": f"{fmt(est.low)} – {fmt(est.high)}" if est else "",
                "n": f"{est.n:,}" if est else "",
            }
        )
    focus = d.priority[0] if d.priority else None
    gaps = [
        {
            "label": GAP_LABELS[name],
            "size": fmt(gap.value, signed=True),
            "between": f"{LEVEL_LABELS[gap.lower]} → {LEVEL_LABELS[gap.upper]}",
            "note": "fix this first"
            if name == focus
            else ("within noise" if gap.within_noise else ""),
            "focus": name == focus,
        }
        for name, gap in d.gaps.items()
    ]
    plan = [
        {
            "label": GAP_LABELS[rec["gap"]],
            "size": fmt(rec["size"]),
            "reason": rec["reason"],
            "actions": rec["actions"],
        }
        for rec in d.recommendations
    ]
    humans = [{"name": h.name, "value": fmt(h.value)} for h in d.human_levels]
    return {"levels": levels, "gaps": gaps, "plan": plan, "humans": humans}


def _slices(inputs: ReportInputs) -> dict:
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


def _extra_sections(inputs: ReportInputs) -> list[dict]:
    builders: dict[str, tuple[Mapping | None, Callable[[Mapping], dict]]] = {
        "splits": (inputs.split_plan, _split_section),
        "ceiling": (inputs.ceiling, _ceiling_section),
        "search": (inputs.search, _search_section),
    }
    return [
        {"key": key, "title": SECTION_TITLES[key], **build(data)}
        for key, (data, build) in builders.items()
        if data
    ]


def _pct(value: float | None) -> str:
    return format_value(value, "error")


def _split_section(plan: Mapping) -> dict:
    counts, fractions, sources = plan["counts"], plan["fractions"], plan.get("sources", {})
    rows = [
        [
            LEVEL_LABELS[split],
            f"{counts[split]:,}",
            f"{fractions[split] * 100:.2f}%",
            _describe_source(sources.get(split)),
        ]
        for split in counts
        if counts[split]
    ]
    return {
        "intro": f"Regime: {plan['regime']}.",
        "tables": [{"caption": "", "columns": ["split", "count", "share", "from"], "rows": rows}],
        "notes": list(plan.get("notes", [])) + list(plan.get("warnings", [])),
    }


def _describe_source(source) -> str:
    if source is None:
        return ""
    if isinstance(source, Mapping):
        return ", ".join(f"{name} {count:,}" for name, count in source.items())
    return str(source)


def _ceiling_section(ceiling: Mapping) -> dict:
    rows = [
        [
            c["name"],
            f"{c['count']:,}",
            _pct(c["share"]),
            f"{_pct(c['interval'][0])} – {_pct(c['interval'][1])}",
            _pct(c["reduction"]),
            _pct(c["error_after_fix"]),
        ]
        for c in ceiling["categories"]
    ]
    return {
        "intro": f"Dev error {_pct(ceiling['dev_error'])}; {ceiling['reviewed']:,} misclassified "
        "dev examples reviewed. Fixing a category fully removes at most its share of the errors.",
        "tables": [
            {
                "caption": "",
                "columns": [
                    "category",
                    "count",
                    "share of errors",
                    "95% interval",
                    "most it removes",
                    "best dev error after fix",
                ],
                "rows": rows,
            }
        ],
        "notes": list(ceiling.get("notes", [])),
    }


def _search_section(search: Mapping) -> dict:
    best = search.get("best") or {}
    params = best.get("params", {})
    tables = [
        {
            "caption": "Best trial",
            "columns": ["parameter", "value"],
            "rows": [[name, _format_param(value)] for name, value in params.items()],
        }
    ]
    for i, ranges in enumerate(search.get("rounds", []), start=1):
        tables.append(
            {
                "caption": f"Round {i} search space",
                "columns": ["parameter", "range"],
                "rows": [[name, _format_param(value)] for name, value in ranges.items()],
            }
        )
    accuracy = best.get("dev_accuracy")
    intro = (
        f"Study {search.get('study')}: {search.get('n_complete', 0)} trials complete, "
        f"{search.get('n_pruned', 0)} pruned."
    )
    if accuracy is not None:
        intro += f" Best dev accuracy {_pct(accuracy)}."
    return {"intro": intro, "tables": tables, "notes": []}


def _format_param(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)

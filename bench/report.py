"""Benchmark: rendering a full stakeholder report vs converting its waterfall chart alone.

Ours: ``render_html`` of a report with every section (two inline SVG charts, all tables).
Anchor: vl-convert turning the waterfall chart's Vega-Lite spec into SVG once, the unavoidable
core of any static chart. The printed ratio is ours / anchor (the median of several runs in
this process), plus the report's size. Run: ``python bench/report.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vl_convert

from bench.timing import median_seconds
from diagnostics.charts import waterfall_chart
from diagnostics.report import render_html
from tests.test_report import full_inputs


def main() -> None:
    """Print the anchor's version and time, ours, their ratio and the report's size."""
    inputs = full_inputs()
    spec = waterfall_chart(inputs.diagnosis).to_dict()
    anchor = median_seconds(lambda: vl_convert.vegalite_to_svg(spec))
    ours = median_seconds(lambda: render_html(inputs))
    size = len(render_html(inputs).encode())
    print(f"anchor: vl-convert {vl_convert.__version__} waterfall → SVG {anchor * 1000:.1f} ms")
    print(f"ours: full report (every section, 2 charts) {ours * 1000:.1f} ms")
    print(f"ratio ours/anchor: {ours / anchor:.2f}; report size {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()

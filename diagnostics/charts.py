"""Chart specs (Altair) for the desk's results, shared by the app and the HTML report.

Specs are pure functions of a result object and carry their data inline (no data URLs), so the
report can render the same spec to a static SVG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from diagnostics.ceiling import Ceiling
from diagnostics.rates import is_rate_metric
from diagnostics.splitnames import LEVEL_LABELS, SPLIT_LABELS
from diagnostics.waterfall import GAP_LABELS, GAPS, Diagnosis

LEVEL_COLOR = "#64748b"
GAP_COLOR = "#f59e0b"
LARGEST_GAP_COLOR = "#dc2626"
NEGATIVE_GAP_COLOR = "#16a34a"
NOISE_GAP_COLOR = "#cbd5e1"
NOISE_TEXT_COLOR = "#64748b"
# the width follows the container (Streamlit sets it), the height stays the plot's own: a fixed
# total height ("fit") would squash the plot under its title, legend and axis titles
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
# an axis label longer than this many characters is set on one line per word
WRAP_AT = 10
WRAPPED_LABEL = f"length(datum.label) > {WRAP_AT} ? split(datum.label, ' ') : datum.label"
NARROW_BAND_PX = 64
HUMAN_TICK_COLOR = "#7c3aed"
NOISE_BAND_COLOR = "#fbbf24"
LABEL_BREAK = " · "  # splits an axis label into lines (category, then its figures)


def waterfall_rows(diagnosis: Diagnosis) -> pd.DataFrame:
    """The chart's data: one row per level and per gap, in waterfall order (left to right).

    Levels span 0 → value with their 95% interval; gaps float from the lower level to the upper
    one. ``role`` colours a gap: ``largest`` (fix first), ``gap``, ``noise`` or ``negative``.
    """
    largest = diagnosis.largest_gap()
    rows = []
    for level, value in diagnosis.levels.items():
        if value is None:
            continue
        label = LEVEL_LABELS[level]
        if level == "human" and diagnosis.human_levels:
            label = f"human ({diagnosis.human_levels[0].name})"
        estimate = diagnosis.intervals.get(level)
        rows.append(
            {
                "label": label,
                "kind": "level",
                "role": "level",
                "start": 0.0,
                "end": value,
                "low": estimate.low if estimate else None,
                "high": estimate.high if estimate else None,
                "text": diagnosis.fmt(value),
            }
        )
        for name in GAPS:
            gap = diagnosis.gaps.get(name)
            if gap is None or gap.lower != level:
                continue
            role = "gap"
            if largest is not None and gap.name == largest.name:
                role = "largest"
            elif gap.within_noise:
                role = "noise"
            elif gap.value < 0:
                role = "negative"
            rows.append(
                {
                    "label": GAP_LABELS[name],
                    "kind": "gap",
                    "role": role,
                    "start": diagnosis.levels[gap.lower],
                    "end": diagnosis.levels[gap.upper],
                    "low": None,
                    "high": None,
                    "text": diagnosis.fmt(gap.value, signed=True),
                }
            )
    frame = pd.DataFrame(rows)
    frame["top"] = frame[["start", "end", "high"]].max(axis=1)
    return frame


def waterfall_chart(diagnosis: Diagnosis, *, title: str = "Error waterfall") -> alt.LayerChart:
    """The waterfall: a bar per level, each gap floating between its levels, labelled.

    The largest gap (the one to fix first) is red; gaps within noise are grey; negative gaps
    green. Levels measured from predictions carry 95% intervals as error bars; measured human
    levels (annotators, team, floor) are ticks on the human bar; a held-out bar's label-noise
    band (``noise_bands``) is shaded from its top down.
    """
    frame = waterfall_rows(diagnosis)
    rate = is_rate_metric(diagnosis.metric)
    axis_title = "error rate" if rate else diagnosis.metric.upper()
    if not rate and diagnosis.unit:
        axis_title += f" ({diagnosis.unit})"
    y_axis = alt.Axis(format=".1~%" if rate else ",.2~f", title=axis_title, grid=True)
    order = frame["label"].tolist()
    # a column too narrow for wrapped labels (under NARROW_BAND_PX a bar) turns them instead
    narrow = f"width / {len(frame)} < {NARROW_BAND_PX}"
    x = alt.X(
        "label:N",
        sort=order,
        title=None,
        axis=alt.Axis(
            labelAngle=alt.ExprRef(f"{narrow} ? -40 : 0"),
            labelAlign=alt.ExprRef(f"{narrow} ? 'right' : 'center'"),
            labelExpr=f"{narrow} ? datum.label : ({WRAPPED_LABEL})",
            labelOverlap=False,
            labelLimit=120,
        ),
    )
    palette = {
        "level": (LEVEL_COLOR, LEVEL_COLOR),
        "gap": (GAP_COLOR, GAP_COLOR),
        "largest gap (fix first)": (LARGEST_GAP_COLOR, LARGEST_GAP_COLOR),
        "gap within noise": (NOISE_GAP_COLOR, NOISE_TEXT_COLOR),
        "negative gap": (NEGATIVE_GAP_COLOR, NEGATIVE_GAP_COLOR),
    }
    frame["legend"] = frame["role"].map(ROLE_LEGEND)
    frame["text_color"] = frame["legend"].map(lambda role: palette[role][1])
    roles = [role for role in palette if role in set(frame["legend"])]
    colors = alt.Scale(domain=roles, range=[palette[role][0] for role in roles])
    color = alt.Color(
        "legend:N",
        scale=colors,
        legend=alt.Legend(
            title=None,
            orient="top",
            symbolType="square",
            labelLimit=200,
            # one entry a line: a browser's sans-serif may be wider than the one vl-convert
            # measured the report's SVG with, so entries side by side could overlap there
            columns=1,
        ),
    )
    tooltip = [alt.Tooltip("label:N", title="bar"), alt.Tooltip("text:N", title="value")]
    base = alt.Chart(frame).encode(x=x)
    bars = base.mark_bar(cornerRadius=2, width=alt.RelativeBandSize(0.6)).encode(
        y=alt.Y("start:Q", axis=y_axis), y2="end:Q", color=color, tooltip=tooltip
    )
    layers = [bars]
    if frame["low"].notna().any():
        layers.append(
            base.transform_filter("isValid(datum.low)")
            .mark_rule(color="#0f172a", strokeWidth=1.5)
            .encode(y="low:Q", y2="high:Q")
        )
    humans = [h for h in diagnosis.human_levels if h.estimate is not None]
    if humans and diagnosis.levels["human"] is not None:
        ticks = pd.DataFrame(
            {
                "label": frame["label"].iloc[0],
                "value": [h.value for h in humans],
                "name": [h.name for h in humans],
                "text": [diagnosis.fmt(h.value) for h in humans],
            }
        )
        layers.append(
            alt.Chart(ticks)
            .mark_tick(color=HUMAN_TICK_COLOR, thickness=2, size=28)
            .encode(
                x=x,
                y="value:Q",
                tooltip=[alt.Tooltip("name:N", title="human level"), "text:N"],
            )
        )
    bands = [
        {
            "label": LEVEL_LABELS[split],
            "start": max(0.0, value - share),
            "end": value,
            "text": f"up to {diagnosis.fmt(share)} may be label error",
        }
        for split, share in diagnosis.noise_bands.items()
        if (value := diagnosis.levels.get(split)) is not None
    ]
    if bands:
        layers.append(
            alt.Chart(pd.DataFrame(bands))
            .mark_bar(color=NOISE_BAND_COLOR, opacity=0.55, width=alt.RelativeBandSize(0.6))
            .encode(x=x, y="start:Q", y2="end:Q", tooltip=[alt.Tooltip("text:N", title="labels")])
        )
    labels = base.mark_text(
        dy=-8, fontSize=alt.ExprRef(f"{narrow} ? 9 : 12"), fontWeight="bold"
    ).encode(y="top:Q", text="text:N", color=alt.Color("text_color:N", scale=None))
    layers.append(labels)
    subtitle = "no gap stands out above the noise"
    largest = diagnosis.largest_gap()
    if largest is not None:
        subtitle = f"largest gap: {GAP_LABELS[largest.name]} ({diagnosis.fmt(largest.value)})"
    chart: alt.LayerChart = (
        _layer(*layers)
        .properties(
            width=72 * len(frame),
            height=300,
            autosize=FIT_WIDTH,
            title=alt.Title(title, subtitle=subtitle, anchor="start"),
        )
        .configure_view(stroke=None)
    )
    return chart


ROLE_LEGEND = {
    "level": "level",
    "gap": "gap",
    "largest": "largest gap (fix first)",
    "noise": "gap within noise",
    "negative": "negative gap",
}


def ceiling_chart(ceiling: Ceiling, *, title: str = "Ceiling per error category") -> alt.LayerChart:
    """Horizontal bars: the most each category can remove from dev error, with its interval.

    One bar per category (largest count first), the bar's length the reduction in points of dev
    error, a rule for the 95% interval and a label with the best dev error after the fix.
    """
    frame = pd.DataFrame(
        [
            {
                "category": row.name,
                "reduction": row.reduction,
                "low": ceiling.dev_error * row.interval[0],
                "high": ceiling.dev_error * row.interval[1],
                "count": row.count,
                "label": f"{row.name}{LABEL_BREAK}{row.count} → best {row.error_after_fix:.1%}",
            }
            for row in ceiling.categories
        ],
        columns=["category", "reduction", "low", "high", "count", "label"],
    )
    order = frame["label"].tolist()
    # the count and the best error after the fix are the axis label's second line: axis labels
    # are laid out inside the chart's width (text at the bars' ends ran past the right edge)
    y = alt.Y(
        "label:N",
        sort=order,
        title=None,
        axis=alt.Axis(labelLimit=0, labelExpr=f"split(datum.label, '{LABEL_BREAK}')"),
    )
    x_axis = alt.Axis(
        format=".1%", title="most it can remove from dev error", grid=True, tickCount=4
    )
    base = alt.Chart(frame).encode(y=y)
    bars = base.mark_bar(color=GAP_COLOR, cornerRadius=2).encode(
        x=alt.X("reduction:Q", axis=x_axis),
        tooltip=[
            alt.Tooltip("category:N"),
            alt.Tooltip("count:Q"),
            alt.Tooltip("reduction:Q", format=".2%", title="can remove"),
        ],
    )
    interval = base.mark_rule(color="#0f172a", strokeWidth=1.5).encode(x="low:Q", x2="high:Q")
    subtitle = f"dev error {ceiling.dev_error:.1%}, {ceiling.reviewed} reviewed errors"
    chart: alt.LayerChart = (
        _layer(bars, interval)
        .properties(
            width=420,
            height=alt.Step(34),
            autosize=FIT_WIDTH,
            title=alt.Title(title, subtitle=subtitle, anchor="start"),
        )
        .configure_view(stroke=None)
    )
    return chart


def search_history_rows(search: Mapping[str, Any]) -> pd.DataFrame:
    """The search history chart's data: one row per finished trial, in trial order.

    ``search`` is a study summary (``trials`` with ``number``, ``value``, ``state``); pruned
    and failed trials (no value) are left out. ``best`` is the best value so far: the highest
    (e.g. dev accuracy) unless ``direction`` is ``minimize``.
    """
    rows = [
        {"trial": int(t["number"]), "value": float(t["value"]), "state": str(t["state"])}
        for t in search.get("trials", [])
        if t.get("value") is not None
    ]
    frame = pd.DataFrame(rows, columns=["trial", "value", "state"])
    frame = frame.sort_values("trial", kind="stable").reset_index(drop=True)
    frame["order"] = range(1, len(frame) + 1)
    minimize = search.get("direction") == "minimize"
    frame["best"] = frame["value"].cummin() if minimize else frame["value"].cummax()
    return frame


def search_history_chart(
    search: Mapping[str, Any], *, title: str = "Search history"
) -> alt.LayerChart:
    """Each trial's value in the order run (points) and the best so far (a step line)."""
    frame = search_history_rows(search)
    minimize = search.get("direction") == "minimize"
    x = alt.X(
        "order:Q",
        title="trial (in the order run)",
        axis=alt.Axis(tickMinStep=1, format="d"),
        scale=alt.Scale(zero=False, nice=False, padding=12),
    )
    if minimize:
        y_axis = alt.Axis(title="objective (lower is better)")
    else:
        y_axis = alt.Axis(title="dev accuracy", format=".1%")
    y = alt.Y("value:Q", axis=y_axis, scale=alt.Scale(zero=False, padding=12))
    best = (
        alt.Chart(frame)
        .mark_line(interpolate="step-after", color=LARGEST_GAP_COLOR, strokeWidth=2)
        .encode(x=x, y=alt.Y("best:Q", scale=alt.Scale(zero=False, padding=12)))
    )
    points = (
        alt.Chart(frame)
        .mark_circle(size=60, opacity=0.85, color=LEVEL_COLOR)
        .encode(x=x, y=y, tooltip=["trial", "value"])
    )
    chart: alt.LayerChart = (
        _layer(best, points)
        .properties(
            width=640,
            height=260,
            autosize=FIT_WIDTH,
            title=alt.Title(
                title, subtitle="grey points: each trial; red line: best so far", anchor="start"
            ),
        )
        .configure_view(stroke=None)
    )
    return chart


def split_plan_chart(plan: dict[str, Any], title: str = "Split plan") -> alt.LayerChart:
    """A split plan (``SplitPlan.to_dict()``) as horizontal bars: one per split, stacked by the
    distribution each part comes from, labelled with the count and share of the total."""
    rows = [
        {
            "split": SPLIT_LABELS[split],
            "source": source,
            "count": count,
            "share": count / plan["total"],
        }
        for split, parts in plan["composition"].items()
        for source, count in parts.items()
        if count
    ]
    frame = pd.DataFrame(rows, columns=["split", "source", "count", "share"])
    labels = pd.DataFrame(
        [
            {
                "split": SPLIT_LABELS[split],
                "share": plan["fractions"][split],
                "text": f"{count:,} · {plan['fractions'][split]:.2%}",
            }
            for split, count in plan["counts"].items()
        ]
    )
    y = alt.Y("split:N", sort=list(SPLIT_LABELS.values()), title=None)
    bars = (
        alt.Chart(frame)
        .mark_bar(cornerRadius=2)
        .encode(
            y=y,
            x=alt.X("share:Q", axis=alt.Axis(format=".0%", title="share of all examples")),
            color=alt.Color("source:N", title="from", scale=alt.Scale(scheme="tableau10")),
            order=alt.Order("source:N"),
            tooltip=[
                alt.Tooltip("split:N"),
                alt.Tooltip("source:N", title="from"),
                alt.Tooltip("count:Q", format=","),
                alt.Tooltip("share:Q", format=".2%"),
            ],
        )
    )
    # a long bar carries its label inside, a short one just after its end
    text = alt.Chart(labels).encode(y=y, x="share:Q", text="text:N")
    inside = text.transform_filter("datum.share >= 0.5").mark_text(
        align="right", dx=-4, fontSize=11, color="white", fontWeight="bold"
    )
    outside = text.transform_filter("datum.share < 0.5").mark_text(align="left", dx=4, fontSize=11)
    subtitle = f"{plan['total']:,} examples · {plan['regime'].replace('_', ' ')}"
    chart: alt.LayerChart = (
        _layer(bars, inside, outside)
        .properties(
            width=420,
            height=alt.Step(28),
            autosize=FIT_WIDTH,
            title=alt.Title(title, subtitle=subtitle, anchor="start"),
        )
        .configure_view(stroke=None)
    )
    return chart


ROUND_COLORS = ["#64748b", "#2563eb", "#16a34a", "#9333ea"]
PARAM_COLUMNS = 3
PARAM_PANEL_PX = 124


def lr_finder_chart(
    result: Mapping[str, Any], *, title: str = "Learning-rate range test"
) -> alt.LayerChart:
    """Smoothed loss vs LR (log axis); the rule-of-thumb range shaded, the suggestions marked.

    ``result`` is ``LRFinderResult.to_dict()``: ``lrs``, ``losses``, ``suggestions``,
    ``rule_of_thumb`` and ``method`` (the suggestion drawn in red). The loss axis stops at the
    98th percentile (the curve is clipped where it explodes); each suggestion's label has a line
    of its own, so close suggestions never print over each other.
    """
    curve = pd.DataFrame({"lr": result["lrs"], "loss": result["losses"]})
    low, high = result["rule_of_thumb"]
    band = pd.DataFrame([{"low": low, "high": high}])
    marks = pd.DataFrame(
        [
            {"method": name, "lr": lr, "chosen": name == result["method"], "line": line}
            for line, (name, lr) in enumerate(sorted(result["suggestions"].items(), key=_by_lr))
        ],
        columns=["method", "lr", "chosen", "line"],
    )
    x = alt.X(
        "lr:Q",
        scale=alt.Scale(type="log"),
        title="learning rate (log scale)",
        axis=alt.Axis(format="~e"),
    )
    top = float(curve["loss"].quantile(0.98)) if len(curve) else 1.0
    bottom = float(curve["loss"].min()) if len(curve) else 0.0
    shade = (
        alt.Chart(band)
        .mark_rect(color=NEGATIVE_GAP_COLOR, opacity=0.15)
        .encode(x=alt.X("low:Q", scale=alt.Scale(type="log")), x2="high:Q")
    )
    line = (
        alt.Chart(curve)
        .mark_line(color=LEVEL_COLOR, clip=True)
        .encode(
            x=x,
            y=alt.Y(
                "loss:Q",
                title="smoothed loss",
                scale=alt.Scale(zero=False, domain=[bottom, top], nice=False),
            ),
            tooltip=[alt.Tooltip("lr:Q", format=".2e"), alt.Tooltip("loss:Q", format=".4f")],
        )
    )
    rules = (
        alt.Chart(marks)
        .mark_rule(strokeWidth=2)
        .encode(
            x="lr:Q",
            color=alt.condition("datum.chosen", alt.value(LARGEST_GAP_COLOR), alt.value(GAP_COLOR)),
            tooltip=["method", alt.Tooltip("lr:Q", format=".2e")],
        )
    )
    labels = (
        alt.Chart(marks)
        .transform_calculate(offset=f"4 + {LABEL_LINE_PX} * datum.line")
        .mark_text(align="left", dx=4, baseline="top", fontSize=11, fontWeight="bold")
        .encode(
            x="lr:Q",
            y=alt.Y("offset:Q", scale=None),
            text="method",
            color=alt.condition("datum.chosen", alt.value(LARGEST_GAP_COLOR), alt.value("#b45309")),
        )
    )
    return _layer(shade, line, rules, labels).properties(
        width=560,
        height=260,
        autosize=FIT_WIDTH,
        title=alt.Title(
            title,
            subtitle=[
                "green band: rule of thumb (1/10 to 1/3 of the lowest-loss LR)",
                "red: the suggestion, orange: the other methods",
            ],
            anchor="start",
        ),
    )


LABEL_LINE_PX = 15


def _by_lr(item: tuple[str, float]) -> float:
    return item[1]


def training_curves_chart(
    history: Mapping[str, Any], *, title: str = "Training curves"
) -> alt.HConcatChart:
    """Train/dev loss and accuracy per epoch, with each mid-run change as a labelled rule.

    ``history`` is a panda run's history: ``epochs`` [{epoch, train_loss, dev_loss,
    train_accuracy, dev_accuracy}], ``changes`` [{epoch, changes: {name: [old, new]}}].
    """
    rows = [
        {"epoch": e["epoch"], "split": split, "metric": metric, "value": e[f"{split}_{metric}"]}
        for e in history.get("epochs", [])
        for split in ("train", "dev")
        for metric in ("loss", "accuracy")
    ]
    frame = pd.DataFrame(rows, columns=["epoch", "split", "metric", "value"])
    changes = pd.DataFrame(
        [
            {
                "epoch": c["epoch"] + 0.5,
                "text": ", ".join(
                    f"{k} {_short(v[0])}→{_short(v[1])}" for k, v in c["changes"].items()
                ),
            }
            for c in history.get("changes", [])
        ],
        columns=["epoch", "text"],
    ).astype({"epoch": float, "text": str})
    panels = []
    for metric, axis in (("loss", alt.Axis(title="loss")), ("accuracy", alt.Axis(format=".0%"))):
        lines = (
            alt.Chart(frame[frame["metric"] == metric])
            .mark_line(point=True)
            .encode(
                x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d")),
                y=alt.Y("value:Q", axis=axis, title=metric, scale=alt.Scale(zero=False)),
                color=alt.Color(
                    "split:N",
                    scale=alt.Scale(domain=["train", "dev"], range=[LEVEL_COLOR, GAP_COLOR]),
                    legend=alt.Legend(title=None, orient="top", direction="horizontal"),
                ),
                tooltip=["epoch", "split", alt.Tooltip("value:Q", format=".4f")],
            )
        )
        rules = alt.Chart(changes).mark_rule(color=LARGEST_GAP_COLOR, strokeDash=[4, 3])
        rules = rules.encode(x="epoch:Q", tooltip=["text"])
        texts = (
            alt.Chart(changes)
            .mark_text(align="left", dx=3, baseline="top", color=LARGEST_GAP_COLOR, fontSize=10)
            .encode(x="epoch:Q", y=alt.value(2), text="text")
        )
        panels.append(_layer(lines, rules, texts).properties(width=215, height=200))
    return alt.hconcat(*panels).properties(
        title=alt.Title(
            title, subtitle="red dashed lines: where you changed a setting", anchor="start"
        )
    )


def _band(bounds: Mapping[str, float]) -> tuple[float, float]:
    """A searched range's (low, high) as drawn."""
    return bounds["low"], bounds["high"]


def _complement_band(bounds: Mapping[str, float]) -> tuple[float, float]:
    """A ``log_complement`` range's band on its ``1 − value`` axis: (1 − high, 1 − low)."""
    return 1.0 - bounds["high"], 1.0 - bounds["low"]


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def search_params_chart(
    trials: Sequence[Mapping[str, Any]],
    spaces: Sequence[Mapping[str, Any]],
    *,
    columns: int = PARAM_COLUMNS,
) -> alt.ConcatChart:
    """Dev accuracy vs each parameter (log axis for log parameters), small charts in rows.

    ``trials`` rows carry ``round``, ``value`` and the parameter values; ``spaces`` is each
    round's space (``SearchSpace.to_dict()``). Rounds 2+ draw their narrowed range as a band
    over the trials, so coarse-to-fine is seen zooming in on the round-1 scatter. The charts wrap
    after ``columns``, so the whole stays under 560 px wide (the main column of a 1024 px page).
    """
    frame = pd.DataFrame([t for t in trials if t.get("value") is not None])
    first = spaces[0] if spaces else {}
    rounds = sorted({int(r) for r in frame["round"]}) if "round" in frame else [1]
    domain = [f"round {r}" for r in range(1, max([*rounds, len(spaces)]) + 1)]
    color = alt.Scale(domain=domain, range=ROUND_COLORS[: len(domain)])
    legend = alt.Legend(
        title="trials of",
        orient="top",
        direction="horizontal",
        symbolType="circle",
        symbolOpacity=1,
    )
    panels = []
    for name, spec in first.items():
        if frame.empty or name not in frame:
            continue
        is_log = spec["type"] in ("log_uniform", "log_complement") or spec.get("log", False)
        if spec["type"] == "log_complement":
            data = frame.assign(**{name: 1.0 - frame[name]})
            title, bands_of = f"1 − {name} (log)", _complement_band
        else:
            data, title, bands_of = frame, name, _band
        if spec["type"] == "choice":
            x = alt.X(f"{name}:N", title=name, axis=alt.Axis(labelAngle=0))
        else:
            integer = spec["type"] == "int"
            x = alt.X(
                f"{name}:Q",
                title=title,
                scale=alt.Scale(type="log" if is_log else "linear", zero=False, nice=not is_log),
                axis=alt.Axis(
                    tickCount=4,
                    format="d" if integer else "~g",
                    labelOverlap=True,
                    tickMinStep=1 if integer else alt.Undefined,
                ),
            )
        layers = []
        if spec["type"] != "choice":
            bands = pd.DataFrame(
                [
                    {
                        "round": f"round {r}",
                        "low": bands_of(s[name])[0],
                        "high": bands_of(s[name])[1],
                    }
                    for r, s in enumerate(spaces, start=1)
                    if r > 1 and name in s
                ],
                columns=["round", "low", "high"],
            ).astype({"round": str, "low": float, "high": float})
            layers.append(
                alt.Chart(bands)
                .mark_rect(opacity=0.12)
                .encode(
                    x=alt.X("low:Q", scale=alt.Scale(type="log" if is_log else "linear")),
                    x2="high:Q",
                    color=alt.Color("round:N", scale=color, legend=legend),
                )
            )
        layers.append(
            alt.Chart(data.assign(round_label="round " + data["round"].astype(str)))
            .mark_circle(size=40, opacity=0.8)
            .encode(
                x=x,
                y=alt.Y(
                    "value:Q",
                    title=None,
                    axis=alt.Axis(format=".0%", tickCount=5),
                    scale=alt.Scale(domain=[0, 1]),
                ),
                color=alt.Color("round_label:N", scale=color, legend=legend),
                tooltip=["round", "trial", alt.Tooltip("value:Q", format=".1%"), name],
            )
        )
        panels.append(_layer(*layers).properties(width=PARAM_PANEL_PX, height=130))
    return alt.concat(*panels, columns=columns, spacing=18).properties(
        title=alt.Title(
            "Dev error vs each parameter",
            subtitle="each point a trial (dev error, 0–100%); bands: the narrowed range "
            "a later round searched",
            anchor="start",
        )
    )


def importance_chart(importances: Mapping[str, float]) -> alt.LayerChart:
    """Parameter importances (Optuna's PED-ANOVA) as horizontal bars, largest first, labelled."""
    frame = pd.DataFrame(
        {"parameter": list(importances), "importance": list(importances.values())}
    ).sort_values("importance", ascending=False, kind="stable")
    frame["text"] = frame["importance"].map(lambda value: f"{value:.0%}")
    base = alt.Chart(frame).encode(
        y=alt.Y(
            "parameter:N",
            sort=frame["parameter"].tolist(),
            title=None,
            axis=alt.Axis(labelLimit=160, labelOverlap=False),
        )
    )
    bars = base.mark_bar(color=GAP_COLOR, cornerRadius=2).encode(
        x=alt.X(
            "importance:Q",
            title="share of the variation in dev error",
            axis=alt.Axis(format=".0%", tickCount=5),
            scale=alt.Scale(domain=[0, max(1e-9, float(frame["importance"].max())) * 1.15]),
        ),
        tooltip=["parameter", alt.Tooltip("importance:Q", format=".1%")],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11).encode(x="importance:Q", text="text")
    return _layer(bars, labels).properties(
        width=480,
        height=alt.Step(26),
        autosize=FIT_WIDTH,
        title=alt.Title(
            "Parameter importance", subtitle="PED-ANOVA over the last round", anchor="start"
        ),
    )


def _layer(*charts: alt.Chart) -> alt.LayerChart:
    """The charts drawn over each other: ``alt.layer`` without its facet hoisting (these layers
    carry no facet encodings), so always a LayerChart."""
    return alt.LayerChart(layer=charts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def grid_random_chart(comparison: Mapping[str, Any]) -> alt.LayerChart:
    """Grid vs random on the important axis: distinct values tried, and the chance of hitting a
    sweet spot of the given width (``BudgetComparison.to_dict()``)."""
    width = comparison["width"]
    frame = pd.DataFrame(
        [
            {
                "strategy": strategy,
                "values": comparison[f"{key}_values"],
                "hit": comparison[f"{key}_hit"],
                "text": f"{_count(comparison[f'{key}_values'], 'value')} · "
                f"{comparison[f'{key}_hit']:.0%} chance",
            }
            for strategy, key in (("grid", "grid"), ("random", "random"))
        ]
    )
    base = alt.Chart(frame).encode(
        x=alt.X(
            "hit:Q",
            title=f"chance to hit a sweet spot {width:.0%} wide",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format=".0%"),
        ),
        y=alt.Y("strategy:N", title=None, sort=["grid", "random"]),
    )
    bars = base.mark_bar(cornerRadius=2).encode(
        color=alt.Color(
            "strategy:N",
            legend=None,
            scale=alt.Scale(domain=["grid", "random"], range=[LEVEL_COLOR, NEGATIVE_GAP_COLOR]),
        ),
        tooltip=["strategy", "values", alt.Tooltip("hit:Q", format=".1%")],
    )
    # a long bar carries its label inside, a short one just after its end
    inside = (
        base.transform_filter("datum.hit >= 0.5")
        .mark_text(align="right", dx=-6, color="white", fontWeight="bold")
        .encode(text="text:N")
    )
    outside = (
        base.transform_filter("datum.hit < 0.5")
        .mark_text(align="left", dx=6, color="#0f172a")
        .encode(text="text:N")
    )
    return _layer(bars, inside, outside).properties(
        width=480,
        height=alt.Step(44),
        autosize=FIT_WIDTH,
        title=alt.Title(
            f"{comparison['trials']} trials over {comparison['axes']} parameters",
            subtitle="distinct values of the important parameter each strategy tries",
            anchor="start",
        ),
    )


MAP_SELECTION = "box"
MAP_POINT = "point"
MAP_COLOURS = {"error": "#dc2626", "right": "#94a3b8"}


def embedding_map_chart(points: pd.DataFrame, colour: str, *, title: str) -> alt.Chart:
    """The embedding map: one point per example drawn (columns x, y, id, split, the ``colour``
    column, and ``sampled``: True for the sample's examples, drawn as filled circles; train
    points fainter), with a box selection named :data:`MAP_SELECTION` on x and y and a click
    selection named :data:`MAP_POINT` on id and split. The width follows the container."""
    domain = MAP_COLOURS if colour == "outcome" else None
    colour_scale = (
        alt.Scale(domain=list(domain), range=list(domain.values())) if domain else alt.Scale()
    )
    box = alt.selection_interval(name=MAP_SELECTION, encodings=["x", "y"])
    click = alt.selection_point(name=MAP_POINT, fields=["id", "split"], on="click")
    chart: alt.Chart = (
        alt.Chart(points)
        .mark_point(size=28, filled=True)
        .encode(
            x=alt.X("x:Q", title="component 1", axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("y:Q", title="component 2", axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color(f"{colour}:N", scale=colour_scale, title=colour),
            shape=alt.Shape(
                "sampled:N",
                title="in the sample",
                scale=alt.Scale(domain=[True, False], range=["circle", "cross"]),
            ),
            opacity=alt.Opacity(
                "split:N", scale=alt.Scale(domain=["dev", "train"], range=[0.8, 0.3]), legend=None
            ),
            tooltip=[alt.Tooltip("id:N"), alt.Tooltip("split:N"), alt.Tooltip(f"{colour}:N")],
        )
        .add_params(box, click)
        .properties(height=320, autosize=FIT_WIDTH, title=title)
    )
    return chart


TARGET_LABELS = {"dev_error": "dev error", "time": "training time (s)", **GAP_LABELS}


def pareto_chart(
    trials: Sequence[Mapping[str, Any]], targets: Sequence[str], front: Sequence[int]
) -> alt.LayerChart:
    """A two-objective search: each completed trial at (first target, second target), lower is
    better on both; the Pareto front's trials in red, joined by a step line (no trial lies below
    and left of it). Fits the width of its column."""
    rows = [
        {
            "trial": t["number"],
            "x": t["values"][0],
            "y": t["values"][1],
            "front": t["number"] in front,
        }
        for t in trials
        if t["state"] == "complete" and t.get("values") and None not in t["values"][:2]
    ]
    frame = pd.DataFrame(rows, columns=["trial", "x", "y", "front"])
    on_front = frame[frame["front"]].sort_values("x")

    def axis(target: str) -> alt.Axis:
        label = TARGET_LABELS.get(target, target) + " (lower is better)"
        return alt.Axis(title=label, format=".2f" if target == "time" else ".1%")

    x = alt.X("x:Q", axis=axis(targets[0]), scale=alt.Scale(zero=False, padding=12))
    y = alt.Y("y:Q", axis=axis(targets[1]), scale=alt.Scale(zero=False, padding=12))
    tooltip = ["trial", alt.Tooltip("x:Q", title=targets[0]), alt.Tooltip("y:Q", title=targets[1])]
    line = (
        alt.Chart(on_front)
        .mark_line(interpolate="step-after", color=LARGEST_GAP_COLOR, strokeWidth=2)
        .encode(x=x, y=y)
    )
    points = (
        alt.Chart(frame)
        .mark_circle(size=70, opacity=0.9)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "front:N",
                scale=alt.Scale(domain=[True, False], range=[LARGEST_GAP_COLOR, LEVEL_COLOR]),
                legend=alt.Legend(title="on the Pareto front", orient="top"),
            ),
            tooltip=tooltip,
        )
    )
    chart: alt.LayerChart = (
        _layer(line, points)
        .properties(
            width="container",
            height=300,
            title=alt.Title(
                "Pareto front",
                subtitle=f"{len(on_front)} of {len(frame)} completed trials: none does better "
                "on both",
                anchor="start",
            ),
        )
        .configure_view(stroke=None)
    )
    return chart


def learning_curve_rows(curve: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(measured points: n, error, kind; the fitted dev curve and the forecasts: n, error,
    low, high, kind) of a ``learning-curve --json`` result."""
    measured = [
        {"n": p["n"], "error": p[f"{kind}_error"], "kind": kind}
        for p in curve.get("runs", [])
        for kind in ("dev", "train")
        if p.get(f"{kind}_error") is not None
    ]
    fit, forecasts = curve.get("fit"), curve.get("forecasts") or []
    line: list[dict[str, Any]] = []
    if fit and measured:
        low = min(p["n"] for p in measured)
        high = max([p["n"] for p in measured] + [f["n"] for f in forecasts])
        for n in np.geomspace(low, high, 60):
            error = fit["a"] + fit["b"] * n ** (-fit["c"])
            line.append({"n": float(n), "error": error, "low": None, "high": None, "kind": "fit"})
    line += [
        {"n": f["n"], "error": f["dev_error"], "low": f["interval"][0], "high": f["interval"][1],
         "kind": "forecast"}
        for f in forecasts
    ]  # fmt: skip
    columns = ["n", "error", "low", "high", "kind"]
    return pd.DataFrame(measured, columns=["n", "error", "kind"]), pd.DataFrame(
        line, columns=columns
    )


def learning_curve_chart(
    curve: Mapping[str, Any], *, title: str = "Learning curve"
) -> alt.LayerChart:
    """Dev and train error of every run against training rows (log scale), the fitted dev
    curve, and the forecasts at 2×, 4×, 10× with their 95% intervals."""
    measured, fitted = learning_curve_rows(curve)
    x = alt.X(
        "n:Q",
        title="train rows (log)",
        scale=alt.Scale(type="log", nice=False, padding=10),
        axis=alt.Axis(format="~s", labelOverlap="greedy"),
    )
    return _fitted_curve_chart(measured, fitted, x, "n", ["dev", "train"], title)


def _fitted_curve_chart(
    measured: pd.DataFrame,
    fitted: pd.DataFrame,
    x: alt.X,
    field: str,
    kinds: list[str],
    title: str,
) -> alt.LayerChart:
    """Measured runs (two ``kinds`` of error) as dots, the fitted curve as a red line, the
    forecasts as red diamonds with their intervals, against ``x`` (the column ``field``), on
    the column's width."""
    y = alt.Y("error:Q", title="error", axis=alt.Axis(format=".0%"), scale=alt.Scale(zero=True))
    colors = alt.Scale(domain=kinds, range=[LEVEL_COLOR, NOISE_BAND_COLOR])
    points = (
        alt.Chart(measured)
        .mark_circle(size=50, opacity=0.85)
        .encode(
            x=x,
            y=y,
            color=alt.Color("kind:N", scale=colors, title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[field, "error", "kind"],
        )
    )
    line = (
        alt.Chart(fitted)
        .transform_filter(alt.datum.kind == "fit")
        .mark_line(color=LARGEST_GAP_COLOR, strokeWidth=2)
        .encode(x=x, y=y)
    )
    ahead = alt.Chart(fitted).transform_filter(alt.datum.kind == "forecast")
    bars = ahead.mark_rule(color=LARGEST_GAP_COLOR).encode(x=x, y="low:Q", y2="high:Q")
    marks = ahead.mark_point(shape="diamond", size=80, filled=True, color=LARGEST_GAP_COLOR).encode(
        x=x, y=y, tooltip=[field, "error", "low", "high"]
    )
    chart: alt.LayerChart = (
        _layer(points, line, bars, marks)
        .properties(
            width=560,
            height=260,
            autosize=FIT_WIDTH,
            title=alt.Title(
                title,
                subtitle="red: fit · diamonds: forecasts",
                anchor="start",
            ),
        )
        .configure_view(stroke=None)
    )
    return chart


def target_curve_rows(curve: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(measured runs: k, error, kind — dev and train-dev; the fitted dev curve and the
    forecasts: k, error, low, high, kind) of a ``learning-curve --target-pool --json`` result."""
    measured = [
        {"k": p["k"], "error": p[f"{kind}_error"], "kind": kind.replace("_", "-")}
        for p in curve.get("runs", [])
        for kind in ("dev", "train_dev")
        if p.get(f"{kind}_error") is not None
    ]
    fit, forecasts = curve.get("fit"), curve.get("forecasts") or []
    line: list[dict[str, Any]] = []
    if fit and measured:
        high = max([p["k"] for p in measured] + [f["k"] for f in forecasts])
        for k in np.linspace(0, high, 80):
            error = fit["a"] + fit["b"] * (k + fit["m"]) ** (-fit["c"])
            line.append({"k": float(k), "error": error, "low": None, "high": None, "kind": "fit"})
    line += [
        {"k": f["k"], "error": f["dev_error"], "low": f["interval"][0], "high": f["interval"][1],
         "kind": "forecast"}
        for f in forecasts[1:]  # the first is the whole pool, measured
    ]  # fmt: skip
    columns = ["k", "error", "low", "high", "kind"]
    return pd.DataFrame(measured, columns=["k", "error", "kind"]), pd.DataFrame(
        line, columns=columns
    )


def target_curve_chart(
    curve: Mapping[str, Any], *, title: str = "Target data: what it is worth"
) -> alt.LayerChart:
    """Dev and train-dev error of every run against the target examples moved into training
    (the gap between them is the data mismatch), the fitted dev curve, and the forecasts at 2×,
    4×, 10× the pool with their 95% intervals."""
    measured, fitted = target_curve_rows(curve)
    largest = max([*measured["k"], *fitted["k"], 1])
    ticks = [0] + [10**p for p in range(1, int(np.log10(largest)) + 1)]
    x = alt.X(
        "k:Q",
        title="target rows added",
        scale=alt.Scale(type="symlog", nice=False, padding=16),
        axis=alt.Axis(format="d", values=ticks, labelOverlap="greedy"),
    )
    return _fitted_curve_chart(measured, fitted, x, "k", ["dev", "train-dev"], title)

"""``diagnose``: the error waterfall from a predictions file or typed split levels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnostics.splitnames import LEVEL_LABELS
from strategy_app.diagnose.flags import add_level_arguments, diagnosis_from_args
from strategy_app.shell.flags import add_json_flag

if TYPE_CHECKING:
    from diagnostics.waterfall import Diagnosis
    from strategy_app.diagnose.service import FloorReport


def register(subparsers) -> None:
    """Add the ``diagnose`` command."""
    parser = subparsers.add_parser(
        "diagnose",
        help="the error waterfall and what to fix next",
        description="Compute the waterfall human → train → train-dev → dev → test from a "
        "predictions file (CSV/Parquet) or typed levels, and the ordered action plan.",
    )
    add_level_arguments(parser)
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Diagnose from the file or the typed levels; returns (JSON data, text)."""
    from diagnostics.waterfall import slices_to_dict  # loaded when run, not when registered

    diagnosis, slices, _, floor = diagnosis_from_args(args)
    data = diagnosis.to_dict()
    if args.slice:
        data["slices"] = slices_to_dict(args.slice, slices)
    text = render_text(diagnosis, slices, args.slice)
    if floor is not None:
        data.update(floor.to_dict())
        text += "\n\n" + render_floor(floor, diagnosis)
    return data, text


def render_text(diagnosis: Diagnosis, slices=(), slice_column: str | None = None) -> str:
    """The readable table, action plan and warnings printed without ``--json``."""
    from diagnostics.waterfall import GAP_LABELS, gap_rows

    fmt = diagnosis.fmt
    lines = [f"Waterfall ({diagnosis.metric}{', ' + diagnosis.unit if diagnosis.unit else ''})"]
    lines.append(f"  {'level':<10}{'value':>10}   {'95% interval':<26}{'n':>10}")
    for level, value in diagnosis.levels.items():
        if value is None:
            continue
        est = diagnosis.intervals.get(level)
        interval = diagnosis.level_interval_text(level)
        count = f"{est.n:,}" if est else ""
        lines.append(f"  {LEVEL_LABELS[level]:<10}{fmt(value):>10}   {interval:<26}{count:>10}")
    lines.append("")
    lines.append(f"  {'gap':<18}{'size':>10}   {'95% interval':<26}status")
    for row in gap_rows(diagnosis):
        lines.append(f"  {row['gap']:<18}{row['size']:>10}   {row['interval']:<26}{row['status']}")
    lines.append("")
    if diagnosis.recommendations:
        lines.append("Action plan")
        for i, rec in enumerate(diagnosis.recommendations, start=1):
            lines.append(f"  {i}. {GAP_LABELS[rec['gap']]} ({fmt(rec['size'])}): {rec['reason']}")
            lines.extend(f"     - {action}" for action in rec["actions"])
    else:
        lines.append("Action plan: no gap stands out above the noise.")
    if diagnosis.warnings:
        lines.append("")
        lines.append("Warnings")
        lines.extend(f"  ! {warning}" for warning in diagnosis.warnings)
    if slices:
        lines.append("")
        lines.append(f"Slices by {slice_column} (largest gap first)")
        for value, d in slices:
            gap = d.largest_gap()
            top = f"{GAP_LABELS[gap.name]} {d.fmt(gap.value)}" if gap else "no gap above noise"
            shown = ", ".join(
                f"{LEVEL_LABELS[k]} {d.fmt(v)}" for k, v in d.levels.items() if v is not None
            )
            lines.append(f"  {value}: {top}  ({shown})")
    return "\n".join(lines)


def render_floor(floor: FloorReport, diagnosis: Diagnosis) -> str:
    """The annotators' levels, the team's and the floor, printed without ``--json``."""
    from diagnostics.annotators import FLOOR_NOT_CREDIBLE

    panel, fmt = floor.panel, diagnosis.fmt
    lines = [f"Human levels measured from {panel.source} (reference: {panel.reference})"]
    lines.append(f"  {'who':<28}{'error':>8}   {'95% interval':<18}{'n':>7}{'kappa':>8}")
    rows = [*panel.annotators, panel.team]
    for level in rows:
        low, high = level.interval
        kappa = "" if level.kappa is None else f"{level.kappa:.2f}"
        lines.append(
            f"  {level.name:<28}{fmt(level.error):>8}   {fmt(low) + ' – ' + fmt(high):<18}"
            f"{level.n:>7,}{kappa:>8}"
        )
    lines.append(f"  typical annotator: {panel.typical.name}; best: {panel.best.name}")
    if panel.floor is not None:
        f = panel.floor
        lines.append(
            f"  measured floor {fmt(f.estimate)} ({fmt(f.low)} – {fmt(f.high)}, n {f.n:,}): "
            f"{f.method}"
        )
        if f.bias:
            lines.append(f"  ! {f.bias}")
        if not panel.floor_credible:
            lines.append(f"  ! {FLOOR_NOT_CREDIBLE}")
    for split, (noise, _) in floor.noise.items():
        lines.append(
            f"  label noise in {split}: {fmt(noise.share)} ({fmt(noise.low)} – {fmt(noise.high)}"
            f", {noise.probabilities})"
            + ("" if noise.reliable else " — unreliable")
            + (f"; {noise.note}" if noise.note else "")
        )
        if noise.offered:
            lines.append(f"    {len(noise.flagged):,} offered as likely mislabeled")
    return "\n".join(lines)

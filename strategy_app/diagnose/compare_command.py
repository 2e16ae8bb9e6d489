"""``compare``: two versions of a model side by side, paired on the example ids they share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnostics.splitnames import LEVEL_LABELS
from strategy_app.diagnose.flags import add_human_arguments
from strategy_app.shell.flags import add_json_flag

if TYPE_CHECKING:
    from diagnostics.compare import Comparison


def register(subparsers) -> None:
    """Add the ``compare`` command."""
    parser = subparsers.add_parser(
        "compare",
        help="compare two versions: paired tests per level, gaps before/after, what was fixed",
        description="Compare the predictions of two versions of a model (BEFORE, AFTER): each "
        "level with its change and a paired test on the example ids both share (exact "
        "McNemar; a paired t test for MAE/RMSE; unpaired without shared ids), the gaps of "
        "both waterfalls, and with --labels how many of BEFORE's tagged dev errors AFTER fixed.",
    )
    parser.add_argument("before", metavar="BEFORE", help="earlier version's predictions")
    parser.add_argument("after", metavar="AFTER", help="new version's predictions")
    add_human_arguments(parser)
    parser.add_argument(
        "--labels", metavar="TAGS.csv", help="tags CSV of BEFORE's dev errors (id, 0/1 columns)"
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Compare the two files; returns (JSON data, text)."""
    from diagnostics.compare import examined_ids  # loaded when run
    from diagnostics.fastcompare import compare_files, scan_both
    from diagnostics.formats import file_label
    from diagnostics.tags import read_tags_csv
    from diagnostics.waterfall import parse_human_levels

    tags = read_tags_csv(args.labels) if args.labels else None
    # as typed (two files are often both predictions.csv); a location without its query string
    names = (file_label(args.before), file_label(args.after))
    scans = scan_both(args.before, args.after, metric=args.metric, display_names=names)
    metric = scans[0].metric
    humans = parse_human_levels(args.human, metric)
    comparison = compare_files(
        args.before,
        args.after,
        humans,
        metric=args.metric,
        unit=args.unit,
        tags=tags,
        display_names=names,
        scans=scans,
        examined=None if tags is None else examined_ids(tags),
    )
    return comparison.to_dict(), render_text(comparison)


def render_text(comparison: Comparison) -> str:
    """The readable comparison printed without ``--json``."""
    from diagnostics.compare import DECISION_RULE
    from diagnostics.waterfall import GAP_LABELS

    fmt = comparison.fmt
    before, after = comparison.sources
    lines = [f"Compare {before} → {after} ({comparison.metric})", ""]
    lines.append(
        f"  {'level':<10}{'before':>10}{'after':>10}{'change':>10}   {'95% interval':<22}"
        f"{'p':>9}   test"
    )
    for split, level in comparison.levels.items():
        test = level.test
        interval = f"{fmt(test.low, signed=True)} – {fmt(test.high, signed=True)}" if test else ""
        p = f"{test.p_value:.2g}" if test else ""
        kind = "not tested (see the notes)" if level.before and level.after else ""
        if test is not None:
            kind = (
                f"paired on {level.n_shared:,} ({level.improved:,} fixed, "
                f"{level.worsened:,} broken)"
                if level.paired
                else "unpaired"
            ) + (
                "; borderline: the test and the interval disagree, so within noise"
                * level.borderline
            )
        lines.append(
            f"  {LEVEL_LABELS[split]:<10}"
            f"{fmt(level.before.value if level.before else None):>10}"
            f"{fmt(level.after.value if level.after else None):>10}"
            f"{fmt(level.change, signed=True):>10}   {interval:<22}{p:>9}   {kind}"
        )
    lines += ["", f"  {'gap':<18}{'before':>10}{'after':>10}{'change':>10}   note"]
    for name, gap in comparison.gaps.items():
        if gap.before is None and gap.after is None:
            continue
        note = {True: "real", False: "within noise", None: ""}[gap.real]
        lines.append(
            f"  {GAP_LABELS[name]:<18}{fmt(gap.before):>10}{fmt(gap.after):>10}"
            f"{fmt(gap.change, signed=True):>10}   {note}"
        )
    lines += ["", f"Verdict: {comparison.verdict}"]
    if comparison.categories is not None:
        lines += ["", "What the fix fixed (BEFORE's tagged dev errors that AFTER gets right)"]
        for c in comparison.categories:
            share, bounds = c.fixed_share, c.interval
            if share is None or bounds is None:
                lines.append(f"  {c.name}: {c.tagged} tagged, none left to check")
                continue
            low, high = bounds
            missing = f", {c.missing} not in AFTER's dev" if c.missing else ""
            lines.append(
                f"  {c.name}: {c.fixed} of {c.tagged - c.missing} fixed, {share:.0%} "
                f"({low:.0%} – {high:.0%}){missing}; the ceiling promised up to "
                f"{c.ceiling_share:.0%} of errors"
            )
    eyeball = comparison.eyeball
    if eyeball is not None:
        low, high = eyeball.interval
        lines += [
            "",
            "Eyeball vs blackbox (BEFORE's dev errors: examined vs the rest, share AFTER fixed)",
            f"  examined: {eyeball.examined_fixed} of {eyeball.examined} fixed; rest: "
            f"{eyeball.rest_fixed} of {eyeball.rest}; difference in error change "
            f"{fmt(eyeball.difference, signed=True)} ({fmt(low, signed=True)} to "
            f"{fmt(high, signed=True)})",
        ]
        if eyeball.warning:
            lines.append(f"  ! {eyeball.warning}")
    if comparison.notes:
        lines += ["", "Notes"]
        lines.extend(f"  - {note}" for note in comparison.notes)
    lines += [
        "",
        "Changes are after − before (negative is better); paired: exact McNemar with "
        "Newcombe's paired interval (t test for MAE/RMSE); unpaired: Newcombe's interval.",
        f"Decision rule: {DECISION_RULE}.",
    ]
    return "\n".join(lines)

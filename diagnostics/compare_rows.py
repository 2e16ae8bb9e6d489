"""A comparison of two versions as table rows and sentences, worded once for the Diagnose page
and the report's "What changed" section.

Every function takes the JSON form of a :class:`~diagnostics.compare.Comparison`
(``Comparison.to_dict()``, the ``compare --json`` contract), so a report built from saved data
words it the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from diagnostics.rates import format_value
from diagnostics.splitnames import LEVEL_LABELS
from diagnostics.waterfall import GAP_LABELS

REAL_WORDS = {True: "real", False: "within noise", None: "not tested"}


def level_rows(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per level: before, after, change, its 95% interval, p and how it was tested."""
    fmt = _formatter(data)
    rows = []
    for split, level in data["levels"].items():
        interval = level.get("interval")
        if level.get("p_value") is None:
            one_side = level["before"] is None or level["after"] is None
            test = "one side has no such split" if one_side else "not tested: one example"
        elif level["paired"]:
            test = (
                f"paired on {level['n_shared']:,} examples ({level['improved']:,} fixed, "
                f"{level['worsened']:,} broken)"
            )
        else:
            test = "unpaired"
        rows.append(
            {
                "level": LEVEL_LABELS[split],
                "before": fmt(level["before"]),
                "after": fmt(level["after"]),
                "change": fmt(level["change"], signed=True),
                "95% interval": ""
                if not interval
                else f"{fmt(interval[0], signed=True)} – {fmt(interval[1], signed=True)}",
                "p": "" if level.get("p_value") is None else f"{level['p_value']:.2g}",
                "real?": _real_word(level),
                "test": test,
            }
        )
    return rows


def _real_word(level: Mapping[str, Any]) -> str:
    """ "real", "within noise", "within noise (borderline)" or "" for an untested level."""
    if level.get("p_value") is None:
        return ""
    if level.get("borderline"):
        return "within noise (borderline: the test and the interval disagree)"
    return REAL_WORDS[level["real"]]


def gap_change_rows(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per gap measured on either side: before, after, change and whether it is real."""
    fmt = _formatter(data)
    return [
        {
            "gap": GAP_LABELS[name],
            "before": fmt(gap["before"]),
            "after": fmt(gap["after"]),
            "change": fmt(gap["change"], signed=True),
            "real?": REAL_WORDS[gap.get("real")],
        }
        for name, gap in data["gaps"].items()
        if gap["before"] is not None or gap["after"] is not None
    ]


def category_lines(data: Mapping[str, Any]) -> list[str]:
    """Per tagged category: 'blurry: 19 of 38 fixed, 50% (35% – 65%); the ceiling promised
    up to 38% of errors' (categories nobody used are left out; empty without categories)."""
    lines = []
    for c in data.get("categories") or []:
        if not c["tagged"]:
            continue
        if c["fixed_share"] is None:
            lines.append(f"{c['name']}: {c['tagged']} tagged, none left to check")
            continue
        low, high = c["interval"]
        missing = f", {c['missing']} not in the new dev set" if c["missing"] else ""
        lines.append(
            f"{c['name']}: {c['fixed']} of {c['tagged'] - c['missing']} fixed, "
            f"{c['fixed_share']:.0%} ({low:.0%} – {high:.0%}){missing}; the ceiling promised "
            f"up to {c['ceiling_share']:.0%} of errors"
        )
    return lines


def pairing_line(data: Mapping[str, Any]) -> str:
    """How the dev levels were compared, for beside the verdict: 'paired on 800 shared dev
    examples (70 fixed, 20 broken)' or 'unpaired'."""
    dev = data["levels"].get("dev")
    if dev is None or dev.get("p_value") is None:
        return "no dev level on both sides"
    if not dev["paired"]:
        return "dev compared unpaired (no shared ids)"
    return (
        f"dev paired on {dev['n_shared']:,} shared examples ({dev['improved']:,} fixed, "
        f"{dev['worsened']:,} broken)"
    )


def method_note() -> str:
    """How the changes were tested, for beside the tables."""
    return (
        "Changes are after − before (negative is better). Paired on shared example ids: exact "
        "McNemar with Newcombe's paired interval (a paired t interval for MAE/RMSE); without "
        "shared ids: Newcombe's unpaired interval. Real: the test's p < 0.05 and the interval "
        "excludes 0 (where they disagree: within noise, borderline). Fixed shares carry 95% "
        "Wilson intervals."
    )


class _Format(Protocol):
    def __call__(self, value: float | None, *, signed: bool = False) -> str: ...


def _formatter(data: Mapping[str, Any]) -> _Format:
    def fmt(value: float | None, *, signed: bool = False) -> str:
        return format_value(value, data["metric"], data.get("unit") or "", signed=signed)

    return fmt


def eyeball_line(data: Mapping[str, Any]) -> str | None:
    """The eyeball check in one sentence (None when the comparison has none)."""
    eyeball = data.get("eyeball")
    if not eyeball:
        return None
    examined, rest = eyeball["examined"], eyeball["rest"]
    low, high = eyeball["interval"]
    return (
        f"Of the earlier version's dev errors, {examined['fixed']:,} of the {examined['n']:,} "
        f"people examined are fixed ({examined['fixed'] / examined['n']:.0%}) and "
        f"{rest['fixed']:,} of the {rest['n']:,} others ({rest['fixed'] / rest['n']:.0%}): "
        f"the examined ones' error changed by {eyeball['difference'] * 100:+.1f} points more "
        f"(95% interval {low * 100:+.1f} to {high * 100:+.1f})"
    )

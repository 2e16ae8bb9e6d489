"""``report``: one self-contained HTML file (or its content as JSON, or its tables as CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from diagnostics.rates import parse_rate
from diagnostics.reportnames import DEFAULT_TITLE, FORMATS, SECTIONS
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError
from strategy_app.diagnose.flags import add_level_arguments, diagnosis_from_args
from strategy_app.shell.flags import add_json_flag, project_named

if TYPE_CHECKING:
    from diagnostics.report import ReportInputs


def register(subparsers) -> None:
    """Add the ``report`` command."""
    parser = subparsers.add_parser(
        "report",
        help="a self-contained HTML report for stakeholders (or JSON / CSV tables)",
        description="Render the waterfall, action plan, slices, split plan, ceiling table and "
        "search summary into one HTML file that works offline and prints to PDF. "
        "--format json writes the same content as data; --format csv writes a zip archive "
        "with one CSV per table.",
    )
    add_level_arguments(parser)
    parser.add_argument("--project", metavar="NAME", help="build from a saved project")
    parser.add_argument("--labels", metavar="LABELS.csv", help="tags CSV for the ceiling table")
    parser.add_argument(
        "--dev-error",
        metavar="R",
        help="dev error for the ceiling table (only without predictions, which give it)",
    )
    parser.add_argument(
        "--spread",
        action="store_true",
        help="with --labels and predictions: add the spread estimate to the ceiling table",
    )
    parser.add_argument("--split-size", type=int, metavar="N", help="split plan for N examples")
    parser.add_argument("--source", type=int, metavar="N", help="source examples (split plan)")
    parser.add_argument("--target", type=int, metavar="M", help="target examples (split plan)")
    parser.add_argument("--study", metavar="NAME", help="search study to summarize")
    parser.add_argument("--storage", metavar="URL", help="the study's storage (URL or journal)")
    parser.add_argument(
        "--learning-curve",
        metavar="CURVE.json",
        help="a learning-curve --json result: its section, and the forecast on the plan's "
        "more-data line",
    )
    parser.add_argument(
        "--target-curve",
        metavar="TARGET.json",
        help="a learning-curve --target-pool --json result: its section, and the forecast on the "
        "plan's target-data line",
    )
    parser.add_argument("--title", default=DEFAULT_TITLE, help="the report's title")
    parser.add_argument("--format", choices=FORMATS, default="html", help="html (default)")
    parser.add_argument(
        "--section",
        action="append",
        choices=SECTIONS,
        metavar="NAME",
        help=f"include only these sections (repeat); default all: {', '.join(SECTIONS)}",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="where to write the report")
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Build the report inputs from the flags, write the file; returns (JSON data, text)."""
    from diagnostics.output_files import check_output, write_output
    from diagnostics.report import export  # the report's charts load when run

    check_output(args.out, _input_files(args))
    inputs = build_inputs(args)
    sections = [s for s in (args.section or SECTIONS) if s in inputs.available_sections()]
    if not sections:
        raise InputError(
            "nothing to report: give predictions, typed levels, --project, --labels, "
            "--split-size/--source/--target or --study"
        )
    content = export(inputs, args.format, sections)
    out = write_output(args.out, content, inputs=_input_files(args))
    data = {"out": str(out), "format": args.format, "sections": sections, "bytes": len(content)}
    return data, f"Wrote {out} ({args.format}, {len(content):,} bytes): {', '.join(sections)}"


def _input_files(args) -> list[str | None]:
    """The files the report reads, none of which ``--out`` may name."""
    files = [args.predictions, args.labels, args.storage, args.learning_curve, args.target_curve]
    if args.project:
        from strategy_app.store import database_url
        from strategy_app.store.engine import sqlite_path

        files.append(sqlite_path(database_url()))
    return files


def build_inputs(args) -> ReportInputs:
    """The report inputs the flags describe (a project, files, a split plan, a study)."""
    from diagnostics.report import ReportInputs
    from strategy_app.report.service import ceiling_from_labels
    from strategy_app.splits.service import REPORT_FIELDS, plan_from_sizes

    has_levels = args.predictions or any(getattr(args, s) is not None for s in SPLITS)
    if args.project:
        if has_levels:
            raise InputError("give either --project or predictions/typed levels, not both")
        inputs = _project(args.project, args.title)
    elif has_levels:
        diagnosis, slices, predictions, floor = diagnosis_from_args(args)
        inputs = ReportInputs(
            title=args.title,
            source=Path(args.predictions).name if predictions else "typed levels",
            diagnosis=diagnosis,
            slice_column=args.slice,
            slices=slices,
            floor=floor,
        )
    else:
        inputs = ReportInputs(title=args.title)
    if args.labels:
        if args.spread and not args.predictions:
            raise InputError("--spread needs the predictions file the tags belong to")
        inputs.ceiling = ceiling_from_labels(
            args.labels, _dev_error(args, inputs), spread=args.predictions if args.spread else None
        )
    elif args.spread:
        raise InputError("--spread is for the ceiling table: give --labels LABELS.csv too")
    elif args.dev_error:
        raise InputError("--dev-error is for the ceiling table: give --labels LABELS.csv too")
    plan = plan_from_sizes(
        size=args.split_size, source=args.source, target=args.target, fields=REPORT_FIELDS
    )
    if plan is not None:
        inputs.split_plan = plan
    if args.study or args.storage:
        if not (args.study and args.storage):
            raise InputError("--study and --storage go together: name the study and its storage")
        inputs.search = _search_summary(args.study, args.storage)
    if args.learning_curve or args.target_curve:
        from strategy_app.curve.service import TARGET, read_curve

        if args.learning_curve:
            inputs.learning_curve = read_curve(args.learning_curve)
        if args.target_curve:
            inputs.target_curve = read_curve(args.target_curve, TARGET)
    return inputs


def _project(name: str, title: str) -> ReportInputs:
    from strategy_app.report.service import project_inputs
    from strategy_app.store import open_store

    store = open_store()
    try:
        return project_inputs(store, project_named(store, name), title=title)
    finally:
        store.close()


def _dev_error(args, inputs: ReportInputs) -> float:
    from strategy_app.report.service import dev_error_of

    from_predictions = args.predictions or args.project
    if args.dev_error:
        if from_predictions:
            raise InputError(
                "--dev-error is only for reports without predictions: the dev error comes "
                "from the predictions"
            )
        return parse_rate(args.dev_error, what="--dev-error")
    dev_error = dev_error_of(inputs.diagnosis)
    if dev_error is None:
        raise InputError("--labels needs the dev error: give predictions, --dev or --dev-error R")
    return dev_error


def _search_summary(study: str, storage: str) -> dict:
    from diagnostics.search.study import summary  # imports torch: only when a study is asked

    if "://" not in storage and not Path(storage).is_file():
        raise InputError(f"--storage: search storage not found: {storage}")
    return summary(storage, study)

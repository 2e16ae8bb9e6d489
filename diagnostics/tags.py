"""The tags CSV: import and export of hand-tagged errors, keyed by example id.

Format (the one export writes and import reads): a required ``id`` column; optional ``notes``,
``reviewed`` and ``annotator`` columns; context columns ``y_true``, ``y_pred``, ``score`` and
``input`` (written with a fresh sample, ignored on import); every other column is a category
holding 0/1, true/false or yes/no (an empty cell is 0). Without a ``reviewed`` column every row
counts as reviewed; with one, a row counts when it is marked or carries a tag (tagging is
reviewing). Several annotators may tag the same example on separate rows.

Export neutralizes spreadsheet formulas: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return gets a leading ``'``, and so does a cell starting with ``'`` itself; import removes
exactly that one prefix again and strips spaces only inside 0/1 cells (never in ids, notes or
annotator names), so export → import gives back exactly what was exported. Rows end in CRLF, so a
line break or a lone carriage return inside a note is quoted. Import is all-or-nothing: it checks
every row and either returns the whole table or raises one :class:`InputError` listing the
problems.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from diagnostics.ceiling import (
    Agreement,
    Ceiling,
    category_agreement,
    ceiling_from_tags,
    consensus,
)
from diagnostics.validation import (
    InputError,
    refuse_cr_only_lines,
    refuse_non_csv_text,
    refuse_not_a_file,
)

PRESET_CATEGORIES = (
    "blurry/low quality",
    "multiple objects",
    "unusual angle",
    "mislabeled",
    "rare class",
)
ID, NOTES, REVIEWED, ANNOTATOR = "id", "notes", "reviewed", "annotator"
CONTEXT_COLUMNS = ("y_true", "y_pred", "score", "input")
RESERVED_COLUMNS = (ID, NOTES, REVIEWED, ANNOTATOR, *CONTEXT_COLUMNS)
TRUE_WORDS = frozenset({"1", "1.0", "true", "yes", "y", "x"})
FALSE_WORDS = frozenset({"", "0", "0.0", "false", "no", "n"})
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPED_STARTS = (*FORMULA_STARTS, "'")  # after the prefix ' that export adds
MAX_CATEGORY_NAME = 60
MAX_PROBLEMS_SHOWN = 8


@dataclass(frozen=True)
class TagRow:
    """One annotator's tags on one example."""

    id: str
    tags: frozenset[str] = frozenset()
    reviewed: bool = False
    notes: str = ""
    annotator: str = ""

    @property
    def counts(self) -> bool:
        """True when the row enters the ceiling: marked reviewed or carrying a tag."""
        return self.reviewed or bool(self.tags)


@dataclass(frozen=True)
class TagTable:
    """The categories in display order and one row per (example id, annotator)."""

    categories: tuple[str, ...]
    rows: tuple[TagRow, ...]

    @classmethod
    def blank(cls, ids: Iterable[str], categories: Iterable[str] = PRESET_CATEGORIES) -> TagTable:
        """A table of untouched rows for a fresh sample."""
        return cls(tuple(categories), tuple(TagRow(str(i)) for i in ids))

    @property
    def annotators(self) -> list[str]:
        """The annotators' names in order of first appearance ('' for an unnamed one)."""
        return list(dict.fromkeys(row.annotator for row in self.rows))

    def annotations(self) -> dict[str, dict[str, frozenset[str]]]:
        """Annotator → (example id → tags) over the rows that count as reviewed."""
        result: dict[str, dict[str, frozenset[str]]] = {a: {} for a in self.annotators}
        for row in self.rows:
            if row.counts:
                result[row.annotator][row.id] = row.tags
        return result

    def consensus_tags(self) -> dict[str, set[str]]:
        """Example id → tags over reviewed examples; with several annotators, the consensus."""
        return consensus(self.annotations())


def table_ceiling(
    table: TagTable,
    dev_error: float,
    *,
    annotator: str | None = None,
    reviewed: int | None = None,
    dev_errors: int | None = None,
    source: str = "the tags",
    carried: Collection[str] = (),
) -> tuple[Ceiling, list[Agreement]]:
    """The ceiling table of a tags table, and the annotators' agreement per category.

    With ``annotator`` only that annotator's tags count (no agreement); otherwise the consensus
    of all annotators, with Cohen's or Fleiss' kappa when two or more reviewed. ``source`` names
    the tags in messages (a file name). ``carried`` ids (tags carried over from an earlier
    version) are not random draws: see :func:`~diagnostics.ceiling.ceiling_from_tags`. Raises
    InputError before any example was reviewed.
    """
    annotations = table.annotations()
    agreement: list[Agreement] = []
    if annotator is not None:
        if annotator not in annotations:
            found = ", ".join(repr(a) for a in annotations) or "none"
            raise InputError(f"no annotator '{annotator}' in {source}; found: {found}")
        tags: Mapping[str, Iterable[str]] = annotations[annotator]
    else:
        tags = consensus(annotations)
        reviewers = [a for a, reviews in annotations.items() if reviews]
        if len(reviewers) > 1:
            agreement = category_agreement({a: annotations[a] for a in reviewers}, table.categories)
    ceiling = ceiling_from_tags(
        {item: set(names) for item, names in tags.items()},
        dev_error,
        categories=table.categories,
        reviewed=reviewed,
        dev_errors=dev_errors,
        carried=carried,
    )
    return ceiling, agreement


def check_category_name(name: str, existing: Iterable[str] = ()) -> str:
    """A valid category name (stripped), or an InputError saying why not."""
    clean = str(name).strip()
    if not clean:
        raise InputError("a category needs a name")
    if len(clean) > MAX_CATEGORY_NAME:
        raise InputError(f"category name '{clean[:20]}…' is longer than {MAX_CATEGORY_NAME}")
    if clean.lower() in RESERVED_COLUMNS:
        raise InputError(f"'{clean}' is a reserved column name; choose another category name")
    if clean.lower() in {e.lower() for e in existing}:
        raise InputError(f"category '{clean}' exists already")
    return clean


# -- export -----------------------------------------------------------------------------------


def neutralize(cell: object) -> str:
    """A cell a spreadsheet shows as text: ``'`` before a leading = + - @ tab CR, or ``'``."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(ESCAPED_STARTS) else text


def unneutralize(cell: str) -> str:
    """Undo :func:`neutralize` (only a ``'`` directly before a formula character or ``'`` goes)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(ESCAPED_STARTS) else cell


def write_tags_csv(
    table: TagTable, context: Mapping[str, Mapping[str, object]] | None = None
) -> str:
    """The tags CSV text of ``table``; ``context`` (id → y_true/y_pred/score/input) is included.

    The ``annotator`` column is always written (empty for an unnamed annotator). ``reviewed`` is 1
    on every row that counts as reviewed, a tagged row included (tagging is reviewing), so the
    file says what the progress bar counts. Untouched rows get empty category cells, so a fresh
    sample opens clean in a spreadsheet.
    """
    context_columns = [
        c for c in CONTEXT_COLUMNS if context and any(c in v for v in context.values())
    ]
    header = [ID, ANNOTATOR, *context_columns, REVIEWED]
    header += [*table.categories, NOTES]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralize(h) for h in header])
    for row in table.rows:
        extra = (context or {}).get(row.id, {})
        cells: list[object] = [row.id, row.annotator]
        cells += [extra.get(c, "") for c in context_columns]
        touched = row.counts
        cells.append("1" if touched else "0")
        cells += [("1" if c in row.tags else "0") if touched else "" for c in table.categories]
        cells.append(row.notes)
        writer.writerow([neutralize(c) for c in cells])
    return out.getvalue()


# -- import -----------------------------------------------------------------------------------


def read_tags_csv(
    source: str | os.PathLike[str] | bytes,
    *,
    sample_ids: Collection[str] | None = None,
    name: str | None = None,
) -> TagTable:
    """Read and validate a tags CSV (a path, or the uploaded bytes).

    ``sample_ids`` (the sample's example ids) turns unknown ids into errors. Every problem (bad
    header, unknown or duplicate id, a value that is not 0/1) is collected; if any, one
    InputError lists them and nothing is returned, so a caller never half-applies a file.
    """
    text, name = _text(source, name)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # a long note is one field
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"{name} could not be read as CSV ({exc}); check its quoting") from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise InputError(f"{name} is empty; it needs a header row with an 'id' column")
    header = [unneutralize(h.strip()) for h in records[0]]
    categories = _categories(header, name)
    known = None if sample_ids is None else {str(i) for i in sample_ids}
    problems: list[str] = []
    rows: list[TagRow] = []
    seen: dict[tuple[str, str], int] = {}
    for number, record in enumerate(records[1:], start=1):
        if not any(cell.strip() for cell in record):
            continue
        if any(cell.strip() for cell in record[len(header) :]):
            problems.append(f"row {number}: {len(record)} cells, the header has {len(header)}")
            continue
        record = record[: len(header)] + [""] * (len(header) - len(record))  # empty means 0
        cells = {h: unneutralize(c) for h, c in zip(header, record, strict=True)}
        row = _row(cells, categories, number, problems)
        if row is None:
            continue
        key = (row.id, row.annotator)
        if key in seen:
            who = f" by annotator '{row.annotator}'" if row.annotator else ""
            problems.append(f"row {number}: id '{row.id}'{who} repeats row {seen[key]}")
            continue
        seen[key] = number
        if known is not None and row.id not in known:
            problems.append(f"row {number}: id '{row.id}' is not in the sample")
            continue
        rows.append(row)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = (
            f"; and {len(problems) - MAX_PROBLEMS_SHOWN} more"
            if len(problems) > MAX_PROBLEMS_SHOWN
            else ""
        )
        raise InputError(
            f"{name}: {len(problems)} problem{'s' * (len(problems) > 1)}, nothing was imported: "
            f"{shown}{more}"
        )
    if not rows:
        raise InputError(f"{name} has a header but no rows")
    if REVIEWED not in header:
        rows = [replace(row, reviewed=True) for row in rows]
    return TagTable(tuple(categories), tuple(rows))


def _text(source: str | os.PathLike[str] | bytes, name: str | None) -> tuple[str, str]:
    if isinstance(source, bytes):
        data, name = source, name or "tags CSV"
    else:
        path = Path(source)
        name = name or path.name
        refuse_not_a_file(path, "tags file")
        data = path.read_bytes()
    refuse_non_csv_text(data[:65536], name)
    refuse_cr_only_lines(data[:65536], name)
    if b"\x00" in data[:65536]:
        raise InputError(f"{name} contains NUL bytes: it is binary, not CSV text")
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError:
        raise InputError(f"{name} is not UTF-8 text; re-save it as UTF-8 CSV") from None


def _categories(header: list[str], name: str) -> list[str]:
    lowered = [h.lower() for h in header]
    if ID not in lowered:
        raise InputError(
            f"{name} has no 'id' column; columns found: {', '.join(header)}. The tags CSV needs "
            "id, then one 0/1 column per category (optional: reviewed, annotator, notes)"
        )
    repeated = sorted({h for h in lowered if lowered.count(h) > 1})
    if repeated:
        raise InputError(f"{name}: column {', '.join(map(repr, repeated))} appears twice")
    if "" in lowered:
        column = lowered.index("") + 1
        raise InputError(f"{name}: column {column} of the header has no name")
    header[:] = [h.lower() if h.lower() in RESERVED_COLUMNS else h for h in header]
    return [h for h in header if h not in RESERVED_COLUMNS]


def _flag(value: str, column: str, number: int, problems: list[str]) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word not in FALSE_WORDS:
        problems.append(
            f"row {number}, column '{column}': '{value}' is not 0/1 (use 0/1, true/false, yes/no)"
        )
    return False


def _row(
    cells: dict[str, str], categories: Collection[str], number: int, problems: list[str]
) -> TagRow | None:
    example = cells[ID]
    if not example.strip():
        problems.append(f"row {number}: empty id")
        return None
    before = len(problems)
    tags = frozenset(c for c in categories if _flag(cells[c], c, number, problems))
    reviewed = _flag(cells.get(REVIEWED, ""), REVIEWED, number, problems)
    if len(problems) > before:
        return None
    return TagRow(
        id=example,
        tags=tags,
        reviewed=reviewed,
        notes=cells.get(NOTES, ""),
        annotator=cells.get(ANNOTATOR, ""),
    )

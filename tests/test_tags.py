"""The tags CSV: export neutralizes formulas, import validates all or nothing."""

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.tags import (
    PRESET_CATEGORIES,
    RESERVED_COLUMNS,
    TagRow,
    TagTable,
    check_category_name,
    neutralize,
    read_tags_csv,
    unneutralize,
    write_tags_csv,
)
from diagnostics.validation import InputError


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain note", "plain note"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralize_cells(cell, expected):
    assert neutralize(cell) == expected
    assert unneutralize(neutralize(cell)) == cell


def test_export_neutralizes_every_cell_and_round_trips(tmp_path):
    table = TagTable(
        ("=evil()", "blurry"),
        (
            TagRow("-5", frozenset({"blurry"}), True, "=cmd|' /C calc'!A0"),
            TagRow("@x", frozenset({"=evil()"}), False, "+note"),
            TagRow("plain", frozenset(), False, ""),
        ),
    )
    text = write_tags_csv(table)
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    path = tmp_path / "tags.csv"
    path.write_text(text, encoding="utf-8")
    back = read_tags_csv(path)
    assert back.categories == table.categories
    assert [(r.id, r.tags, r.counts, r.notes, r.annotator) for r in back.rows[:2]] == [
        (r.id, r.tags, r.counts, r.notes, r.annotator) for r in table.rows[:2]
    ]
    assert back.rows[1].reviewed  # tagged, not marked: the file says reviewed, as the bar counts
    assert not back.rows[2].counts  # untouched row stays unreviewed


def test_export_marks_tagged_rows_reviewed_and_names_the_annotator():
    table = TagTable(
        ("blurry", "dark"),
        (
            TagRow("1", frozenset({"blurry"}), False, "", "ana"),
            TagRow("2", frozenset(), True, "", "ana"),
            TagRow("1", frozenset({"dark"}), False, "", "ben"),
            TagRow("3", frozenset(), False, "", ""),
        ),
    )
    header, *rows = list(csv.reader(io.StringIO(write_tags_csv(table))))
    assert header == ["id", "annotator", "reviewed", "blurry", "dark", "notes"]
    assert rows == [
        ["1", "ana", "1", "1", "0", ""],
        ["2", "ana", "1", "0", "0", ""],
        ["1", "ben", "1", "0", "1", ""],
        ["3", "", "0", "", "", ""],
    ]
    back = read_tags_csv(write_tags_csv(table).encode())
    assert back.annotators == ["ana", "ben", ""]
    assert back.annotations() == table.annotations()
    assert write_tags_csv(back) == write_tags_csv(table)  # import accepts what export writes


def test_import_values_and_reviewed_default():
    data = b"id,blurry,Mislabeled,notes\n1,1,no,ok\n2,TRUE,yes,\n3,,0,\n"
    table = read_tags_csv(data, sample_ids={"1", "2", "3"})
    assert table.categories == ("blurry", "Mislabeled")
    assert [sorted(r.tags) for r in table.rows] == [["blurry"], ["Mislabeled", "blurry"], []]
    assert all(r.reviewed for r in table.rows)  # no reviewed column: every row was reviewed
    assert table.consensus_tags()["3"] == set()


def test_import_reports_every_problem_and_applies_nothing():
    data = (
        b"id,reviewed,blurry\n"
        b"1,1,maybe\n"  # bad value
        b"2,1,1\n"
        b"2,1,0\n"  # duplicate
        b"99,1,1\n"  # unknown id
        b"3,perhaps,0\n"  # bad reviewed
        b",1,1\n"  # empty id
    )
    with pytest.raises(InputError) as caught:
        read_tags_csv(data, sample_ids={"1", "2", "3"}, name="tags.csv")
    message = str(caught.value)
    assert message.startswith("tags.csv: 5 problems, nothing was imported")
    assert "row 1, column 'blurry': 'maybe' is not 0/1" in message
    assert "row 3: id '2' repeats row 2" in message
    assert "row 4: id '99' is not in the sample" in message
    assert "row 5, column 'reviewed': 'perhaps'" in message
    assert "row 6: empty id" in message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"name,blurry\n1,1\n", "no 'id' column"),
        (b"id,blurry,blurry\n1,1,1\n", "appears twice"),
        (b"id,,x\n1,1,1\n", "has no name"),
        (b"id,blurry\n", "no rows"),
        (b"id,blurry\n1,1,0\n", "row 1: 3 cells, the header has 2"),
        (b"id,blurry\n\xff\xfe,1\n", "not UTF-8"),
    ],
)
def test_import_refusals(data, message):
    with pytest.raises(InputError, match=message):
        read_tags_csv(data)


def test_short_rows_and_trailing_empty_cells_are_tolerated():
    table = read_tags_csv(b"id,blurry,dark\n1,1\n2,0,1,,\n")
    assert [r.tags for r in table.rows] == [frozenset({"blurry"}), frozenset({"dark"})]


def test_several_annotators_share_ids():
    data = b"id,annotator,blurry\n1,ana,1\n1,ben,0\n2,ana,1\n2,ben,1\n"
    table = read_tags_csv(data)
    assert table.annotators == ["ana", "ben"]
    assert table.annotations()["ben"] == {"1": frozenset(), "2": frozenset({"blurry"})}
    assert table.consensus_tags() == {"1": {"blurry"}, "2": {"blurry"}}  # ties count
    with pytest.raises(InputError, match="by annotator 'ana' repeats row 1"):
        read_tags_csv(data + b"1,ana,0\n")


def test_category_names_are_checked():
    with pytest.raises(InputError, match="exists already"):
        check_category_name("Blurry", ["blurry", "dark"])
    with pytest.raises(InputError, match="reserved"):
        check_category_name("notes")
    assert check_category_name("  too dark ") == "too dark"


def test_blank_sample_uses_presets_and_context():
    table = TagTable.blank(["a", "b"])
    assert table.categories == PRESET_CATEGORIES
    text = write_tags_csv(table, {"a": {"y_true": "cat", "y_pred": "=dog"}})
    header, first, _ = list(csv.reader(io.StringIO(text)))
    assert header[:5] == ["id", "annotator", "y_true", "y_pred", "reviewed"]
    assert header[-1] == "notes"
    assert first[:4] == ["a", "", "cat", "'=dog"]
    back = read_tags_csv(text.encode())  # context columns are ignored on import
    assert back.categories == PRESET_CATEGORIES


NO_NUL = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
CATEGORY = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=60)
    .map(str.strip)
    .filter(lambda name: name and name.lower() not in RESERVED_COLUMNS)
)


@st.composite
def tag_tables(draw) -> TagTable:
    """Any table the app can hold: odd ids, notes with line breaks, quotes, formulas, spaces."""
    categories = draw(st.lists(CATEGORY, max_size=4, unique_by=str.lower))
    keys = draw(
        st.lists(
            st.tuples(
                st.text(NO_NUL, min_size=1, max_size=12).filter(str.strip),
                st.text(NO_NUL, max_size=8),
            ),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    rows = tuple(
        TagRow(
            id=example,
            tags=(tags := frozenset(draw(st.sets(st.sampled_from(categories)))))
            if categories
            else frozenset(),
            # a tagged row is a reviewed one (tagging is reviewing): the export writes it so
            reviewed=draw(st.booleans()) or bool(categories and tags),
            notes=draw(st.text(NO_NUL, max_size=40)),
            annotator=annotator,
        )
        for example, annotator in keys
    )
    return TagTable(tuple(categories), rows)


@settings(max_examples=150, deadline=None)
@given(tag_tables())
def test_export_then_import_is_the_identity(table):
    assert read_tags_csv(write_tags_csv(table).encode()) == table


@pytest.mark.parametrize(
    "notes",
    [
        pytest.param("before\rafter", id="lone-carriage-return"),
        pytest.param("x" * (200 << 10), id="note-over-128-KiB"),
        pytest.param("'=already", id="quote-before-a-formula"),
        pytest.param("  spaced  ", id="surrounding-spaces"),
        pytest.param("''", id="two-quotes"),
    ],
)
def test_the_round_trip_cases_from_the_probe(notes):
    table = TagTable(("blurry",), (TagRow(" a ", frozenset({"blurry"}), True, notes, " ana "),))
    assert read_tags_csv(write_tags_csv(table).encode()) == table

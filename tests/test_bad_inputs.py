"""The bad-input catalogue: every surface, one named case each, the exact user-facing outcome.

Refusals assert an :class:`InputError` whose message names the problem and that nothing saved
changed (the project's Diagnose state, the uploads folder, the tags, the extraction folder);
CLI refusals assert exit code 2 and exactly one line on stderr. A few hostile-looking inputs
must be *accepted* (a million distinct labels, a one-row split, float labels that are ints);
those cases assert the outcome. The test ids read as the catalogue.

No search-space JSON or share-token surface exists yet on this branch, so none is listed.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from streamlit.testing.v1 import AppTest

from diagnostics.fastscan import scan_split_metrics
from diagnostics.images import extract_images_zip
from diagnostics.ingest import read_predictions, split_metrics
from diagnostics.tags import TagRow, TagTable, read_tags_csv, write_tags_csv
from diagnostics.validation import InputError
from strategy_app import cli
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload, validate_upload
from strategy_app.errors import service as labeling
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from strategy_app.store.engine import StoreDamaged
from strategy_app.store.labels import LabelEdit
from tests.conftest import write_predictions

HEADER = "id,split,y_true,y_pred,score,weight\n"
GOOD_ROWS = "".join(
    f"{i},{split},{i % 3},{(i + (i % 4 == 0)) % 3},0.5,1\n"
    for i, split in enumerate(["train", "train_dev", "dev", "test"] * 5)
)


def csv(rows: str = GOOD_ROWS, header: str = HEADER) -> bytes:
    """A predictions CSV with ``rows`` under ``header``."""
    return (header + rows).encode()


def parquet(**columns) -> bytes:
    """A predictions Parquet file; ``columns`` override or add to the good ones."""
    base = {
        "id": list(range(8)),
        "split": ["train", "train_dev", "dev", "test"] * 2,
        "y_true": [0, 1, 2, 0, 1, 2, 0, 1],
        "y_pred": [0, 1, 1, 0, 1, 2, 2, 1],
    }
    base.update(columns)
    base = {k: v for k, v in base.items() if v is not None}
    out = io.BytesIO()
    pq.write_table(pa.table(base), out)
    return out.getvalue()


# -- surfaces ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A predictions upload on the Diagnose page that must be refused."""

    name: str
    data: Callable[[Path], bytes] | bytes
    message: str


@dataclass(frozen=True)
class Accepted:
    """A predictions upload that must be accepted; ``check`` asserts the outcome."""

    name: str
    data: Callable[[Path], bytes]
    check: Callable[[Any], None]


@dataclass(frozen=True)
class Cli:
    """A command line that must exit 2 with one line on stderr containing ``message``.

    ``absent`` must not appear on stderr (a password, a raw escape sequence).
    """

    argv: Callable[[Path], list[str]]
    message: str
    absent: str | None = None


@dataclass(frozen=True)
class Agree:
    """A predictions file both readers (the CLI's DuckDB scan, the app's pyarrow reader) must
    read to the same numbers; ``check`` asserts them (split → (value, n))."""

    data: Callable[[Path], bytes] | bytes
    check: Callable[[dict], None]
    name: str = "p.csv"


@dataclass(frozen=True)
class Damaged:
    """A SQLite file damaged by ``damage``: open_store and the CLI refuse it, and leave it be."""

    damage: Callable[[Path], None]
    message: str


@dataclass(frozen=True)
class RoundTrip:
    """A tags row whose notes and annotator must survive export → import exactly."""

    id: str
    notes: str
    annotator: str = ""


@dataclass(frozen=True)
class Zip:
    """An image archive that must be refused, leaving no extraction folder."""

    entries: dict[str, bytes] | Callable[[], bytes]
    message: str


@dataclass(frozen=True)
class Tags:
    """A tags CSV import that must be refused as a whole."""

    data: bytes
    message: str


# -- builders ---------------------------------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    crc = struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return struct.pack(">I", len(body)) + kind + body + crc


def png(width: int = 4, height: int = 4) -> bytes:
    """A PNG declaring ``width``×``height`` (pixel data only valid for small sizes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(min(height, 64)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def zip_of(entries: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> bytes:
    """A deflated zip of ``entries`` (names in ``symlinks`` marked as symbolic links)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            info = zipfile.ZipInfo(entry)
            info.compress_type = zipfile.ZIP_DEFLATED
            if entry in symlinks:
                info.external_attr = 0o120777 << 16
            archive.writestr(info, data)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A PNG signature followed by 200 MB of zeros, deflated to about 200 KB."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("bomb.png", "w", force_zip64=True) as entry,
    ):
        entry.write(b"\x89PNG\r\n\x1a\n")
        block = bytes(1 << 20)
        for _ in range(200):
            entry.write(block)
    return out.getvalue()


def huge_field_csv(tmp_path: Path) -> Path:
    """A predictions CSV whose one row has a 100 MB quoted field, written in chunks."""
    path = tmp_path / "huge-field.csv"
    with path.open("wb") as out:
        out.write(b'split,y_true,y_pred,input\ndev,1,1,"')
        block = b"x" * (1 << 20)
        for _ in range(100):
            out.write(block)
        out.write(b'"\n')
    return path


def truncated_parquet(_tmp: Path) -> bytes:
    """A valid Parquet file cut in half."""
    data = parquet()
    return data[: len(data) // 2]


def million_labels(_tmp: Path) -> bytes:
    """10^6 rows, each with its own class label (a face-id style problem)."""
    n = 1_000_000
    labels = np.arange(n)
    predicted = np.where(labels % 10 == 0, labels + 1, labels)
    split = pa.DictionaryArray.from_arrays(
        pa.array((labels % 4).astype(np.int32)), pa.array(["train", "train_dev", "dev", "test"])
    )
    out = io.BytesIO()
    pq.write_table(pa.table({"split": split, "y_true": labels, "y_pred": predicted}), out)
    return out.getvalue()


def one_row_split(_tmp: Path) -> bytes:
    """Hundreds of rows in train, train_dev and dev, and one row in test."""
    rows = "".join(
        f"{i},{s},1,{1 if i % 9 else 0},0.5,1\n"
        for i, s in enumerate(["train", "train_dev", "dev"] * 100)
    )
    return csv(rows + "999,test,1,1,0.5,1\n")


def float_labels(_tmp: Path) -> bytes:
    """Classes written as 0.0/1.0/2.0 (a pandas export)."""
    return csv(GOOD_ROWS.replace(",0,", ",0.0,").replace(",1,", ",1.0,").replace(",2,", ",2.0,"))


def check_million(scan) -> None:
    assert scan.metric == "error" and scan.rows == 1_000_000
    assert scan.splits["dev"].value == pytest.approx(0.2)  # dev ids 10 mod 20 miss


def check_one_row(scan) -> None:
    test = scan.splits["test"]
    assert test.n == 1 and test.value == 0
    assert test.high - test.low > 0.5  # honest: one row says almost nothing


def check_float_classes(scan) -> None:
    assert scan.metric == "error"  # 0.0/1.0/2.0 are the classes 0/1/2, compared as such
    assert scan.splits == validate_upload("ints.csv", csv()).splits


def cli_file(data: bytes, name: str = "p.csv"):
    """An argv builder: ``diagnose FILE`` for a file holding ``data``."""

    def build(tmp_path: Path) -> list[str]:
        path = tmp_path / name
        path.write_bytes(data)
        return ["diagnose", str(path)]

    return build


def argv(*words: str):
    """An argv builder for a fixed command line."""
    return lambda _tmp: list(words)


def bare_csv(tmp_path: Path) -> Path:
    """A predictions file with only the required columns."""
    path = tmp_path / "bare.csv"
    path.write_text("split,y_true,y_pred\ndev,1,1\ndev,1,2\n")
    return path


def probabilities_csv(tmp_path: Path, cells: str, second: str = "prob_2") -> Path:
    """Labels 1 and 2 with the probability columns prob_1 and ``second`` set to ``cells``."""
    path = tmp_path / "probabilities.csv"
    rows = "".join(f"dev,{1 + i % 2},1,{cells}\n" for i in range(6))
    path.write_text(f"split,y_true,y_pred,prob_1,{second}\n{rows}")
    return path


def with_file(*words: str):
    """An argv builder with a valid predictions file in place of ``FILE``."""

    def build(tmp_path: Path) -> list[str]:
        path = write_predictions(tmp_path / "good.csv", rows_per_split=20)
        return [str(path) if w == "FILE" else w for w in words]

    return build


def labels_file(rows: str, header: str = "split,y_true,y_pred\n") -> bytes:
    """A minimal predictions CSV (split and labels only)."""
    return (header + rows).encode()


CR_ONLY = b"split,y_true,y_pred\rtrain,1,1\rdev,1,0\r"


def parquet_of(**columns) -> Callable[[Path], bytes]:
    """A builder of :func:`parquet` with ``columns`` (pyarrow arrays where types matter)."""
    return lambda _tmp: parquet(**columns)


def weighted(weight: str) -> Callable[[Path], bytes]:
    """Good rows, every weight ``weight``."""
    return lambda _tmp: csv(GOOD_ROWS.replace(",0.5,1\n", f",0.5,{weight}\n"))


def late_fraction(_tmp: Path) -> bytes:
    """30,000 whole-number rows (DuckDB's sniffer sees integers), then a 1.5 prediction."""
    rows = "".join(f"{SPLIT_CYCLE[i % 4]},1,1\n" for i in range(30_000))
    return labels_file(rows + "dev,1,1.5\n")


def long_header(_tmp: Path) -> bytes:
    """A header line of 70 KB (one column named with 70,000 characters)."""
    return labels_file("train,1,1,1\n", header="split,y_true,y_pred," + "x" * 70_000 + "\n")


def late_nul(_tmp: Path) -> bytes:
    """A valid-looking CSV whose NUL byte comes after the first 64 KiB."""
    rows = "".join(f"{SPLIT_CYCLE[i % 4]},1,1\n" for i in range(8_000))
    return labels_file(rows + "dev,1\x00,1\n")


def padded_pngs() -> bytes:
    """120 valid PNGs, each followed by a megabyte of zeros: each entry under the 1 MiB floor."""
    return zip_of({f"img{i:03d}.png": png() + bytes(1_000_000) for i in range(120)})


def fifo(tmp_path: Path) -> list[str]:
    """``diagnose`` on a named pipe (opening it would block)."""
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return ["diagnose", str(path)]


def bom_file(tmp_path: Path) -> list[str]:
    """``diagnose`` on a file the scan hands to the exact reader (a byte order mark)."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + write_predictions(tmp_path / "plain.csv").read_bytes())
    return ["diagnose", str(path)]


def in_tmp(*words: str):
    """An argv builder where ``TMP`` is the test's temporary folder."""
    return lambda tmp_path: [str(tmp_path) if w == "TMP" else w for w in words]


def truncated_store(path: Path) -> None:
    """A real store with a project, cut to half its size."""
    store = open_store(f"sqlite:///{path}")
    store.projects.create("p")
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def junk_header_store(path: Path) -> None:
    """A real store whose first 100 bytes (SQLite's header) are overwritten."""
    truncated_store(path.with_name("whole.db"))
    data = path.with_name("whole.db").read_bytes()
    path.write_bytes(b"\x13" * 100 + data[100:])


SPLIT_CYCLE = ("train", "train_dev", "dev", "test")
UNWEIGHTED = {"train": (1.0, 5), "train_dev": (0.0, 5), "dev": (0.0, 5), "test": (0.0, 5)}
TWO_TO_63 = 2**63


P = pytest.param
CASES = [
    # predictions upload, CSV
    P(Upload("p.csv", b"", "empty (0 bytes)"), id="csv-empty-file"),
    P(Upload("p.csv", csv(""), "no rows"), id="csv-header-only"),
    P(Upload("p.csv", b"   \n\n  \n", "no column"), id="csv-only-whitespace"),
    P(
        Upload("p.csv", csv(header="id,split,y_true,score\n"), "no column 'y_pred'"),
        id="csv-missing-y-pred-column",
    ),
    P(Upload("p.csv", csv().replace(b",", b";"), "semicolon"), id="csv-semicolon-delimiter"),
    P(Upload("p.csv", csv().replace(b",", b"\t"), "tab"), id="csv-tab-delimiter"),
    P(Upload("p.csv", csv().replace(b",", b"|"), "pipe"), id="csv-pipe-delimiter"),
    P(
        Upload("p.csv", b"\xff\xfe" + csv().decode().encode("utf-16-le"), "UTF-16"),
        id="csv-utf16-le-with-bom",
    ),
    P(
        Upload("p.csv", b"\xfe\xff" + csv().decode().encode("utf-16-be"), "UTF-16"),
        id="csv-utf16-be-with-bom",
    ),
    P(Upload("p.csv", csv().replace(b"0.5", b"0\x005", 1), "NUL bytes"), id="csv-nul-bytes"),
    P(
        Upload(
            "p.csv",
            csv(
                GOOD_ROWS + "99,dev,caf\xe9,caf\xe9,0.5,1\n".encode("latin-1").decode("latin-1")
            ).replace("é".encode(), b"\xe9"),
            "UTF-8",
        ),
        id="csv-latin1-bytes",
    ),
    P(
        Upload("p.csv", b"<!DOCTYPE html><html><body>Sign in</body></html>", "HTML"),
        id="csv-really-html",
    ),
    P(Upload("p.csv", b"  <html><head></head></html>", "HTML"), id="csv-really-html-indented"),
    P(Upload("p.csv", b'<?xml version="1.0"?><rows/>', "XML"), id="csv-really-xml"),
    P(Upload("p.csv", png(), "binary"), id="csv-really-png"),
    P(Upload("p.csv", zip_of({"a.csv": csv()}), "binary"), id="csv-really-zip"),
    P(
        Upload("p.csv", csv(GOOD_ROWS + "99,validation_set,1,1,0.5,1\n"), "validation_set"),
        id="csv-unknown-split-name",
    ),
    P(Upload("p.csv", csv(GOOD_ROWS + "99,,1,1,0.5,1\n"), "split"), id="csv-empty-split"),
    P(Upload("p.csv", csv(GOOD_ROWS + "99,dev,,1,0.5,1\n"), "y_true"), id="csv-empty-y-true"),
    P(Upload("p.csv", csv(GOOD_ROWS + "99,dev,1,1,inf,1\n"), "score"), id="csv-inf-score"),
    P(Upload("p.csv", csv(GOOD_ROWS + "99,dev,1,1,nan,1\n"), "score"), id="csv-nan-score"),
    P(Upload("p.csv", csv(GOOD_ROWS + "99,dev,1,1,0.5,-1\n"), "weight"), id="csv-negative-weight"),
    P(Upload("p.csv", csv(GOOD_ROWS + "99,dev,1,1,0.5,nan\n"), "weight"), id="csv-nan-weight"),
    P(Upload("p.csv", csv(GOOD_ROWS + "99,dev,1,1,0.5,inf\n"), "weight"), id="csv-inf-weight"),
    P(Upload("p.csv", csv(GOOD_ROWS + "99,dev,1,1,0.5,heavy\n"), "weight"), id="csv-text-weight"),
    P(Upload("p.csv", csv(GOOD_ROWS.replace(",0.5,", ",high,")), "score"), id="csv-text-score"),
    P(
        Upload("p.csv", csv(GOOD_ROWS + "2,dev,1,1,0.5,1\n"), "'2' appears 2 times"),
        id="csv-duplicate-ids",
    ),
    P(
        Upload(
            "p.csv", csv(GOOD_ROWS + "99,dev,1,1,0.5,1,extra\n"), "7 cells but the header has 6"
        ),
        id="csv-ragged-row",
    ),
    P(Upload("p.csv", csv(GOOD_ROWS + '99,dev,"1,1,0.5,1\n'), "CSV"), id="csv-unclosed-quote"),
    P(
        Upload(
            "p.csv",
            csv(header="split,y_true,y_pred,y_pred\n", rows="dev,1,1,1\n"),
            "'y_pred' more than once",
        ),
        id="csv-duplicate-column",
    ),
    P(
        Upload("p.csv", csv(rows="1,dev,1.5,inf,0.5,1\n2,dev,2.5,2,0.5,1\n"), "y_pred"),
        id="csv-regression-inf-prediction",
    ),
    P(
        Upload("p.csv", csv(rows="1,dev,1.5,nan,0.5,1\n2,dev,2.5,2,0.5,1\n"), "y_pred"),
        id="csv-regression-nan-prediction",
    ),
    # predictions upload, Parquet
    P(Upload("p.parquet", truncated_parquet, "Parquet"), id="parquet-truncated"),
    P(Upload("p.parquet", csv(), "no PAR1 header"), id="parquet-that-is-csv"),
    P(Upload("p.parquet", b"PAR1" + bytes(64) + b"PAR1", "Parquet"), id="parquet-garbage-body"),
    P(
        Upload("p.parquet", parquet(y_pred=None), "no column 'y_pred'"),
        id="parquet-missing-y-pred-column",
    ),
    P(
        Upload("p.parquet", parquet(id=[], split=[], y_true=[], y_pred=[]), "no rows"),
        id="parquet-zero-rows",
    ),
    P(
        Upload("p.parquet", parquet(score=[0.1] * 7 + [float("inf")]), "score"),
        id="parquet-inf-score",
    ),
    P(
        Upload("p.parquet", parquet(weight=[1.0] * 7 + [-2.0]), "weight"),
        id="parquet-negative-weight",
    ),
    P(
        Upload("p.parquet", parquet(weight=[1.0] * 7 + [float("nan")]), "weight"),
        id="parquet-nan-weight",
    ),
    P(
        Upload("p.parquet", parquet(split=["train", "train_dev", "dev", "prod"] * 2), "prod"),
        id="parquet-unknown-split-name",
    ),
    P(
        Upload("p.parquet", parquet(id=[1, 2, 3, 4, 5, 6, 3, 8]), "'3' appears 2 times"),
        id="parquet-duplicate-ids",
    ),
    # predictions upload, accepted with an honest outcome
    P(
        Accepted("labels.parquet", million_labels, check_million),
        id="accept-million-distinct-labels",
    ),
    P(Accepted("p.csv", one_row_split, check_one_row), id="accept-split-with-one-row"),
    P(Accepted("p.csv", float_labels, check_float_classes), id="accept-float-labels-that-are-ints"),
    P(Accepted("p.csv", lambda _t: b"\xef\xbb\xbf" + csv(), lambda p: None), id="accept-utf8-bom"),
    P(
        Accepted("p.csv", lambda _t: csv().replace(b"\n", b"\r\n"), lambda p: None),
        id="accept-crlf-line-endings",
    ),
    # CLI flags
    P(Cli(argv(), "required: command"), id="cli-no-command"),
    P(Cli(argv("diagnoze"), "invalid choice"), id="cli-unknown-command"),
    P(
        Cli(argv("diagnose", "--dev", "8", "--train", "5%"), "8"),
        id="cli-bare-rate-without-percent",
    ),
    P(Cli(argv("diagnose", "--dev", "180%", "--train", "5%"), "180%"), id="cli-rate-over-100"),
    P(Cli(argv("diagnose", "--dev=-3%", "--train", "5%"), "-3%"), id="cli-negative-rate"),
    P(Cli(argv("diagnose", "--dev", "nan%", "--train", "5%"), "nan"), id="cli-nan-rate"),
    P(Cli(argv("diagnose", "--dev", "inf%", "--train", "5%"), "inf"), id="cli-inf-rate"),
    P(Cli(argv("diagnose", "--dev", "ten", "--train", "5%"), "ten"), id="cli-word-rate"),
    P(
        Cli(argv("diagnose", "--dev", "5%", "--human", "expert=x%"), "--human: 'x%' is not a rate"),
        id="cli-bad-human-level",
    ),
    P(Cli(argv("diagnose", "/no/such/predictions.csv"), "not found"), id="cli-missing-file"),
    P(Cli(lambda t: ["diagnose", str(t)], "is a folder"), id="cli-directory-as-file"),
    P(Cli(with_file("diagnose", "FILE", "--metric", "auc"), "--metric"), id="cli-unknown-metric"),
    P(
        Cli(with_file("diagnose", "FILE", "--slice", "country"), "country"),
        id="cli-slice-column-missing",
    ),
    P(Cli(with_file("diagnose", "FILE", "--colour"), "--colour"), id="cli-unknown-flag"),
    P(
        Cli(cli_file(b"\xff\xfe" + "split;y_true".encode("utf-16-le")), "UTF-16"),
        id="cli-utf16-file",
    ),
    P(
        Cli(lambda t: ["diagnose", str(huge_field_csv(t))], "too large"),
        id="cli-csv-100mb-single-field",
    ),
    P(
        Cli(with_file("errors", "FILE", "--n", "0"), "sample size must be at least 1"),
        id="cli-errors-sample-size-zero",
    ),
    P(Cli(with_file("errors", "FILE", "--n", "many"), "--n"), id="cli-errors-sample-size-word"),
    P(
        Cli(argv("ceiling", "--count", "blurry=3", "--reviewed", "10"), "--dev-error"),
        id="cli-ceiling-without-dev-error",
    ),
    P(
        Cli(
            argv("ceiling", "--dev-error", "10%", "--count", "blurry", "--reviewed", "10"), "blurry"
        ),
        id="cli-ceiling-count-without-number",
    ),
    P(
        Cli(
            argv("ceiling", "--dev-error", "10%", "--count", "blurry=30", "--reviewed", "10"),
            "blurry",
        ),
        id="cli-ceiling-count-above-reviewed",
    ),
    P(
        Cli(
            argv("ceiling", "--dev-error", "10%", "--count", "blurry=-1", "--reviewed", "10"),
            "blurry",
        ),
        id="cli-ceiling-negative-count",
    ),
    P(Cli(argv("split", "--size=-5"), "size"), id="cli-split-negative-size"),
    P(Cli(argv("split", "--source", "1000"), "target"), id="cli-split-source-without-target"),
    P(Cli(with_file("split", "assign", "FILE"), "--out"), id="cli-split-assign-without-out"),
    P(
        Cli(lambda t: ["slices", str(bare_csv(t))], "no extra columns to slice by"),
        id="cli-slices-no-extra-columns",
    ),
    P(
        Cli(with_file("slices", "FILE", "--columns", "colour"), "no column 'colour'"),
        id="cli-slices-unknown-column",
    ),
    P(
        Cli(with_file("slices", "FILE", "--min-support", "0"), "--min-support"),
        id="cli-slices-zero-support",
    ),
    P(
        Cli(with_file("label-issues", "FILE"), "no prob_<class> columns"),
        id="cli-label-issues-no-probabilities",
    ),
    P(
        Cli(lambda t: ["label-issues", str(probabilities_csv(t, "0.5,0.2"))], "do not sum to 1"),
        id="cli-label-issues-probabilities-not-summing-to-one",
    ),
    P(
        Cli(
            # prob_7 is a class no row has (accepted, issue 31); label 2 has no column
            lambda t: ["label-issues", str(probabilities_csv(t, "0.5,0.5", "prob_7"))],
            "no probability column for label(s) 2",
        ),
        id="cli-label-issues-probability-of-an-unknown-class",
    ),
    P(
        Cli(lambda t: ["image-flags", str(t / "no-such-folder")], "no such folder"),
        id="cli-image-flags-missing-folder",
    ),
    # image zip
    P(Zip(zip_bomb, "zip bomb"), id="zip-bomb"),
    P(Zip({"../evil.png": png()}, "'../evil.png'"), id="zip-dotdot-entry"),
    P(Zip({"imgs/../../evil.png": png()}, "evil.png"), id="zip-nested-dotdot-entry"),
    P(Zip({"/etc/evil.png": png()}, "'/etc/evil.png'"), id="zip-absolute-entry"),
    P(Zip({"C:/evil.png": png()}, "'C:/evil.png'"), id="zip-windows-drive-entry"),
    P(Zip({"huge.png": png(100_000, 100_000)}, "decompression"), id="zip-png-100k-by-100k"),
    P(Zip({"page.png": b"<!DOCTYPE html><html></html>"}, "page.png"), id="zip-html-named-png"),
    P(Zip({"a.png": png(), "A.PNG": png()}, "twice"), id="zip-duplicate-entries"),
    P(Zip({"link.png": b"/etc/passwd"}, "symbolic link"), id="zip-symlink-entry"),
    P(Zip({"empty.png": b""}, "empty"), id="zip-empty-entry"),
    P(Zip(lambda: b"PK\x03\x04 not really a zip", "not a readable zip"), id="zip-not-a-zip"),
    P(Zip({"notes.txt": b"hello"}, "notes.txt"), id="zip-text-entry"),
    # tags CSV import (all or nothing)
    P(Tags(b"id,blurry\na,1\nb,0\na,0\n", "repeats row 1"), id="tags-duplicate-ids"),
    P(Tags(b"id,blurry\na,1\nzz,1\n", "not in the sample"), id="tags-unknown-id"),
    P(Tags(b"id,blurry\na,1\nb,maybe\n", "maybe"), id="tags-value-not-0-or-1"),
    P(Tags(b"example,blurry\na,1\n", "'id'"), id="tags-no-id-column"),
    P(Tags(b"", "empty"), id="tags-empty-file"),
    P(Tags(b"id,blurry\na,1,1\n", "cells"), id="tags-ragged-row"),
    P(Tags(b"id,blurry\n", "no rows"), id="tags-header-only"),
    P(Tags(b"\xff\xfei\x00d\x00", "UTF-16"), id="tags-utf16"),
    P(Tags(b"<!DOCTYPE html><html></html>", "HTML/XML document"), id="tags-really-html"),
    # -- second catalogue (issue 20) ------------------------------------------------------------
    # one typing rule: the CLI's DuckDB scan and the app's reader give the same numbers
    P(
        Agree(
            labels_file("train,01,001\ndev,05,06\n"),
            lambda m: m == {"train": (0.0, 1), "dev": (1.0, 1)},
        ),
        id="agree-zero-padded-labels",
    ),
    P(
        Agree(
            labels_file("train,1.0,1\ndev,+2,2\n"),
            lambda m: m == {"train": (0.0, 1), "dev": (0.0, 1)},
        ),
        id="agree-one-point-zero-and-plus-sign",
    ),
    P(
        Agree(
            labels_file("train,NA,NA\ndev,NA,cat\n"),
            lambda m: m == {"train": (0.0, 1), "dev": (1.0, 1)},
        ),
        id="agree-class-named-NA",
    ),
    P(
        Agree(
            labels_file("train,1e19,3e19\ndev,1e19,1e19\n"),
            lambda m: m == {"train": (1.0, 1), "dev": (0.0, 1)},
        ),
        id="agree-whole-floats-above-2-63",
    ),
    P(
        Agree(
            labels_file("train,true,1\ndev,false,1\n"),
            lambda m: m == {"train": (0.0, 1), "dev": (1.0, 1)},
        ),
        id="agree-true-against-1",
    ),
    P(
        Agree(
            parquet_of(
                y_true=pa.array(
                    [Decimal(f"{v}.00") for v in [0, 1, 2, 0, 1, 2, 0, 1]], pa.decimal128(5, 2)
                ),
                y_pred=[0, 1, 2, 0, 1, 2, 0, 1],
            ),
            lambda m: all(v == 0 for v, _ in m.values()),
            "p.parquet",
        ),
        id="agree-decimal-labels-against-integers",
    ),
    P(
        Agree(
            parquet_of(id=pa.array([TWO_TO_63 + i for i in range(8)], pa.uint64())),
            lambda m: sum(n for _, n in m.values()) == 8,
            "p.parquet",
        ),
        id="agree-uint64-ids-above-2-63-are-distinct",
    ),
    P(
        Agree(weighted("1e-170"), lambda m: m == UNWEIGHTED),
        id="agree-weights-whose-squares-underflow",
    ),
    P(
        Agree(weighted("1e308"), lambda m: m == UNWEIGHTED),
        id="agree-weights-near-the-float-limit",
    ),
    P(
        Agree(late_fraction, lambda m: m["dev"][0] == pytest.approx(0.5 / 7501)),
        id="agree-late-fraction-is-not-rounded",
    ),
    # labels that would compare wrongly: refused, naming the cells
    P(
        Upload(
            "p.csv",
            csv(rows="1,dev,1.5,oops,0.5,1\n2,dev,2.5,2.5,0.5,1\n3,train,1.5,1.5,0.5,1\n"),
            "numbers but for 1 cell",
        ),
        id="csv-regression-typo-oops",
    ),
    P(
        Upload("p.csv", csv(rows="1,dev,1,NA,0.5,1\n2,dev,2,2,0.5,1\n3,train,1,1,0.5,1\n"), "'NA'"),
        id="csv-NA-among-numbers",
    ),
    P(
        Upload("p.parquet", parquet(y_true=pa.array([{"a": 1}] * 8)), "nested"),
        id="parquet-struct-labels",
    ),
    P(
        Upload("p.parquet", parquet(y_pred=pa.array([[1]] * 8)), "nested"),
        id="parquet-list-predictions",
    ),
    P(
        Upload("p.parquet", parquet(id=pa.array([{"a": i} for i in range(8)])), "nested"),
        id="parquet-struct-id",
    ),
    P(
        Upload("p.csv", csv(GOOD_ROWS + "02,dev,1,1,0.5,1\n"), "'2' appears 2 times"),
        id="csv-zero-padded-duplicate-ids",
    ),
    P(
        Cli(cli_file(csv(GOOD_ROWS + "02,dev,1,1,0.5,1\n")), "'2' appears 2 times"),
        id="cli-zero-padded-duplicate-ids",
    ),
    # tracebacks that are now one clear line
    P(
        Upload("p.csv", csv(rows="1,dev,1.5,1e308,0.5,1\n2,dev,2.5,-1e308,0.5,1\n"), "overflow"),
        id="csv-regression-values-whose-squares-overflow",
    ),
    P(Upload("p.csv", CR_ONLY, "carriage return"), id="csv-cr-only-line-endings"),
    P(Cli(cli_file(CR_ONLY), "carriage return"), id="cli-cr-only-line-endings"),
    P(
        Cli(
            lambda t: [
                "ceiling",
                str(Path(cli_file(b"id,blurry\ra,1\rb,0\r", "t.csv")(t)[1])),
                "--dev-error",
                "10%",
            ],
            "carriage return",
        ),
        id="cli-ceiling-cr-only-labels",
    ),
    P(Tags(b"id,blurry\ra,1\rb,0\r", "carriage return"), id="tags-cr-only-line-endings"),
    P(Upload("p.csv", long_header, "longer than 64 KiB"), id="csv-header-over-64-KiB"),
    P(Upload("p.csv", late_nul, "NUL"), id="csv-nul-after-64-KiB"),
    P(
        Upload("p.csv", csv(header="split,y_true,\x1b[31mred\n", rows="dev,1,1\n"), "\\x1b[31mred"),
        id="csv-terminal-escape-in-header",
    ),
    P(
        Cli(
            cli_file(csv(header="split,y_true,\x1b[2Jwipe\n", rows="dev,1,1\n")),
            "\\x1b[2Jwipe",
            absent="\x1b",
        ),
        id="cli-terminal-escape-in-header",
    ),
    P(Cli(fifo, "not a regular file"), id="cli-named-pipe-as-file"),
    P(Cli(argv("diagnose", "/dev/zero"), "not a regular file"), id="cli-device-as-file"),
    P(
        Cli(in_tmp("ceiling", "TMP", "--dev-error", "10%"), "is a folder"),
        id="cli-ceiling-labels-is-a-folder",
    ),
    P(
        Cli(cli_file(truncated_parquet(Path()), "p.parquet"), "not a readable Parquet file"),
        id="cli-parquet-thrift-error-one-line",
    ),
    P(Cli(with_file("errors", "FILE", "--seed", "-1"), "--seed"), id="cli-errors-negative-seed"),
    P(
        Cli(in_tmp("report", "--dev", "5%", "--out", "TMP"), "is a folder"),
        id="cli-report-out-is-a-folder",
    ),
    P(
        Cli(
            argv("report", "--study", "s", "--storage", "no-such-journal", "--out", "r.html"),
            "not found",
        ),
        id="cli-report-storage-junk",
    ),
    P(
        Cli(
            argv(
                "report",
                "--study",
                "s",
                "--storage",
                "postgresql://u:pw@127.0.0.1:1/db",
                "--out",
                "r.html",
            ),
            "u:***@127.0.0.1:1/db",
            absent=":pw@",
        ),
        id="cli-report-postgres-refused-one-line-no-password",
    ),
    P(Cli(argv("search", "--device", "tpu"), "'tpu'"), id="cli-search-device-tpu"),
    P(
        Cli(argv("search", "--device", "cuda"), "no CUDA"),
        id="cli-search-device-cuda-without-cuda",
        marks=pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is here"),
    ),
    P(
        Cli(in_tmp("search", "--storage", "TMP"), "is a folder"),
        id="cli-search-storage-is-a-folder",
    ),
    P(
        Cli(
            lambda t: ["search", "--storage", str(write_predictions(t / "p.csv"))],
            "not an Optuna journal",
        ),
        id="cli-search-storage-is-a-csv",
    ),
    P(
        Cli(argv("serve", "--port", "70000"), "70000 is not a port"),
        id="cli-serve-port-out-of-range",
    ),
    P(
        Cli(argv("serve", "--address", "not-an-ip"), "not an IP address"),
        id="cli-serve-address-not-an-ip",
    ),
    P(
        Cli(argv("diagnose", "--dev", "1_0%", "--train", "1%"), "'1_0%' is not a rate"),
        id="cli-rate-with-underscore",
    ),
    P(
        Cli(argv("diagnose", "--dev", "٨%", "--train", "1%"), "is not a rate"),
        id="cli-rate-arabic-digit",
    ),
    P(
        Cli(argv("diagnose", "--dev", "8%", "--human", "=1%"), "no name"),
        id="cli-human-level-empty-name",
    ),
    P(
        Cli(argv("split", "--size", "1e30"), "more examples than any dataset"),
        id="cli-split-size-1e30",
    ),
    P(
        Cli(
            lambda t: [
                "diagnose",
                str(
                    cli_file(
                        labels_file(
                            "".join(f"{SPLIT_CYCLE[i % 4]},1,1,v{i}\n" for i in range(1500)),
                            "split,y_true,y_pred,v\n",
                        )
                    )(t)[1]
                ),
                "--slice",
                "v",
            ],
            "1,500 distinct values",
        ),
        id="cli-slice-with-too-many-values",
    ),
    # image zips
    P(
        Zip({"x.png": png(), "x.png/y.png": png()}, "both a file and a folder"),
        id="zip-file-and-folder-of-one-name",
    ),
    P(Zip({"a" * 300 + ".png": png()}, "longer than 255 bytes"), id="zip-name-over-255-bytes"),
    P(Zip({"d/" * 20 + "x.png": png()}, "nested 20 folders deep"), id="zip-nested-too-deep"),
    P(Zip(padded_pngs, "times the archive's size"), id="zip-many-small-padded-images"),
    # corrupt SQLite files: named, never created over
    P(Damaged(truncated_store, "is cut short"), id="store-truncated"),
    P(Damaged(junk_header_store, "is not a SQLite database"), id="store-junk-header"),
    P(
        Damaged(lambda p: p.write_text("hello, I am a text file\n"), "is not a SQLite database"),
        id="store-text-file",
    ),
    P(Damaged(lambda p: p.mkdir(), "is a folder"), id="store-folder"),
    P(Damaged(lambda p: p.write_bytes(b""), "is empty (0 bytes)"), id="store-zero-bytes"),
    # tags export → import gives back exactly what was exported
    P(RoundTrip("a", "before\rafter"), id="tags-roundtrip-lone-carriage-return"),
    P(RoundTrip("a", "x" * (200 << 10)), id="tags-roundtrip-note-over-128-KiB"),
    P(RoundTrip("a", "'=already"), id="tags-roundtrip-quote-before-formula"),
    P(RoundTrip(" a ", "  spaced  ", " ana "), id="tags-roundtrip-surrounding-spaces"),
]


# -- the test ---------------------------------------------------------------------------------


def saved_state(store, project_id: int) -> tuple:
    """Everything an upload or an import could change, to compare before and after."""
    uploads = sorted(p.name for p in store.uploads.folder.iterdir())
    return store.diagnose_state.load(project_id), uploads, store.labels.reviews(project_id)


@pytest.fixture
def project(data_dir, tmp_path):
    """A store with a project holding a saved upload, a sample and one saved tag."""
    store = open_store()
    project = store.projects.create("p")
    accept_upload(store, project.id, "good.csv", csv(), LOCAL_USER)
    examples = {"id": ["a", "b", "c"], "y_true": ["1"] * 3, "y_pred": ["2"] * 3}
    store.labels.save_sample(project.id, pd.DataFrame(examples), seed=0, stratified=False)
    blurry = store.labels.add_category(project.id, "blurry")
    store.labels.save_edit(project.id, LabelEdit("b", "", add=frozenset({blurry.id})), 0)
    yield store, project.id
    store.close()


def both_readers(path: Path) -> tuple[dict, dict]:
    """Split → (value, n) from the app's reader and from the CLI's scan."""

    def rounded(metrics):
        return {k: (round(v.value, 12), v.n) for k, v in metrics.items()}

    exact = rounded(split_metrics(read_predictions(path)))
    return exact, rounded(scan_split_metrics(path).splits)


def check_damaged(case: Damaged, tmp_path: Path, monkeypatch, capsys) -> None:
    """open_store and ``report --project`` refuse the damaged file and leave it as it was."""
    folder = tmp_path / "damaged"
    folder.mkdir()
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(folder))
    path = folder / "strategy.db"
    case.damage(path)

    def snapshot():
        return "folder" if path.is_dir() else path.read_bytes()

    before = snapshot()
    with pytest.raises(StoreDamaged) as refused:
        open_store()
    assert case.message in str(refused.value) and str(path) in str(refused.value)
    code = cli.main(["report", "--project", "p", "--out", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and case.message in err, err
    at = AppTest.from_file(str(PAGES_DIR / "home.py"), default_timeout=60).run()
    assert not at.exception and case.message in at.error[0].value  # the app: st.error
    assert snapshot() == before and not (folder / "strategy.db-wal").exists()


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case, project, tmp_path, capsys, monkeypatch):
    store, pid = project
    before = saved_state(store, pid)
    if isinstance(case, Agree):
        path = tmp_path / case.name
        path.write_bytes(case.data(tmp_path) if callable(case.data) else case.data)
        exact, scanned = both_readers(path)
        assert scanned == exact
        assert case.check(exact), exact
        accept_upload(store, pid, case.name, path.read_bytes(), LOCAL_USER)  # the app saves it
        return
    if isinstance(case, Damaged):
        check_damaged(case, tmp_path, monkeypatch, capsys)
        return
    if isinstance(case, RoundTrip):
        table = TagTable(
            ("blurry",), (TagRow(case.id, frozenset({"blurry"}), True, case.notes, case.annotator),)
        )
        assert read_tags_csv(write_tags_csv(table).encode()) == table
        return
    if isinstance(case, Upload):
        data = case.data(tmp_path) if callable(case.data) else case.data
        with pytest.raises(InputError) as refused:
            accept_upload(store, pid, case.name, data, LOCAL_USER)
        assert case.message.lower() in str(refused.value).lower(), str(refused.value)
    elif isinstance(case, Accepted):
        data = case.data(tmp_path)
        case.check(validate_upload(case.name, data))
        state = accept_upload(store, pid, case.name, data, LOCAL_USER)
        assert state.upload_name == case.name
        return
    elif isinstance(case, Cli):
        monkeypatch.chdir(tmp_path)
        code = cli.main(case.argv(tmp_path))
        out, err = capsys.readouterr()
        assert code == 2, out + err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert case.message.lower() in err.lower(), err
        assert case.absent is None or case.absent not in err, err
    elif isinstance(case, Zip):
        data = (
            case.entries()
            if callable(case.entries)
            else zip_of(case.entries, symlinks=("link.png",))
        )
        dest = tmp_path / "images"
        with pytest.raises(InputError) as refused:
            extract_images_zip(data, dest, name="images.zip")
        assert case.message.lower() in str(refused.value).lower(), str(refused.value)
        assert not dest.exists() and not list(tmp_path.glob(".extract-*"))
    else:
        with pytest.raises(InputError) as refused:
            labeling.import_csv(store, pid, case.data, "tags.csv", LOCAL_USER)
        assert case.message.lower() in str(refused.value).lower(), str(refused.value)
    assert saved_state(store, pid) == before


def test_too_big_for_memory_in_diagnose_file_gives_no_circular_advice(tmp_path):
    """The exact path behind ``diagnose FILE`` (the scan hands a BOM file to it) does not tell
    the user to run ``diagnose FILE``."""
    path = Path(bom_file(tmp_path)[1])
    with pytest.raises(InputError) as refused:
        scan_split_metrics(path, memory_limit=1000)
    message = str(refused.value)
    assert "convert it to Parquet" in message and "strategy_app diagnose" not in message


def test_catalogue_is_large_enough():
    assert len(CASES) >= 120


MARKUP_NAME = "MD ![t](http://127.0.0.1:9/track.png)"


@pytest.mark.parametrize("page", ["home.py", "diagnose.py", "splits.py", "search.py"])
def test_user_text_is_never_markup(data_dir, page):
    """A project named with a markdown image shows as text on every page (no image to fetch)."""
    store = open_store()
    store.projects.create(MARKUP_NAME)
    store.close()
    at = AppTest.from_file(str(PAGES_DIR / page), default_timeout=60).run()
    assert not at.exception
    shown = [
        e.value for kind in ("markdown", "caption", "error", "info") for e in getattr(at, kind)
    ]
    assert any("track.png" in text for text in shown), shown  # the name is shown…
    markup = re.compile(r"(?<!\\)!\[|(?<!\\)\]\(")  # an image or a link, not escaped
    assert not any(markup.search(text) for text in shown), shown  # …as text

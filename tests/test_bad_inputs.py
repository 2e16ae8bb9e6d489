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
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from diagnostics.images import extract_images_zip
from diagnostics.ingest import split_metrics
from diagnostics.validation import InputError
from strategy_app import cli, labeling
from strategy_app.diagnosis import accept_upload, validate_upload
from strategy_app.store import open_store
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
    """A command line that must exit 2 with one line on stderr containing ``message``."""

    argv: Callable[[Path], list[str]]
    message: str


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


def check_million(pred) -> None:
    assert pred.metric == "error" and len(pred.frame) == 1_000_000
    assert split_metrics(pred)["dev"].value == pytest.approx(0.2)  # dev ids 10 mod 20 miss


def check_one_row(pred) -> None:
    test = split_metrics(pred)["test"]
    assert test.n == 1 and test.value == 0
    assert test.high - test.low > 0.5  # honest: one row says almost nothing


def check_float_classes(pred) -> None:
    assert pred.metric == "error"
    assert set(pred.frame["y_true"].astype(str)) <= {"0", "1", "2"}


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


def with_file(*words: str):
    """An argv builder with a valid predictions file in place of ``FILE``."""

    def build(tmp_path: Path) -> list[str]:
        path = write_predictions(tmp_path / "good.csv", rows_per_split=20)
        return [str(path) if w == "FILE" else w for w in words]

    return build


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
    accept_upload(store, project.id, "good.csv", csv())
    examples = {"id": ["a", "b", "c"], "y_true": ["1"] * 3, "y_pred": ["2"] * 3}
    store.labels.save_sample(project.id, pd.DataFrame(examples), seed=0, stratified=False)
    blurry = store.labels.add_category(project.id, "blurry")
    store.labels.save_edit(project.id, LabelEdit("b", "", add=frozenset({blurry.id})), 0)
    yield store, project.id
    store.close()


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case, project, tmp_path, capsys):
    store, pid = project
    before = saved_state(store, pid)
    if isinstance(case, Upload):
        data = case.data(tmp_path) if callable(case.data) else case.data
        with pytest.raises(InputError) as refused:
            accept_upload(store, pid, case.name, data)
        assert case.message.lower() in str(refused.value).lower(), str(refused.value)
    elif isinstance(case, Accepted):
        data = case.data(tmp_path)
        case.check(validate_upload(case.name, data))
        state = accept_upload(store, pid, case.name, data)
        assert state.upload_name == case.name
        return
    elif isinstance(case, Cli):
        code = cli.main(case.argv(tmp_path))
        out, err = capsys.readouterr()
        assert code == 2, out + err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert case.message.lower() in err.lower(), err
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
            labeling.import_csv(store, pid, case.data, "tags.csv")
        assert case.message.lower() in str(refused.value).lower(), str(refused.value)
    assert saved_state(store, pid) == before


def test_catalogue_is_large_enough():
    assert len(CASES) >= 60

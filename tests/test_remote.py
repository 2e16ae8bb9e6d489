"""Predictions read where they live: a real S3-compatible server and an HTTP server on 127.0.0.1.

The CLI, the notebook API, the DuckDB scan and the exact reader read ``s3://`` and ``https://``
locations by range reads (a diagnosis reads far fewer bytes than the file holds), give the same
numbers as on the local copy, and refuse every failure in one line that names the location and
what to do, never a key or a signature.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from diagnostics import api
from diagnostics.fastscan import scan_split_metrics
from diagnostics.formats import as_file, file_columns
from diagnostics.ingest import read_predictions
from diagnostics.remote import is_remote, shown_location
from diagnostics.validation import InputError
from strategy_app.cli import main
from tests.conftest import write_predictions
from tests.http_files import serve
from tests.s3 import BUCKET, LOCKED, S3Server, start_s3

SECRETS = ("X-Amz-Signature", "topsecret")


@pytest.fixture(scope="session")
def s3() -> S3Server:
    """The tests' S3 server (one for the session)."""
    with start_s3() as server:
        yield server


@pytest.fixture
def team(s3, monkeypatch) -> S3Server:
    """The S3 server, with the standard AWS variables set to the reader's keys."""
    s3.use(monkeypatch, s3.reader)
    return s3


def wide_parquet(path: Path, rows: int, seed: int = 0) -> Path:
    """Predictions with a wide ``input`` column (most of the file's bytes), in row groups."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, rows)
    wrong = rng.random(rows) < 0.1
    text = rng.bytes(rows * 48).hex()  # random: it does not compress
    table = pa.table(
        {
            "id": np.arange(rows),
            "split": np.repeat(["train", "train_dev", "dev", "test"], rows // 4),
            "y_true": labels,
            "y_pred": np.where(wrong, (labels + 1) % 10, labels),
            "input": [text[i * 96 : (i + 1) * 96] for i in range(rows)],
        }
    )
    pq.write_table(table, path, row_group_size=max(rows // 8, 1))
    return path


def refused(capsys, *argv: str) -> str:
    """The CLI's one-line refusal (exit code 2)."""
    assert main(list(argv)) == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0
    return message


def test_locations_are_told_from_paths():
    assert is_remote("s3://bucket/key") and is_remote("https://host/x.csv")
    assert not is_remote("predictions.csv") and not is_remote(Path("s3:/x"))
    assert shown_location("https://user:pw@host:8443/a/b.csv?X-Amz-Signature=abc") == (
        "https://host:8443/a/b.csv"
    )


def reads_as_local(location: str, path: Path, capsys) -> None:
    """The CLI (``diagnose``, ``slices``), the notebook API and the exact reader give the same
    results for ``location`` as for the local file ``path``, its copy."""
    assert main(["diagnose", str(path), "--human", "1%", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["diagnose", location, "--human", "1%", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    assert api.diagnose(location, "1%").to_dict() == expected
    sliced = api.diagnose(location, "1%", slice_column="device").to_dict()
    assert sliced == api.diagnose(path, "1%", slice_column="device").to_dict()
    assert file_columns(location) == file_columns(path)
    exact = read_predictions(location)
    assert exact.source == path.name
    assert exact.frame.equals(read_predictions(path).frame)
    assert api.sample_errors(location, n=5).equals(api.sample_errors(path, n=5))
    assert main(["slices", str(path), "--json"]) == 0
    slices = json.loads(capsys.readouterr().out)
    assert main(["slices", location, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == slices


def predictions_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A CSV predictions file and its Parquet copy."""
    local = write_predictions(tmp_path / "predictions.csv")
    parquet = tmp_path / "predictions.parquet"
    pq.write_table(pa.csv.read_csv(local), parquet)
    return local, parquet


def test_cli_and_api_diagnose_a_remote_file_as_the_local_one(team, tmp_path, capsys):
    for path in predictions_pair(tmp_path):
        reads_as_local(team.put(f"runs/{path.name}", path), path, capsys)


def test_a_large_remote_parquet_file_is_read_by_ranges(team, tmp_path, caplog):
    path = wide_parquet(tmp_path / "wide.parquet", 200_000)
    read_by_ranges(team.put("wide.parquet", path), path, caplog)


def read_by_ranges(location: str, path: Path, caplog) -> None:
    """The scan and the exact reader of ``location``, a copy of the 200k-row
    :func:`wide_parquet` file ``path``, give its numbers and fetch under a fifth of it; the scan
    never falls back to the exact reader (``caplog`` sees no fallback line)."""
    remote = as_file(location)
    with caplog.at_level(logging.DEBUG, logger="diagnostics.fastscan"):
        scan = scan_split_metrics(remote)
    assert not caplog.records  # no fallback to the exact reader
    assert scan.engine == "duckdb" and scan.rows == 200_000
    assert scan.splits == scan_split_metrics(path).splits
    assert 0 < remote.files.bytes_read < remote.size / 5  # the input column is never fetched
    exact = as_file(location)
    predictions = read_predictions(exact, metrics_only=True)
    assert len(predictions.frame) == 200_000
    assert exact.files.bytes_read < exact.size / 5


THREADS = 4
RANGE = 1000


def _reads_after_all_seeks(handle, offsets: list[int]) -> list[bytes]:
    """Threads sharing one open file, as DuckDB's threads share it: each seeks to its own
    offset, all wait until every one has sought, then each reads ``RANGE`` bytes (the worst
    interleaving of DuckDB's seek-then-read, made certain)."""
    all_sought = threading.Barrier(len(offsets))

    def one(offset: int) -> bytes:
        handle.seek(offset)
        all_sought.wait()
        return handle.read(RANGE)

    with ThreadPoolExecutor(len(offsets)) as pool:
        return list(pool.map(one, offsets))


def test_threads_sharing_one_remote_file_each_read_their_own_range(team, tmp_path):
    path = wide_parquet(tmp_path / "wide.parquet", 2000)
    data = path.read_bytes()
    offsets = [i * len(data) // THREADS for i in range(THREADS)]
    with serve(tmp_path) as served:
        for location in (team.put("shared.parquet", path), f"{served.url}/wide.parquet"):
            remote = as_file(location)
            with remote.open() as handle:
                got = _reads_after_all_seeks(handle, offsets)
                assert got == [data[o : o + RANGE] for o in offsets]
                # one thread reading on, with no seek of its own, goes on from the last read
                handle.seek(10)
                assert handle.read(5) == data[10:15]
                with ThreadPoolExecutor(1) as other:
                    assert other.submit(handle.read, 5).result() == data[15:20]
                assert handle.tell() == 20 and handle.read(5) == data[20:25]
            assert remote.files.bytes_read == THREADS * RANGE + 15  # no count lost


def _seek_then_yield(monkeypatch) -> None:
    """Let other threads run between every seek and the read after it (as a loaded machine
    does now and then), so that DuckDB's threads interleave on every range they read."""
    from diagnostics.remote_files import CountedFile

    seek = CountedFile.seek

    def seek_and_yield(self, offset: int, whence: int = 0) -> int:
        position = seek(self, offset, whence)
        time.sleep(0.001)
        return position

    monkeypatch.setattr(CountedFile, "seek", seek_and_yield)


def test_duckdb_scans_a_remote_file_whatever_its_threads_interleave(
    team, tmp_path, monkeypatch, caplog
):
    path = wide_parquet(tmp_path / "wide.parquet", 200_000)
    expected = scan_split_metrics(path).splits
    _seek_then_yield(monkeypatch)
    with serve(tmp_path) as served:
        for location in (team.put("interleaved.parquet", path), f"{served.url}/wide.parquet"):
            with caplog.at_level(logging.DEBUG, logger="diagnostics.fastscan"):
                scan = scan_split_metrics(as_file(location))
            assert not caplog.records  # the fast scan read it: no fallback
            assert scan.engine == "duckdb" and scan.splits == expected


def test_a_fallback_to_the_exact_reader_is_logged(tmp_path, caplog):
    broken = tmp_path / "broken.csv"
    broken.write_text('id,split,y_true,y_pred\n1,dev,0,0\n2,dev,"1,1\n')  # an open quote
    with caplog.at_level(logging.DEBUG, logger="diagnostics.fastscan"), pytest.raises(InputError):
        scan_split_metrics(broken)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and str(broken) in record.getMessage()
    assert "exact reader" in record.getMessage()


def test_https_locations_and_signed_urls_read_by_ranges(tmp_path, capsys, caplog):
    path = wide_parquet(tmp_path / "wide.parquet", 200_000)
    write_predictions(tmp_path / "small.csv")
    with serve(tmp_path) as served:
        signed = f"{served.url}/wide.parquet?X-Amz-Signature=topsecret&X-Amz-Expires=60"
        remote = as_file(signed)
        with caplog.at_level(logging.DEBUG, logger="diagnostics.fastscan"):
            scan = scan_split_metrics(remote)
        assert not caplog.records  # no fallback to the exact reader
        assert scan.engine == "duckdb" and scan.splits == scan_split_metrics(path).splits
        assert served.bytes_sent == remote.files.bytes_read < path.stat().st_size / 5
        csv_location = f"{served.url}/small.csv"
        assert (
            api.diagnose(csv_location).to_dict() == api.diagnose(tmp_path / "small.csv").to_dict()
        )
        message = refused(capsys, "diagnose", f"{served.url}/missing.parquet?X-Amz-Signature=x")
        assert "not found" in message and "missing.parquet" in message
        assert "X-Amz-Signature" not in message


def test_a_network_error_midway_is_one_line(tmp_path, capsys):
    wide_parquet(tmp_path / "wide.parquet", 100_000)
    with serve(tmp_path) as served:
        served.answer_gets = 2  # the footer, then the connection drops
        location = f"{served.url}/wide.parquet?X-Amz-Signature=topsecret"
        message = refused(capsys, "diagnose", location)
    assert message.startswith(f"error: {served.url}/wide.parquet could not be read")
    assert "network error" in message and not any(s in message for s in SECRETS)


@pytest.mark.parametrize(
    ("location", "keys", "expected"),
    [
        (f"s3://{BUCKET}/no/such.parquet", "reader", "predictions file not found"),
        ("s3://desk-dta/predictions.csv", "admin", "not found"),  # a typo in the bucket
        (f"s3://{LOCKED}/predictions.csv", "reader", "access denied"),
        (f"s3://{BUCKET}/predictions.csv", "wrong", "access denied"),
        (f"s3://{BUCKET}/predictions.csv", "none", "access denied"),
        ("ftp://host/predictions.csv", "reader", "unsupported location scheme 'ftp://'"),
        ("az://container/predictions.csv", "reader", "names its storage account"),
    ],
)
def test_remote_refusals_are_one_line_without_credentials(
    s3, monkeypatch, tmp_path, capsys, location, keys, expected
):
    source = write_predictions(tmp_path / "predictions.csv")
    for bucket in (BUCKET, LOCKED):
        s3.put("predictions.csv", source, bucket=bucket)
    s3.use(monkeypatch, s3.admin if keys == "admin" else s3.reader)
    if keys == "wrong":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "topsecret")
    if keys == "none":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    message = refused(capsys, "diagnose", location)
    assert expected in message and location.split("://")[0] in message
    assert not any(secret in message for secret in (*SECRETS, s3.reader.secret_key))
    with pytest.raises(InputError, match=expected.split("'")[0]):
        api.diagnose(location)


def test_no_server_at_the_endpoint_is_a_network_error(team, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    message = refused(capsys, "diagnose", f"s3://{BUCKET}/predictions.csv")
    assert "network error" in message and "AWS_ENDPOINT_URL" in message


def test_diagnose_adds_a_version_from_a_location(team, data_dir, tmp_path):
    from streamlit.testing.v1 import AppTest

    from strategy_app.shell.navigation import PAGES_DIR
    from strategy_app.store import open_store

    store = open_store()
    project = store.projects.create("remote")
    location = team.put("models/v1.csv", write_predictions(tmp_path / "v1.csv"))
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=60).run()
    at.text_input(key=f"location_text_{project.id}").input(f"s3://{BUCKET}/models/missing.csv")
    at.button[[b.label for b in at.button].index("Add version")].click().run()
    assert not at.exception
    assert "predictions file not found: s3://desk-data/models/missing.csv" in at.error[0].value
    assert store.versions.list(project.id) == []
    at.text_input(key=f"location_text_{project.id}").input(location)
    at.button[[b.label for b in at.button].index("Add version")].click().run()
    assert not at.exception and not at.error
    (version,) = store.versions.list(project.id)
    assert version.name == "v1 · v1.csv"
    assert version.origin == {"kind": "location", "location": location}
    assert any("Using **v1.csv**" in c.value for c in at.caption)
    assert any("gap" in d.value.columns for d in at.dataframe)  # the diagnosis is shown


def test_image_flags_of_an_archive_in_object_storage(team, tmp_path, capsys):
    import io
    import zipfile

    from PIL import Image

    archive = tmp_path / "images.zip"
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(archive, "w") as out:
        for i in range(6):
            pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) if i % 2 else None
            image = Image.fromarray(pixels) if pixels is not None else Image.new("RGB", (32, 32))
            png = io.BytesIO()
            image.save(png, format="PNG")
            out.writestr(f"images/dev_{i}.png", png.getvalue())
    location = team.put("images/images.zip", archive)
    assert main(["image-flags", str(archive), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["image-flags", location, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    assert expected["images"] == 6
    message = refused(capsys, "image-flags", f"s3://{BUCKET}/images/missing.zip")
    assert "image archive not found: s3://desk-data/images/missing.zip" in message


def test_compare_two_remote_files_as_the_local_ones(team, tmp_path, capsys):
    import pandas as pd

    before = write_predictions(tmp_path / "v1.csv")
    frame = pd.read_csv(before)
    frame.loc[frame["split"] == "dev", "y_pred"] = frame["y_true"]  # v2 fixes every dev error
    after = tmp_path / "v2.parquet"
    frame.to_parquet(after)
    locations = [team.put(f"cmp/{path.name}", path) for path in (before, after)]
    assert main(["compare", str(before), str(after), "--human", "1%", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["compare", *locations, "--human", "1%", "--json"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert (remote.pop("before"), remote.pop("after")) == tuple(locations)
    assert remote == {k: v for k, v in expected.items() if k not in ("before", "after")}


def test_a_signed_url_leaves_no_signature_in_the_version_or_the_audit(data_dir, tmp_path):
    from strategy_app.auth import LOCAL_USER
    from strategy_app.diagnose.service import accept_location
    from strategy_app.store import open_store

    write_predictions(tmp_path / "v1.csv")
    store = open_store()
    project = store.projects.create("signed")
    with serve(tmp_path) as served:
        signed = f"{served.url}/v1.csv?X-Amz-Signature=topsecret"
        accept_location(store, project.id, signed, LOCAL_USER)
    (version,) = store.versions.list(project.id)
    assert version.origin == {"kind": "location", "location": f"{served.url}/v1.csv"}
    history = store.audit.history(project.id)
    assert history  # the upload is audited, by the file's name
    saved = json.dumps([version.origin, repr(history)])
    assert "topsecret" not in saved and "Signature" not in saved


def _images(folder: Path, count: int = 6) -> dict[str, bytes]:
    """PNG images (some black, some noise) written under ``folder``: relative path → bytes."""
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    images = {}
    for i in range(count):
        pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) if i % 2 else None
        image = Image.fromarray(pixels) if pixels is not None else Image.new("RGB", (32, 32))
        png = io.BytesIO()
        image.save(png, format="PNG")
        relative = f"{'train' if i < 2 else 'dev'}/img_{i}.png"
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(png.getvalue())
        images[relative] = png.getvalue()
    return images


def _put_folder(s3: S3Server, folder: Path, prefix: str) -> str:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.put(f"{prefix}/{path.relative_to(folder).as_posix()}", path)
    return f"s3://{BUCKET}/{prefix}/"


def test_image_flags_of_a_folder_in_object_storage(team, tmp_path, capsys):
    from diagnostics.image_flags import list_images
    from diagnostics.images import read_image_file

    folder = tmp_path / "images"
    images = _images(folder)
    location = _put_folder(team, folder, "pics")
    assert list_images(location) == list_images(folder) == sorted(images)
    assert read_image_file(location, "dev/img_3.png") == images["dev/img_3.png"]
    for argv in ([], ["--training", "train"]):
        assert main(["image-flags", str(folder), *argv, "--json"]) == 0
        expected = json.loads(capsys.readouterr().out)
        assert main(["image-flags", location, *argv, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == expected
    assert expected["images"] == 4 and expected["training"] == 2
    message = refused(capsys, "image-flags", f"s3://{BUCKET}/no-such-folder/")
    assert "no PNG or JPEG images under s3://desk-data/no-such-folder" in message
    message = refused(capsys, "image-flags", f"s3://{LOCKED}/pics/")
    assert "access denied" in message and team.reader.secret_key not in message
    with pytest.raises(InputError, match=r"image not found: s3://desk-data/pics/dev/none\.png"):
        read_image_file(location, "dev/none.png")
    with pytest.raises(InputError, match=r"contains '\.\.'"):
        read_image_file(location, "../secret/img.png")
    with serve(folder) as served:
        message = refused(capsys, "image-flags", f"{served.url}/dev/")
    assert "cannot be listed as a folder" in message


def test_the_built_in_cnn_reads_a_dataset_and_its_images_in_object_storage(team, tmp_path):
    from diagnostics.search.cnn import load_images
    from diagnostics.search.objective import TrialFailure

    folder = tmp_path / "cnn"
    images = _images(folder, 12)
    splits = {"train": "train", "dev": "dev"}
    frame = [
        {"id": i, "split": splits[path.split("/")[0]], "input": path, "label": i % 2}
        for i, path in enumerate(sorted(images))
    ]
    import pandas as pd

    pd.DataFrame(frame).to_csv(folder / "data.csv", index=False)
    location = _put_folder(team, folder, "cnn")
    local = load_images(f"csv:{folder / 'data.csv'}")
    remote = load_images(f"csv:{location}data.csv")
    assert remote.classes == local.classes and remote.ids == local.ids
    for split in ("train", "dev", "test"):
        assert torch_equal(remote.x[split], local.x[split]) and torch_equal(
            remote.y[split], local.y[split]
        )
    pd.DataFrame([*frame[:1], {**frame[1], "input": "dev/none.png"}]).to_csv(
        tmp_path / "missing.csv", index=False
    )
    missing = team.put("cnn/missing.csv", tmp_path / "missing.csv")
    with pytest.raises(TrialFailure, match=r"row 1: the image 'dev/none\.png' cannot be read"):
        load_images(f"csv:{missing}")


def torch_equal(a, b) -> bool:
    """Two tensors of the same shape and values."""
    return a.shape == b.shape and bool((a == b).all())


def test_error_analysis_shows_thumbnails_of_a_folder_in_object_storage(team, data_dir, tmp_path):
    from strategy_app.store import open_store
    from tests.test_images import png_bytes
    from tests.test_labeling import sheet_without_images

    at = sheet_without_images(write_predictions(tmp_path / "predictions.csv"))
    store = open_store()
    assert at.session_state["label_view_1"].images_root is None
    folder = tmp_path / "pics"
    for path in store.labels.snapshot(1).sample.examples["input"]:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(png_bytes())
    location = _put_folder(team, folder, "team-pics")
    at.text_input(key="images_location_text_1").input(f"s3://{BUCKET}/empty/")
    next(b for b in at.button if b.label == "Use this folder").click().run()
    assert "no PNG or JPEG images under s3://desk-data/empty" in at.error[0].value
    assert at.session_state["label_view_1"].images_root is None  # unchanged
    at.text_input(key="images_location_text_1").input(location)
    next(b for b in at.button if b.label == "Use this folder").click().run()
    assert not at.exception and not at.error
    view = at.session_state["label_view_1"]
    assert view.images_root == location
    thumbnails = [str(url).startswith("data:image/png;base64,") for url in view.frame["input"]]
    assert len(thumbnails) == 20 and all(thumbnails)
    (row,) = [c for c in store.audit.history(1) if c.action == "images location"]
    assert row.target == location

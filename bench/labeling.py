"""Benchmarks: sampling 100 dev errors, and the labeling page's rerun time.

1. Sampling 100 dev errors from 10M predictions vs a pandas filter + ``sample``. Both sides
start from the same validated predictions in memory (what the app and the CLI hold
after ingest) and return the same kind of table (id, labels, score of 100 dev errors). The
printed ratio is ours / pandas' (goal ≤ 1.0), the median of several runs in this process.
2. The Error analysis page's rerun in AppTest with a 100-row sample and image thumbnails vs a
   bare page holding only a 100-row ``st.data_editor``, both in this process, rerun in turns
   (goal ≤ 3×; thumbnails are cached, so a rerun decodes no image).
Run: ``python bench/labeling.py [--rows N] [--skip-sampling]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import median_seconds
from diagnostics.errors import sample_errors
from diagnostics.ingest import read_predictions

PAGE_RERUNS = 41  # reruns of each page, in turns
BARE_PAGE = """
import pandas as pd
import streamlit as st
frame = pd.DataFrame({"id": [str(i) for i in range(100)], "tag": [False] * 100})
st.data_editor(frame, key="bare", hide_index=True, num_rows="fixed")
"""


def make_file(rows: int, folder: Path) -> Path:
    """A Parquet predictions file: 10 classes, 1/4 dev, about 10% wrong."""
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, rows)
    wrong = rng.random(rows) < 0.1
    y_pred = np.where(wrong, (y_true + rng.integers(1, 10, rows)) % 10, y_true)
    split = pa.DictionaryArray.from_arrays(
        pa.array(rng.integers(0, 4, rows).astype(np.int32)),
        pa.array(["train", "train_dev", "dev", "test"]),
    )
    table = pa.table(
        {
            "id": np.arange(rows),
            "split": split,
            "y_true": y_true,
            "y_pred": y_pred,
            "score": rng.random(rows),
        }
    )
    path = folder / "predictions.parquet"
    pq.write_table(table, path)
    return path


def page_project(folder: Path) -> None:
    """A data folder whose sample project has 100 dev errors with real PNG inputs, drawn."""
    from PIL import Image

    images = folder / "images"
    images.mkdir()
    lines = ["id,split,y_true,y_pred,score,input"]
    for i in range(400):
        Image.new("L", (64, 64), i % 256).save(images / f"{i}.png")
        split = "dev" if i < 200 else "train"
        wrong = split == "dev" and i < 100
        lines.append(f"{i},{split},{i % 10},{(i + wrong) % 10},0.5,images/{i}.png")
    (folder / "predictions.csv").write_text("\n".join(lines) + "\n")
    os.environ["STRATEGY_DATA_DIR"] = str(folder / "data")
    os.environ["STRATEGY_SAMPLE_PREDICTIONS"] = str(folder / "predictions.csv")


def rerun_seconds(apps: list) -> list[float]:
    """Median seconds of one rerun of each already-run AppTest, the apps rerun in turns (so a
    change in the machine's load falls on all of them alike)."""
    times: list[list[float]] = [[] for _ in apps]
    for _ in range(PAGE_RERUNS):
        for app, runs in zip(apps, times, strict=True):
            start = time.perf_counter()
            app.run()
            runs.append(time.perf_counter() - start)
            assert not app.exception, app.exception
    return [statistics.median(runs) for runs in times]


def page_benchmark() -> None:
    """Time reruns of the Error analysis page (100 rows, thumbnails) and of a bare editor."""
    import streamlit
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory() as folder:
        page_project(Path(folder))
        page = Path(__file__).resolve().parents[1] / "pages" / "error_analysis.py"
        labeling_page = AppTest.from_file(str(page), default_timeout=120).run()
        labeling_page.button(key="draw_1").click().run()
        view = labeling_page.session_state["label_view_1"]
        assert len(view.frame) == 100 and view.frame["input"].notna().all()
        bare_page = AppTest.from_string(BARE_PAGE, default_timeout=120).run()
        ours, bare = rerun_seconds([labeling_page, bare_page])
    version = streamlit.__version__
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"labeling page rerun, 100 rows with thumbnails (AppTest, streamlit {version}); median "
        f"of {PAGE_RERUNS} reruns each, in turns; load average {load} on {os.cpu_count()} cores"
    )
    print(f"  anchor bare page with a 100-row st.data_editor        {bare * 1000:8.1f} ms")
    print(f"  Error analysis page                                   {ours * 1000:8.1f} ms")
    print(f"  ratio page/bare = {ours / bare:.2f} (goal ≤ 3.0)")


def main() -> None:
    """Build the file, load it once, time both samplers and print the ratio; then the page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--skip-sampling", action="store_true")
    arguments = parser.parse_args()
    if not arguments.skip_sampling:
        sampling_benchmark(arguments.rows)
    page_benchmark()


def sampling_benchmark(rows: int) -> None:
    """Time our sampler against pandas' filter + sample and print the ratio."""
    with tempfile.TemporaryDirectory() as folder:
        predictions = read_predictions(make_file(rows, Path(folder)))
    frame = predictions.frame

    def ours():
        return sample_errors(predictions, 100, seed=1)

    def pandas_anchor():
        errors = frame[(frame["split"] == "dev") & (frame["y_true"] != frame["y_pred"])]
        return errors.sample(100, random_state=1)[["id", "y_true", "y_pred", "score"]]

    assert len(ours()) == len(pandas_anchor()) == 100
    mine, anchor = median_seconds(ours), median_seconds(pandas_anchor)
    print(f"labeling: sample 100 dev errors from {rows:,} predictions")
    print(f"  anchor pandas {pd.__version__}: boolean filter + sample   {anchor * 1000:8.1f} ms")
    print(f"  diagnostics.errors.sample_errors                 {mine * 1000:8.1f} ms")
    print(f"  ratio ours/pandas = {mine / anchor:.2f} (goal ≤ 1.0)")


if __name__ == "__main__":
    main()

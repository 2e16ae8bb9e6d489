"""Benchmark: find similar, the spread estimate and the map (issue 29).

Correctness, on planted categories:

- the sample project (``sample_data/predictions.csv`` and its images, embedded by PCA of the
  pixels): the capture conditions recorded per image: ``blur`` ≥ 0.4 px (blurry), ``contrast``
  below its dev median (dim), ``off_centre`` ≥ 0.4 px;
- a generated text project (``tests/text_project.py``, 20,000 reviews, TF-IDF + SVD) with three
  planted kinds of sentence, a quarter of them written like plain sentences.

Figures: nearest-neighbour precision of find similar (the share of the 10 nearest dev errors of
each planted error that are planted too, against the share expected by chance), and how often
the spread estimate's 95% interval covers the true count over 40 seeded samples (100 reviewed
errors for text, 60 of the 101 for the sample project), with how often there was no estimate.

Speed, each a ratio against an anchor run in the same process:

- a similarity query (10 queries) over 1,000,000 rows of 32 dimensions: our exact search and
  our ball tree against scikit-learn ``NearestNeighbors(metric="cosine", algorithm="brute")``
  (fit and queries), the anchor;
- the map of 100,000 dev rows: positions (PCA), the drawn subset and the chart spec, against the
  anchor of the same PCA and chart spec with every point drawn.

Run: ``python bench/similar.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import sys
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as `python bench/similar.py`

import altair as alt
import numpy as np
from sklearn.neighbors import NearestNeighbors

from diagnostics.charts import embedding_map_chart
from diagnostics.embeddings import Embeddings, image_reader
from diagnostics.ingest import read_predictions
from diagnostics.metrics import wilson_interval
from diagnostics.similar import (
    DevEmbeddings,
    NeighbourIndex,
    dev_embeddings,
    drawn_points,
    map_points,
    neighbour_precision,
)
from diagnostics.spread import reduce_features, spread_estimates
from tests.text_project import text_frame

ROOT = Path(__file__).resolve().parents[1] / "sample_data"
SEEDS = 40


def coverage(dev: DevEmbeddings, planted: dict[str, np.ndarray], reviewed: int) -> None:
    """Print, per planted category, how often the interval covers the true count."""
    features = reduce_features(dev.error_vectors())
    n = len(features)
    for name, flags in planted.items():
        truth = int(flags[dev.errors].sum())
        covered = missing = sample_covered = 0
        widths, sample_widths = [], []
        for seed in range(SEEDS):
            mask = np.zeros(n, bool)
            mask[np.random.default_rng(seed).choice(n, min(reviewed, n), replace=False)] = True
            share = flags[dev.errors][mask].mean()
            low, high = (n * v for v in wilson_interval(share, int(mask.sum())))
            sample_covered += low <= truth <= high
            sample_widths.append(high - low)
            (estimate,) = spread_estimates(features, mask, {name: flags[dev.errors]}, seed=seed)
            if estimate.value is None:
                missing += 1
                continue
            covered += estimate.low <= truth <= estimate.high
            widths.append(estimate.high - estimate.low)
        made = SEEDS - missing
        width = f", median width {np.median(widths):.1f}" if widths else ""
        print(
            f"    {name:<12} true {truth:>4}: spread covered {covered}/{made}{width}; no estimate "
            f"{missing}/{SEEDS} | sample share covered {sample_covered}/{SEEDS}, median width "
            f"{np.median(sample_widths):.1f}"
        )


def precision(dev: DevEmbeddings, planted: dict[str, np.ndarray]) -> None:
    """Print find similar's precision at 10 per planted category."""
    for name, flags in planted.items():
        found, chance = neighbour_precision(dev, flags, k=10)
        print(
            f"    {name:<12} precision@10 {found:.2f} (chance {chance:.2f}, {found / chance:.1f}×)"
        )


def sample_project() -> None:
    """The sample's capture conditions as planted categories."""
    predictions = read_predictions(
        ROOT / "predictions.csv", extra_columns=("blur", "contrast", "off_centre")
    )
    dev = dev_embeddings(predictions, image_reader=image_reader(ROOT))
    frame = predictions.frame.iloc[dev.positions]
    contrast = frame["contrast"].to_numpy()
    planted = {
        "blurry": frame["blur"].to_numpy() >= 0.4,
        "dim": contrast < np.median(contrast),
        "off centre": frame["off_centre"].to_numpy() >= 0.4,
    }
    print(f"Sample project: {dev.errors.sum()} dev errors; {dev.embeddings.method}")
    precision(dev, planted)
    coverage(dev, planted, reviewed=60)


def text_project() -> None:
    """The generated text project's planted kinds."""
    predictions = read_predictions(text_frame(20_000, seed=11), extra_columns=("text", "planted"))
    dev = dev_embeddings(predictions)
    kinds = predictions.frame["planted"].iloc[dev.positions].fillna("").to_numpy()
    planted = {kind: kinds == kind for kind in ("sarcasm", "negation", "shipping")}
    print(f"Text project: {dev.errors.sum()} dev errors; {dev.embeddings.method}")
    precision(dev, planted)
    coverage(dev, planted, reviewed=100)


def clustered(rows: int, dims: int = 32, seed: int = 0) -> np.ndarray:
    """Rows around 200 centres (embeddings are clustered, not uniform)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, dims)).astype(np.float32)
    noise = 0.3 * rng.normal(size=(rows, dims)).astype(np.float32)
    return centres[rng.integers(0, 200, rows)] + noise


def query_speed(rows: int = 1_000_000) -> None:
    """10 queries over ``rows`` rows: ours (exact, ball tree) against scikit-learn brute."""
    vectors = clustered(rows)
    queries = vectors[np.random.default_rng(1).integers(0, rows, 10)]

    def anchor() -> list:
        model = NearestNeighbors(n_neighbors=10, metric="cosine", algorithm="brute").fit(vectors)
        return [model.kneighbors(q[None, :])[1][0].tolist() for q in queries]

    def ours(limit: int) -> list:
        index = NeighbourIndex(vectors, exact_limit=limit)
        return [index.query(q, 10)[0].tolist() for q in queries]

    start = time.perf_counter()
    expected = anchor()
    base = time.perf_counter() - start
    print(
        f"Similarity query, {rows:,} rows × 32, 10 queries; anchor scikit-learn "
        f"{version('scikit-learn')} NearestNeighbors brute cosine: {base:.2f} s"
    )
    for name, limit in (("exact (numpy)", rows), ("ball tree", rows - 1)):
        start = time.perf_counter()
        found = ours(limit)
        took = time.perf_counter() - start
        same = sum(a == b for a, b in zip(found, expected, strict=True))
        print(f"    ours, {name:<14} {took:.2f} s = {took / base:.2f}× anchor; same ids {same}/10")
    index = NeighbourIndex(vectors, exact_limit=rows - 1)
    start = time.perf_counter()
    for q in queries:
        index.query(q, 10)
    print(
        f"    ball tree queries alone (built once, as the page caches it): "
        f"{(time.perf_counter() - start) / base:.3f}× anchor"
    )


def map_speed(rows: int = 100_000) -> None:
    """The map of ``rows`` dev rows: ours (PCA, drawn subset, spec) against every point drawn."""
    vectors = clustered(rows, seed=2)
    ids = [f"d{i}" for i in range(rows)]
    errors = np.random.default_rng(3).random(rows) < 0.1
    dev = DevEmbeddings(
        Embeddings(ids, vectors, "file", "generated"), np.arange(rows, dtype=np.intp), errors
    )
    sample = ids[:100]
    alt.data_transformers.disable_max_rows()  # the anchor draws all of them

    def build(draw: bool) -> int:
        points, _ = map_points(dev)
        marked = points.assign(sampled=points["id"].isin(set(sample)))
        shown = drawn_points(marked, keep=sample) if draw else marked
        embedding_map_chart(shown, "outcome", title="map").to_dict()
        return len(shown)

    start = time.perf_counter()
    build(draw=False)
    base = time.perf_counter() - start
    start = time.perf_counter()
    drawn = build(draw=True)
    took = time.perf_counter() - start
    print(
        f"Map, {rows:,} dev rows; anchor every point drawn (PCA + Altair {version('altair')} "
        f"spec): {base:.2f} s"
    )
    print(f"    ours, {drawn:,} drawn: {took:.2f} s = {took / base:.2f}× anchor")


def main() -> None:
    """Run every figure."""
    sample_project()
    text_project()
    map_speed()
    query_speed()


if __name__ == "__main__":
    main()

"""Embeddings (read or computed, bad input refused), find-similar and the spread estimate."""

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import NearestNeighbors

from diagnostics.embeddings import (
    display_text,
    embed,
    embedding_columns,
    image_reader,
    source_columns,
)
from diagnostics.ingest import read_predictions
from diagnostics.similar import (
    NeighbourIndex,
    dev_embeddings,
    drawn_points,
    find_similar,
    ids_in_box,
    map_points,
    map_rows,
    neighbour_precision,
    neighbour_rows,
)
from diagnostics.spread import (
    corrected_prevalence,
    more_precise,
    reduce_features,
    spread_estimates,
    tag_matrix,
)
from diagnostics.validation import InputError
from tests.text_project import text_frame, write_text_project

SAMPLE = "sample_data/predictions.csv"


def frame_with(columns: dict) -> pd.DataFrame:
    return pd.DataFrame(columns)


# -- embeddings -------------------------------------------------------------------------------


def test_embedding_columns_in_index_order_and_gaps_refused():
    assert embedding_columns(
        ["id", "emb_10", "emb_2", "emb_0", "emb_1"] + [f"emb_{i}" for i in range(3, 10)]
    )[:3] == ["emb_0", "emb_1", "emb_2"]
    assert embedding_columns(["embedding", "text"]) == ["embedding"]
    assert embedding_columns(["text"]) == []
    assert source_columns(["id", "text"]) == ("text",)
    with pytest.raises(InputError, match="lack emb_1"):
        embedding_columns(["emb_0", "emb_2"])


def test_file_columns_are_read_and_named():
    frame = frame_with({"emb_0": [1.0, 0.0, 1.0], "emb_1": [0.0, 1.0, 1.0]})
    embeddings = embed(frame, ["a", "b", "c"])
    assert embeddings.kind == "file"
    assert embeddings.method == "read from columns emb_0 … emb_1 of the predictions"
    assert embeddings.vectors.tolist() == [[1, 0], [0, 1], [1, 1]]


def test_list_column_text_and_parquet_lists():
    frame = frame_with({"embedding": ["[1, 0]", "[0, 1]", np.array([1.0, 1.0])]})
    embeddings = embed(frame, ["a", "b", "c"])
    assert embeddings.vectors.tolist() == [[1, 0], [0, 1], [1, 1]]
    assert "'embedding' list column" in embeddings.method


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"embedding": ["[1, 0]", "[0, 1, 2]"]}, "'b' has 3 values, the one of 'a' has 2"),
        ({"embedding": ["[1, 0]", "nope"]}, "'embedding' of example 'b' is not a list"),
        ({"emb_0": [1.0, 2.0], "emb_1": [1.0, None]}, "'b' has 1 of the 2 values"),
        ({"emb_0": [1.0, 2.0], "emb_1": [1.0, "x"]}, "emb_1 of example 'b' is 'x', not a number"),
        ({"emb_0": [1.0, np.inf], "emb_1": [1.0, 2.0]}, "'b' has a missing or infinite value"),
        ({"emb_0": [1.0, 0.0], "emb_1": [1.0, 0.0]}, "'b' is all zeros"),
        ({"emb_0": [1.0, 1.0], "emb_1": [2.0, 2.0]}, "all 2 embeddings are the same vector"),
    ],
)
def test_bad_embeddings_are_one_clear_line(columns, message):
    with pytest.raises(InputError, match=message):
        embed(frame_with(columns), ["a", "b"])


def test_one_example_and_no_source_are_refused():
    with pytest.raises(InputError, match="1 example to embed"):
        embed(frame_with({"emb_0": [1.0]}), ["a"])
    with pytest.raises(InputError, match="no embeddings: add emb_0"):
        embed(frame_with({"y_true": [1, 2]}), ["a", "b"])


def test_more_columns_than_rows_is_a_note_not_an_error():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(4, 10)), columns=[f"emb_{i}" for i in range(10)])
    embeddings = embed(frame, list("abcd"))
    assert embeddings.dimensions == 10
    assert "more columns than rows" in embeddings.notes[0]
    assert reduce_features(embeddings.vectors).shape == (4, 3)


def test_text_is_embedded_with_control_characters_and_html_noted():
    texts = ["good <b>kettle</b>", "bad\x07 lamp", "good lamp", "bad kettle"]
    embeddings = embed(frame_with({"text": texts}), list("abcd"))
    assert embeddings.kind == "text" and "TF-IDF" in embeddings.method
    assert embeddings.notes == [
        "1 texts hold control characters: ignored for similarity",
        "1 texts hold HTML tags: shown as text, never rendered",
    ]
    with pytest.raises(InputError, match="'text' of example 'b' has no word"):
        embed(frame_with({"text": ["good lamp", "!!", "bad lamp"]}), list("abc"))
    with pytest.raises(InputError, match="has no words to compare"):
        embed(frame_with({"text": ["", "?"]}), list("ab"))


def test_display_text_replaces_control_characters_and_folds():
    assert display_text("a\x00b<script>") == "a\ufffdb<script>"
    assert display_text("word " * 100, fold=20) == "word word word word …"
    assert display_text(None) == "" and display_text(float("nan")) == ""


def test_sample_images_are_embedded_by_pca():
    predictions = read_predictions(SAMPLE, metric="error")
    dev = dev_embeddings(predictions, image_reader=image_reader("sample_data"))
    assert dev.embeddings.kind == "image"
    assert dev.embeddings.vectors.shape == (800, 32)
    assert int(dev.errors.sum()) == 101
    assert "PCA" in dev.embeddings.method


def test_a_missing_image_is_named(tmp_path):
    frame = frame_with({"input": ["a.png", "b.png"]})
    with pytest.raises(InputError, match=r"image .a\.png. not found"):
        embed(frame, ["a", "b"], image_reader=image_reader(tmp_path))


# -- find similar -----------------------------------------------------------------------------


def test_exact_and_ball_tree_agree_with_scikit_learn_brute_cosine():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3000, 12)).astype(np.float32)
    query = rng.normal(size=12)
    baseline = NearestNeighbors(n_neighbors=10, metric="cosine", algorithm="brute").fit(vectors)
    distances, positions = baseline.kneighbors(query[None, :])
    for limit in (10**6, 100):  # exact (in chunks) and the ball tree beyond the limit
        index = NeighbourIndex(vectors, exact_limit=limit)
        found, found_distances = index.query(query, 10)
        assert found.tolist() == positions[0].tolist()
        np.testing.assert_allclose(found_distances, distances[0], atol=1e-5)
    assert NeighbourIndex(vectors, exact_limit=100).method == "ball tree"


def test_exact_search_crosses_chunks(monkeypatch):
    import diagnostics.similar as similar

    monkeypatch.setattr(similar, "CHUNK", 7)
    vectors = np.eye(30, dtype=np.float32) + 0.01
    found, _ = NeighbourIndex(vectors).query(vectors[25], 3, exclude=[25])
    assert 25 not in found.tolist() and len(found) == 3


def test_find_similar_lists_other_dev_errors_nearest_first(tmp_path):
    path = write_text_project(tmp_path, rows=1500)
    predictions = read_predictions(path, metric="error", extra_columns=("text", "planted"))
    dev = dev_embeddings(predictions)
    query = dev.error_ids[0]
    ids, distances = find_similar(dev, query, 5)
    assert query not in ids and len(ids) == 5
    assert set(ids) <= set(dev.error_ids)
    assert list(distances) == sorted(distances)
    rows = neighbour_rows(predictions, dev, ids, distances)
    assert set(rows[0]) >= {"id", "distance", "y_true", "y_pred", "text"}
    right = next(i for i, wrong in zip(dev.embeddings.ids, dev.errors, strict=True) if not wrong)
    assert len(find_similar(dev, right, 5)[0]) == 5  # a correct dev example finds errors too
    with pytest.raises(InputError, match="'nope' is not a dev example"):
        find_similar(dev, "nope")


def test_planted_text_categories_are_found_by_their_neighbours():
    frame = text_frame(3000, seed=1)
    predictions = read_predictions(frame, metric="error", extra_columns=("text", "planted"))
    dev = dev_embeddings(predictions)
    planted = predictions.frame["planted"].iloc[dev.positions].fillna("").to_numpy()
    precision, chance = neighbour_precision(dev, planted == "sarcasm", k=5)
    assert precision > 2 * chance


# -- the spread estimate ----------------------------------------------------------------------


def test_corrected_prevalence_and_its_limits():
    assert corrected_prevalence(0.31, 0.8, 0.1) == pytest.approx(0.3)
    assert corrected_prevalence(0.05, 0.8, 0.1) == 0.0
    assert np.isnan(corrected_prevalence(0.3, 0.5, 0.5))
    assert more_precise(10.0, 4.0) == "spread" and more_precise(3.0, 4.0) == "sample"
    assert more_precise(None, 4.0) == ""


def test_spread_estimate_covers_the_planted_count_and_is_seeded():
    frame = text_frame(4000, seed=2)
    predictions = read_predictions(frame, metric="error", extra_columns=("text", "planted"))
    dev = dev_embeddings(predictions)
    features = reduce_features(dev.error_vectors())
    planted = predictions.frame["planted"].iloc[dev.positions].fillna("").to_numpy()[dev.errors]
    rng = np.random.default_rng(0)
    reviewed = np.zeros(len(features), bool)
    reviewed[rng.choice(len(features), 100, replace=False)] = True
    tags = {kind: planted == kind for kind in ("sarcasm", "negation", "shipping")}
    estimates = spread_estimates(features, reviewed, tags, seed=0)
    again = spread_estimates(features, reviewed, tags, seed=0)
    assert [e.to_dict() for e in estimates] == [e.to_dict() for e in again]
    for estimate in estimates:
        truth = int(tags[estimate.category].sum())
        assert estimate.low <= truth <= estimate.high, estimate
        assert estimate.tagged == int((tags[estimate.category] & reviewed).sum())
        assert 0 < estimate.recall <= 1 and estimate.reviewed == 100


def test_spread_gives_reasons_instead_of_numbers():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 4))
    reviewed = np.arange(60) < 40
    few = np.zeros(60, bool)
    few[:2] = True
    noise = rng.random(60) < 0.4
    rows = spread_estimates(features, reviewed, {"few": few, "noise": noise}, seed=0)
    assert rows[0].value is None and "at least 3 tagged" in rows[0].reason
    assert rows[1].value is None and "barely better than chance" in rows[1].reason
    everything = spread_estimates(features, np.ones(60, bool), {"noise": noise})[0]
    assert everything.value == everything.low == everything.high == int(noise.sum())
    with pytest.raises(InputError, match="one 'reviewed' flag"):
        spread_estimates(features, reviewed[:5], {"few": few})


def test_tag_matrix():
    matrix = tag_matrix(["a", "b", "c"], {"a": {"x"}, "c": {"x", "y"}}, ["x", "y", "z"])
    assert matrix["x"].tolist() == [True, False, True]
    assert matrix["y"].tolist() == [False, False, True]
    assert not matrix["z"].any()


# -- the map ----------------------------------------------------------------------------------


def test_map_points_downsample_for_drawing_never_for_counting():
    predictions = read_predictions(text_frame(2000, seed=3), extra_columns=("text",))
    dev = dev_embeddings(predictions)
    points, method = map_points(dev)
    assert method == "PCA" and len(points) == len(dev.embeddings.ids)
    assert (points["outcome"] == "error").sum() == dev.errors.sum()
    keep = points["id"].iloc[:30].tolist()
    drawn = drawn_points(points, keep=keep, limit=100)
    assert len(drawn) == 100 and set(keep) <= set(drawn["id"])
    assert drawn_points(points, limit=10_000) is points
    box = ids_in_box(drawn, [drawn.x.min(), drawn.x.max()], [drawn.y.max(), drawn.y.min()])
    everything = ids_in_box(
        points, [points.x.min(), points.x.max()], [points.y.min(), points.y.max()]
    )
    assert len(box) <= len(everything) == len(points)  # a box counts every point, drawn or not


def test_the_map_with_train_embeds_both_splits_together_and_counts_dev_only():
    frame = text_frame(2000, seed=3)
    predictions = read_predictions(frame, extra_columns=("text",))
    rows = map_rows(predictions)
    splits = frame["split"].astype(str)
    assert len(rows.embeddings.ids) == int(splits.isin(["dev", "train"]).sum())
    chosen = frame[splits.isin(["dev", "train"])]
    assert rows.split.tolist() == chosen["split"].astype(str).tolist()
    assert rows.wrong.tolist() == (chosen["y_true"] != chosen["y_pred"]).tolist()
    points, _ = map_points(rows)
    assert points["split"].value_counts().to_dict() == chosen["split"].value_counts().to_dict()
    dev = points[points["split"] == "dev"]
    whole = ids_in_box(points, [points.x.min(), points.x.max()], [points.y.min(), points.y.max()])
    assert sorted(whole) == sorted(dev["id"])  # train points are drawn, never counted
    a_train_id = points.loc[points["split"] == "train", "id"].iloc[0]
    drawn = drawn_points(points, keep=[a_train_id, dev["id"].iloc[0]], limit=50)
    kept = drawn[drawn["id"].isin([a_train_id, dev["id"].iloc[0]])]
    assert dev["id"].iloc[0] in set(kept["id"]) and len(drawn) == 50
    only_dev, _ = map_points(dev_embeddings(predictions))
    assert set(only_dev["split"]) == {"dev"}


def test_embeddings_and_text_are_not_slice_columns():
    from diagnostics.slices import standard_column

    assert all(standard_column(n) for n in ("emb_0", "emb_12", "embedding", "text"))
    assert not any(standard_column(n) for n in ("device", "emb_x", "blur"))

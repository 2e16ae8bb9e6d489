"""A generated text-classification project with planted error categories (tests and bench).

Reviews of products, labelled positive or negative. Three kinds of sentence are planted, each
written in its own words, and the model gets them wrong far more often than the plain ones:
``sarcasm`` ("oh great, another …"), ``negation`` ("not … at all") and ``shipping`` (about the
delivery, not the product). The file's ``planted`` column names each row's kind (empty for plain
rows), so the truth is known. A share :data:`HIDDEN` of the planted rows is written like a plain
one (the kind leaves no trace in the words), so no classifier over the text finds them all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PRODUCTS = ("kettle", "lamp", "chair", "phone case", "backpack", "blender", "desk", "jacket")
GOOD = ("lovely", "sturdy", "excellent", "well made", "comfortable", "reliable", "handy")
BAD = ("flimsy", "noisy", "broken", "useless", "cheap feeling", "disappointing", "awkward")
PLANTED = {
    "sarcasm": (
        "oh great, another {product} that is {word}, just what I always wanted",
        "wow, a {word} {product}, truly the highlight of my year, thanks so much",
    ),
    "negation": (
        "the {product} is not {word} at all, not even a little",
        "I would never call this {product} {word}, not at all",
    ),
    "shipping": (
        "the courier left the parcel with the {product} in the rain, delivery took three weeks",
        "tracking number never updated and the box for the {product} arrived crushed by the post",
    ),
}
PLAIN = (
    "this {product} is {word} and I use it every day",
    "a {word} {product}, I would buy it again",
    "my new {product} feels {word}",
)
ERROR_RATE = {"": 0.06, "sarcasm": 0.85, "negation": 0.75, "shipping": 0.6}
HIDDEN = 0.25
SHARES = {"sarcasm": 0.04, "negation": 0.05, "shipping": 0.04}


def text_frame(rows: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The project's predictions: id, split, y_true, y_pred, score, text, planted."""
    rng = np.random.default_rng(seed)
    split = rng.choice(["train", "dev", "test"], size=rows, p=[0.6, 0.25, 0.15])
    kinds = rng.choice(["", *SHARES], size=rows, p=[1 - sum(SHARES.values()), *SHARES.values()])
    y_true = rng.integers(0, 2, rows)
    texts = []
    for kind, label in zip(kinds, y_true, strict=True):
        word = rng.choice(GOOD if label else BAD)
        hidden = not kind or rng.random() < HIDDEN
        template = rng.choice(PLAIN if hidden else PLANTED[kind])
        texts.append(template.format(product=rng.choice(PRODUCTS), word=word))
    wrong = rng.random(rows) < np.array([ERROR_RATE[k] for k in kinds])
    y_pred = np.where(wrong, 1 - y_true, y_true)
    labels = np.array(["negative", "positive"])
    return pd.DataFrame(
        {
            "id": [f"r{i:06d}" for i in range(rows)],
            "split": split,
            "y_true": labels[y_true],
            "y_pred": labels[y_pred],
            "score": np.round(rng.uniform(0.5, 1.0, rows), 4),
            "text": texts,
            "planted": kinds,
        }
    )


def write_text_project(folder: Path, rows: int = 2000, seed: int = 0) -> Path:
    """Write :func:`text_frame` as ``folder/text_predictions.csv``; returns the path."""
    path = Path(folder) / "text_predictions.csv"
    text_frame(rows, seed).to_csv(path, index=False)
    return path

"""Build the demo files in this folder, deterministically, from data that ships offline.

Run ``python sample_data/make_samples.py`` from the repository root; it rewrites
``predictions.csv``, ``dataset.csv``, ``images/`` and ``regression.csv`` byte for byte the same
on every run.

- ``predictions.csv``: a digit classifier trained on clean "web" digits and evaluated on
  "phone photos" of other digits (blurred, shifted, dimmer, noisy): a real data mismatch.
- ``dataset.csv``: what a search trains on: the same ids and splits, the label and the 64 pixels
  the classifier saw (phone photos for dev/test), to 4 decimals.
- ``images/*.png``: the train-dev, dev and test digits as 32x32 greyscale PNGs.
- ``regression.csv``: a house-price model (₹) trained on three cities and used in a fourth.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
SEED = 20240607
PHOTOS_PER_DIGIT = 4  # each handwritten digit is captured four times (four crops or photos)
IMAGE_SIZE = 32
# Disjoint sets of handwritten digits per split, so no digit leaks from training into evaluation.
DIGITS_PER_SPLIT = {"train": 1150, "train_dev": 250, "dev": 200, "test": 197}
# Images are written for the evaluation splits (what error analysis and labeling look at);
# training rows keep an empty ``input`` so the folder stays small.
SPLITS_WITH_IMAGES = ("train_dev", "dev", "test")
PIXEL_DECIMALS = 4  # the classifier predicts the same class on every row from these pixels


def web_image(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A clean web image: a sub-pixel crop offset and a slight change of contrast."""
    shifted = ndimage.shift(image, rng.uniform(-0.3, 0.3, size=2), order=1)
    return np.clip(shifted * rng.uniform(0.9, 1.0), 0.0, 1.0)


def phone_image(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone photo of the same digit: out of focus, off centre, dim, grainy."""
    blurred = ndimage.gaussian_filter(image, rng.uniform(0.25, 0.5))
    shifted = ndimage.shift(blurred, rng.uniform(-0.6, 0.6, size=2), order=1)
    dim = shifted * rng.uniform(0.7, 0.95) + rng.uniform(0.0, 0.08)
    return np.clip(dim + rng.normal(0.0, 0.05, size=image.shape), 0.0, 1.0)


def digit_rows(rng: np.random.Generator) -> pd.DataFrame:
    """One row per captured digit: split, device, label and the 8x8 image (values 0..1)."""
    digits = load_digits()
    order = rng.permutation(len(digits.target))
    starts = np.cumsum([0, *DIGITS_PER_SPLIT.values()])
    rows = []
    for (split, count), start in zip(DIGITS_PER_SPLIT.items(), starts[:-1], strict=True):
        device = "web" if split in ("train", "train_dev") else "phone"
        for index in order[start : start + count]:
            capture = phone_image if device == "phone" else web_image
            source = digits.images[index] / 16.0
            for _ in range(PHOTOS_PER_DIGIT):
                rows.append((split, device, int(digits.target[index]), capture(source, rng)))
    frame = pd.DataFrame(rows, columns=["split", "device", "y_true", "pixels"])
    number = frame.groupby("split").cumcount().map("{:05d}".format)
    frame["id"] = frame["split"] + "_" + number
    return frame


def write_image(pixels: np.ndarray, path: Path) -> None:
    """Save an 8x8 image (0..1, ink bright) as a dark-on-white 32x32 greyscale PNG."""
    grey = np.round(255 * (1.0 - pixels)).astype(np.uint8)
    image = Image.fromarray(grey, mode="L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.NEAREST)
    image.save(path, optimize=True)


def pixel_features(frame: pd.DataFrame) -> np.ndarray:
    """The 64 pixels of each row's image, one row per capture."""
    return np.stack(frame["pixels"].to_numpy()).reshape(len(frame), -1)


def make_digit_predictions(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train the digit classifier on the training rows and predict every row.

    Returns the predictions and the dataset (:func:`digit_dataset`) they were made from.
    """
    frame = digit_rows(rng)
    features = pixel_features(frame)
    training = (frame["split"] == "train").to_numpy()
    model = LogisticRegression(C=2.0, max_iter=5000)
    model.fit(features[training], frame["y_true"][training])
    probabilities = model.predict_proba(features)
    frame["y_pred"] = model.classes_[probabilities.argmax(axis=1)]
    frame["score"] = probabilities.max(axis=1).round(4)
    with_image = frame["split"].isin(SPLITS_WITH_IMAGES)
    frame["input"] = ("images/" + frame["id"] + ".png").where(with_image, "")
    images = HERE / "images"
    shutil.rmtree(images, ignore_errors=True)
    images.mkdir()
    for name, pixels in zip(frame["id"][with_image], frame["pixels"][with_image], strict=True):
        write_image(pixels, images / f"{name}.png")
    rounded = features.round(PIXEL_DECIMALS)
    changed = int(np.count_nonzero(model.predict(rounded) != frame["y_pred"].to_numpy()))
    if changed:
        raise RuntimeError(f"{changed} predictions differ on pixels rounded to {PIXEL_DECIMALS}")
    columns = ["id", "split", "y_true", "y_pred", "score", "input", "device"]
    return frame[columns], digit_dataset(frame, rounded)


def digit_dataset(frame: pd.DataFrame, pixels: np.ndarray) -> pd.DataFrame:
    """The search's dataset: id, split, label and the pixel features, row for row."""
    dataset = pd.DataFrame(pixels, columns=[f"pixel_{i}" for i in range(pixels.shape[1])])
    dataset.insert(0, "label", frame["y_true"].to_numpy())
    dataset.insert(0, "split", frame["split"].to_numpy())
    dataset.insert(0, "id", frame["id"].to_numpy())
    return dataset


CITIES = {
    # city: (₹ per square foot, share of rows); Mumbai is the target market, priced differently
    "Pune": (7_500, 0.35),
    "Bengaluru": (8_500, 0.35),
    "Hyderabad": (6_800, 0.30),
}
TARGET_CITY, TARGET_RATE = "Mumbai", 12_000
REGRESSION_ROWS = {"train": 3000, "train_dev": 600, "dev": 600, "test": 600}
TARGET_ROWS_IN_TRAINING = {"train": 60, "train_dev": 12}


def house_prices(rng: np.random.Generator) -> pd.DataFrame:
    """Synthetic flats: area, bedrooms, age and city, and their price in rupees."""
    rows = []
    for split, count in REGRESSION_ROWS.items():
        target = TARGET_ROWS_IN_TRAINING.get(split, count)
        names = list(CITIES)
        shares = [share for _, share in CITIES.values()]
        cities = [TARGET_CITY] * target + list(rng.choice(names, size=count - target, p=shares))
        for city in cities:
            rows.append((split, city))
    frame = pd.DataFrame(rows, columns=["split", "city"])
    n = len(frame)
    frame["area_sqft"] = np.round(rng.lognormal(np.log(1000), 0.35, n), -1)
    frame["bedrooms"] = np.clip(np.round(frame["area_sqft"] / 450 + rng.normal(0, 0.6, n)), 1, 5)
    frame["age_years"] = rng.integers(0, 30, n)
    rates = frame["city"].map({c: r for c, (r, _) in CITIES.items()} | {TARGET_CITY: TARGET_RATE})
    price = rates * frame["area_sqft"] * (1 - 0.012 * frame["age_years"])
    price *= 1 + 0.04 * (frame["bedrooms"] - 2)
    frame["y_true"] = np.round(price * rng.lognormal(0, 0.12, n), -3).astype(np.int64)
    return frame


def make_regression(rng: np.random.Generator) -> pd.DataFrame:
    """Train a price model on the training rows and predict every row (MAE in ₹)."""
    frame = house_prices(rng)
    city_code = frame["city"].map({city: i for i, city in enumerate([*CITIES, TARGET_CITY])})
    features = np.column_stack([frame[["area_sqft", "bedrooms", "age_years"]], city_code])
    training = (frame["split"] == "train").to_numpy()
    model = HistGradientBoostingRegressor(
        max_iter=200, max_leaf_nodes=31, categorical_features=[3], random_state=0
    )
    model.fit(features[training], frame["y_true"][training])
    frame["y_pred"] = model.predict(features).round(2)
    frame["id"] = [f"h{i:05d}" for i in range(len(frame))]
    return frame[["split", "y_true", "y_pred", "id", "city"]]


def main() -> None:
    """Write predictions.csv, dataset.csv, images/ and regression.csv next to this script."""
    rng = np.random.default_rng(SEED)
    predictions, dataset = make_digit_predictions(rng)
    predictions.to_csv(HERE / "predictions.csv", index=False)
    dataset.to_csv(HERE / "dataset.csv", index=False, float_format="%g")
    make_regression(rng).to_csv(HERE / "regression.csv", index=False)


if __name__ == "__main__":
    main()

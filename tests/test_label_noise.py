"""Label noise per split: planted flips found, no flood under shift, CLI and refusals."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from diagnostics.label_issues import read_features
from diagnostics.label_noise import UNMEASURED_SHIFT, estimate_label_noise
from diagnostics.validation import InputError
from strategy_app.cli import main
from tests.test_label_issues import digit_probabilities, flipped_digits


def _planted(seed: int = 0):
    """Dev's given labels (5% flipped), the file's probabilities, dev's features, the flips."""
    train, probabilities = digit_probabilities(seed)
    digits = load_digits()
    dev = np.setdiff1d(np.arange(len(digits.target)), train)
    rng = np.random.default_rng(seed + 1)
    given = digits.target[dev].copy()
    flips = rng.choice(len(dev), size=round(0.05 * len(dev)), replace=False)
    for i in flips:
        given[i] = (given[i] + rng.integers(1, 10)) % 10
    return given, probabilities[dev], digits.data[dev] / 16, set(flips.tolist())


def test_planted_noise_without_shift_is_estimated_and_offered_precisely():
    given, probabilities, _, flips = _planted()
    found = estimate_label_noise("dev", given, probabilities, shift=False, draws=50)
    assert found is not None and found.reliable and found.offered
    assert found.low <= 0.05 <= found.high
    assert found.low <= found.share <= found.high
    hits = set(found.flagged) & flips
    assert len(hits) / len(found.flagged) >= 0.5 and len(hits) / len(flips) >= 0.5
    assert (
        found.band_text() == f"up to {found.high * 100:.1f} points of this error may be label error"
    )


def test_under_shift_without_features_nothing_is_offered():
    given, probabilities, _, _ = _planted()
    found = estimate_label_noise("dev", given, probabilities, shift=True, draws=20)
    assert found is not None and not found.reliable and not found.offered
    assert "unreliable under distribution shift" in found.note
    data = found.to_dict(["x"])
    assert data["likely_mislabeled"] is None and data["flagged"] is None


def test_under_shift_with_features_the_split_is_cross_validated():
    given, probabilities, features, flips = _planted()
    found = estimate_label_noise(
        "dev", given, probabilities, features=features, shift=True, draws=20
    )
    assert found is not None and found.reliable and found.offered
    assert "cross-validated" in found.probabilities
    hits = set(found.flagged) & flips
    assert len(hits) / len(found.flagged) >= 0.5


def test_unmeasured_shift_is_said_and_no_probabilities_means_no_estimate():
    given, probabilities, _, _ = _planted()
    found = estimate_label_noise("dev", given, probabilities, shift=None, draws=10)
    assert found is not None and found.note == UNMEASURED_SHIFT and found.offered
    assert estimate_label_noise("dev", given, None, shift=False) is None


def test_cli_label_noise_per_split_with_annotations(tmp_path, capsys):
    path, _ = flipped_digits(tmp_path / "p.csv")
    frame = pd.read_csv(path)
    dev = frame[frame["split"] == "dev"].head(60)
    rows = [(i, who, t) for i, t in zip(dev["id"], dev["y_true"], strict=True) for who in "ab"]
    annotations = tmp_path / "a.csv"
    pd.DataFrame(rows, columns=["id", "annotator", "label"]).to_csv(annotations, index=False)
    assert main(["diagnose", str(path), "--annotations", str(annotations), "--json"]) == 0
    noise = json.loads(capsys.readouterr().out)["label_noise"]
    assert set(noise) == {"dev"}
    assert set(noise["dev"]) >= {"share", "interval", "band", "reliable", "likely_mislabeled"}
    assert noise["dev"]["note"] == UNMEASURED_SHIFT  # no train-dev level in this file


def test_features_file_is_checked(tmp_path, capsys):
    bad = tmp_path / "f.csv"
    bad.write_text("name,x\na,1\n")
    with pytest.raises(InputError, match=r"f\.csv has no id column"):
        read_features(bad)
    bad.write_text("id,x,y\n1,1,\n")
    with pytest.raises(InputError, match=r"f\.csv, column 'y', row 1: empty"):
        read_features(bad)
    bad.write_text("id,x\n1,2\n")
    assert main(["diagnose", "--dev", "5%", "--features", str(bad)]) == 2
    path, _ = flipped_digits(tmp_path / "p.csv")
    assert main(["diagnose", str(path), "--features", str(bad)]) == 2
    assert "--features is for the label noise of --annotations" in capsys.readouterr().err

"""Image flags on the sample digits and their blurred, darkened, lightened and blank copies."""

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from diagnostics.image_flags import flag_image_folder, flag_images, near_duplicates
from diagnostics.validation import InputError
from strategy_app.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "images"
ORIGINALS = [f"dev_{4 * k:05d}.png" for k in range(12)]  # one capture of 12 different digits


def altered(image: Image.Image, how: str) -> Image.Image:
    """A copy of a digit: blurred, darkened, washed out or blanked."""
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    if how == "blurred":
        return image.filter(ImageFilter.GaussianBlur(1.5))
    if how == "dark":
        return Image.fromarray(np.uint8(grey * 0.3))
    if how == "light":
        return Image.fromarray(np.uint8(220 + grey * 35 / 255))
    return Image.fromarray(np.full_like(grey, 200, dtype=np.uint8))  # blank


@pytest.fixture
def folder(tmp_path) -> Path:
    """Originals, one altered copy per kind, and an exact copy of the first original."""
    out = tmp_path / "images"
    out.mkdir()
    for name in ORIGINALS:
        shutil.copy(SAMPLE / name, out / name)
    for k, how in enumerate(("blurred", "dark", "light", "blank")):
        altered(Image.open(SAMPLE / ORIGINALS[k + 1]), how).save(out / f"{how}.png")
    shutil.copy(SAMPLE / ORIGINALS[0], out / "copy.png")
    return out


def test_altered_copies_are_flagged_and_originals_are_not(folder):
    flags = flag_images(folder)
    by_path = {r.path: r for r in flags.images}
    assert "blurry" in by_path["blurred.png"].flags
    assert "dark" in by_path["dark.png"].flags
    assert "light" in by_path["light.png"].flags
    assert "low_information" in by_path["blank.png"].flags
    assert by_path["copy.png"].duplicates == [ORIGINALS[0]]
    assert by_path[ORIGINALS[0]].duplicates == ["copy.png"]
    # brightness and contrast do not hide a copy: the dark and light ones duplicate their source
    assert by_path["dark.png"].duplicates == [ORIGINALS[2]]
    assert by_path["light.png"].duplicates == [ORIGINALS[3]]
    assert "near_duplicate" not in by_path["blank.png"].flags
    for name in ORIGINALS[4:]:
        assert by_path[name].flags == [], name
    assert "dHash" in flags.method


def test_sample_digits_are_not_blurry_dark_light_or_blank():
    counts = flag_images(SAMPLE, sorted(p.name for p in SAMPLE.glob("dev_*.png"))).counts()
    assert counts["blurry"] == counts["dark"] == counts["light"] == 0
    assert counts["low_information"] == 0


def test_a_near_duplicate_of_a_training_image(folder):
    training = folder / "train"
    training.mkdir()
    moved = Image.open(SAMPLE / ORIGINALS[5])
    moved.point(lambda v: min(255, v + 10)).save(training / "t.png")  # a brighter copy
    flags = flag_image_folder(folder, training_prefix="train")
    assert flags.training == 1
    report = next(r for r in flags.images if r.path == ORIGINALS[5])
    assert report.duplicates == ["train/t.png"] and "near_duplicate" in report.flags
    assert all(not r.path.startswith("train/") for r in flags.images)


def test_near_duplicate_pairs_by_hamming_distance():
    hashes = np.array([0, 0b111, 0xFFFF, 1], dtype=np.uint64)
    assert near_duplicates(hashes, distance=1) == [(0, 3)]
    assert near_duplicates(hashes[:1], hashes[1:], distance=3) == [(0, 0), (0, 2)]


def test_cli_folder_and_zip(folder, tmp_path, capsys):
    assert main(["image-flags", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["images"] == 17 and data["counts"]["blurry"] >= 1
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in folder.iterdir():
            handle.write(path, path.name)
    assert main(["image-flags", str(archive)]) == 0
    assert "17 images:" in capsys.readouterr().out


def test_bad_inputs(tmp_path, capsys, folder):
    assert main(["image-flags", str(tmp_path / "none")]) == 2
    assert "no such folder or zip archive" in capsys.readouterr().err
    (folder / "fake.png").write_text("<svg></svg>")
    with pytest.raises(InputError, match=r"fake\.png: not a PNG or JPEG file"):
        flag_images(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no PNG or JPEG images"):
        flag_images(empty)
    with pytest.raises(InputError, match=r"contains '\.\.'"):
        flag_image_folder(empty, training_prefix="../x")

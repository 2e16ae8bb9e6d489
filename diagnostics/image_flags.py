"""Image flags: blurry, too dark or light, low information, near-duplicates (suggestions only).

A few lines of Pillow and NumPy on each image's greyscale, shrunk to at most
:data:`WORKING_SIZE` pixels a side (so scores do not depend on the camera's resolution):

- blurry: the variance of the Laplacian relative to the variance of the image (a sharp edge
  keeps high frequencies; blur removes them). Unitless, so a dim image is not called blurry.
- too dark: even the brightest pixels are dim (99th brightness percentile below a threshold);
  too light: even the darkest pixels are bright (5th percentile above one).
- low information: the Shannon entropy of the 256-level histogram, in bits (a blank or nearly
  uniform image has almost none).
- near-duplicates: a 64-bit difference hash (dHash: the greyscale at 9×8, each bit whether a
  pixel is brighter than its right neighbour) finds candidate pairs within
  :data:`HASH_DISTANCE` bits; a pair is kept when the two 16×16 greyscale thumbnails also
  correlate at ``duplicate_correlation`` or more (a small-image distance that ignores brightness
  and contrast). Pairs are found among the images and against training images.

Images are read through :func:`diagnostics.images.read_image_file` (paths kept inside the
folder, PNG/JPEG checked by content, decompression bombs refused). The thresholds were set on
the sample digits and their blurred, darkened and blanked copies (``tests/test_image_flags.py``);
they are arguments, not constants, so a project can tune them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from diagnostics.images import image_location, open_checked, read_image_file, resolve_inside
from diagnostics.remote import is_remote, shown_location
from diagnostics.validation import InputError

WORKING_SIZE = 128
HASH_DISTANCE = 4
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FLAGS = ("blurry", "dark", "light", "low_information", "near_duplicate")
PAIR_BLOCK = 2048


@dataclass(frozen=True)
class Thresholds:
    """Where each flag starts (see the module docstring for the scores)."""

    sharpness: float = 0.1
    dark: float = 0.35
    light: float = 0.85
    entropy: float = 2.0
    hash_distance: int = HASH_DISTANCE
    duplicate_correlation: float = 0.97


METHOD = (
    "Pillow/NumPy on the greyscale at ≤128 px: blurry = var(Laplacian)/var(image) < {sharpness}; "
    "dark = 99th brightness percentile < {dark}; light = 5th percentile > {light}; "
    "low information = histogram entropy < {entropy} bits; near-duplicate = 64-bit dHash within "
    "{hash_distance} bits and 16×16 thumbnails correlated ≥ {duplicate_correlation}"
)


@dataclass
class ImageReport:
    """One image's scores and flags."""

    path: str
    sharpness: float
    brightness_high: float
    brightness_low: float
    entropy: float
    hash: int
    thumbnail: np.ndarray = field(repr=False)
    flags: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The JSON form (the hash as 16 hex digits)."""
        data: dict[str, object] = {k: v for k, v in vars(self).items() if k != "thumbnail"}
        data["hash"] = f"{self.hash:016x}"
        return data


@dataclass
class ImageFlags:
    """The reports of a folder's images, flagged ones first."""

    images: list[ImageReport]
    thresholds: Thresholds
    training: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)  # path → why (skip_unreadable)

    @property
    def method(self) -> str:
        """The scores and thresholds, in words."""
        return METHOD.format(**asdict(self.thresholds))

    def counts(self) -> dict[str, int]:
        """How many images carry each flag."""
        return {flag: sum(flag in r.flags for r in self.images) for flag in FLAGS}

    def flagged(self) -> list[ImageReport]:
        """The images with at least one flag."""
        return [r for r in self.images if r.flags]

    def to_dict(self) -> dict[str, object]:
        """The JSON form of ``image-flags --json``."""
        return {
            "images": len(self.images),
            "training": self.training,
            "counts": self.counts(),
            "method": self.method,
            "flagged": [r.to_dict() for r in self.flagged()],
            "unreadable": dict(self.unreadable),
        }


def luminance(image: Image.Image) -> Image.Image:
    """The image as 8-bit greyscale ("L"); 16-bit greyscale (PNG's ``I;16``/``I``) is scaled
    from 0..65535, not clipped at 255 (which made every 16-bit image dark and flat)."""
    if image.mode.startswith("I"):
        wide = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.round(np.clip(wide, 0, 65535) / 257).astype(np.uint8), "L")
    return image.convert("L")


def greyscale(image: Image.Image, size: int = WORKING_SIZE) -> np.ndarray:
    """The image as greyscale values 0..1, shrunk to at most ``size`` pixels a side."""
    image = luminance(ImageOps.exif_transpose(image))
    if max(image.size) > size:
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.float64) / 255.0


def sharpness(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian over the variance of the image (0 when flat)."""
    if min(grey.shape) < 3:
        return 0.0
    laplacian = (
        grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    )
    variance = grey.var()
    return float(laplacian.var() / variance) if variance > 1e-12 else 0.0


def histogram_scores(grey: np.ndarray) -> tuple[float, float, float]:
    """From the 256-level histogram: entropy in bits, 5th and 99th brightness percentiles."""
    counts = np.bincount(np.round(grey * 255).astype(np.int64).ravel(), minlength=256)
    shares = counts[counts > 0] / grey.size
    entropy = float(-(shares * np.log2(shares)).sum())
    cumulative = np.cumsum(counts) / grey.size
    low, high = (int(np.searchsorted(cumulative, q)) / 255 for q in (0.05, 0.99))
    return entropy, low, high


def difference_hash(image: Image.Image) -> int:
    """64-bit dHash: greyscale at 9×8, one bit per pixel brighter than its right neighbour."""
    small = np.asarray(luminance(image).resize((9, 8), Image.Resampling.BOX), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def thumbnail_vector(image: Image.Image) -> npt.NDArray[np.float32]:
    """The 16×16 greyscale, centred and scaled to unit length (zero for a flat image)."""
    small = np.asarray(luminance(image).resize((16, 16), Image.Resampling.BOX), np.float64)
    centred = (small - small.mean()).ravel()
    norm = np.linalg.norm(centred)
    vector: npt.NDArray[np.float64] = centred / norm if norm > 0 else centred
    return vector.astype(np.float32)


def score_image(data: bytes, name: str) -> ImageReport:
    """The scores of one image's checked bytes (flags are set by :func:`flag_images`)."""
    image = open_checked(data, name)
    try:
        grey = greyscale(image)
        digest = difference_hash(image)
        thumbnail = thumbnail_vector(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{name}: damaged image ({exc})") from None
    entropy, low, high = histogram_scores(grey)
    return ImageReport(
        path=name,
        sharpness=sharpness(grey),
        brightness_high=high,
        brightness_low=low,
        entropy=entropy,
        hash=digest,
        thumbnail=thumbnail,
    )


def list_images(root: str | os.PathLike[str]) -> list[str]:
    """The PNG/JPEG files under ``root`` (a local folder, or one in object storage:
    ``s3://bucket/prefix/``), as sorted relative POSIX paths."""
    if is_remote(root):
        from diagnostics.remote_files import remote_files  # pyarrow's filesystems: when used

        names = remote_files(str(root)).folder_files(str(root))
        return [name for name in names if name.lower().endswith(IMAGE_SUFFIXES)]
    base = Path(root)
    if not base.is_dir():
        raise InputError(f"image folder not found: {root}")
    return sorted(
        path.relative_to(base).as_posix()
        for path in base.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
    )


def near_duplicates(
    hashes: np.ndarray, others: np.ndarray | None = None, distance: int = HASH_DISTANCE
) -> list[tuple[int, int]]:
    """Pairs (i, j) within ``distance`` bits: i < j in ``hashes``, or i in hashes, j in others."""
    others_given = others is not None
    targets = hashes if others is None else others
    pairs = []
    for start in range(0, len(hashes), PAIR_BLOCK):
        block = hashes[start : start + PAIR_BLOCK]
        close = np.bitwise_count(block[:, None] ^ targets[None, :]) <= distance
        for i, j in zip(*np.nonzero(close), strict=True):
            i = int(i) + start
            if others_given or i < j:
                pairs.append((i, int(j)))
    return pairs


def flag_images(
    root: str | os.PathLike[str],
    paths: Sequence[str] | None = None,
    *,
    training: Sequence[str] = (),
    thresholds: Thresholds = Thresholds(),
    skip_unreadable: bool = False,
) -> ImageFlags:
    """Score and flag the images ``paths`` under ``root`` (default: every image there).

    ``training`` images (paths under ``root`` too) are only compared against: an image close
    to one of them is a near-duplicate of training data. An image that cannot be read refuses
    the whole call, or with ``skip_unreadable`` is left out and listed in ``unreadable``
    (the others are still flagged).
    """
    paths = list_images(root) if paths is None else list(paths)
    flagged_paths = set(paths)
    training = [p for p in training if p not in flagged_paths]
    if not paths:
        shown = shown_location(str(root)) if is_remote(root) else root
        raise InputError(f"no PNG or JPEG images under {shown}")
    unreadable: dict[str, str] = {}

    def scored(selected: list[str]) -> tuple[list[ImageReport], list[str]]:
        reports, kept = [], []
        for path in selected:
            try:
                reports.append(score_image(read_image_file(root, path), path))
            except InputError as exc:
                if not skip_unreadable:
                    raise
                unreadable[path] = str(exc)
                continue
            kept.append(path)
        return reports, kept

    reports, _ = scored(paths)
    references, training = scored(training)

    def close(first: ImageReport, second: ImageReport) -> bool:
        return float(first.thumbnail @ second.thumbnail) >= thresholds.duplicate_correlation

    hashes = np.array([r.hash for r in reports], dtype=np.uint64)
    for i, j in near_duplicates(hashes, distance=thresholds.hash_distance):
        if close(reports[i], reports[j]):
            reports[i].duplicates.append(reports[j].path)
            reports[j].duplicates.append(reports[i].path)
    if references:
        train_hashes = np.array([r.hash for r in references], dtype=np.uint64)
        for i, j in near_duplicates(hashes, train_hashes, thresholds.hash_distance):
            if close(reports[i], references[j]):
                reports[i].duplicates.append(training[j])
    for report in reports:
        report.flags = [
            flag
            for flag, on in (
                ("blurry", report.sharpness < thresholds.sharpness),
                ("dark", report.brightness_high < thresholds.dark),
                ("light", report.brightness_low > thresholds.light),
                ("low_information", report.entropy < thresholds.entropy),
                ("near_duplicate", bool(report.duplicates)),
            )
            if on
        ]
    return ImageFlags(reports, thresholds, training=len(training), unreadable=unreadable)


def flag_image_folder(
    folder: str | os.PathLike[str],
    *,
    training_prefix: str | None = None,
    thresholds: Thresholds = Thresholds(),
) -> ImageFlags:
    """Flag every image of a folder; those under ``training_prefix`` count as training images."""
    paths = list_images(folder)
    if training_prefix:
        # refuses a prefix leading outside the folder
        if is_remote(folder):
            image_location(str(folder), training_prefix)
        else:
            resolve_inside(folder, training_prefix)
        prefix = training_prefix.strip("/") + "/"
        training = [p for p in paths if p.startswith(prefix)]
        paths = [p for p in paths if not p.startswith(prefix)]
        return flag_images(folder, paths, training=training, thresholds=thresholds)
    return flag_images(folder, paths, thresholds=thresholds)

"""``image-flags``: blurry, dark/light, low-information and near-duplicate images of a folder."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from diagnostics.validation import InputError
from strategy_app.shell.flags import add_json_flag

if TYPE_CHECKING:
    from diagnostics.image_flags import ImageFlags

SHOWN = 20


def register(subparsers) -> None:
    """Add the ``image-flags`` command."""
    parser = subparsers.add_parser(
        "image-flags",
        help="flag blurry, dark, light, low-information and near-duplicate images",
        description="Score every PNG/JPEG image of a folder or zip archive and flag the "
        "blurry, too dark or light, low-information and near-duplicate ones (suggestions for "
        "error analysis, never tags).",
    )
    parser.add_argument(
        "images",
        help="folder or .zip archive of PNG/JPEG images (either may be in object storage: "
        "s3://bucket/folder/)",
    )
    parser.add_argument(
        "--training",
        metavar="SUBFOLDER",
        help="images under this subfolder are training images: compared against, not flagged",
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Flag the folder's (or archive's) images; returns (JSON data, text)."""
    from diagnostics.formats import as_file  # loaded when run, not when registered
    from diagnostics.image_flags import flag_image_folder
    from diagnostics.images import extract_images_zip
    from diagnostics.remote import is_remote

    source: Path | bytes = Path(args.images)
    name = Path(args.images).name
    if is_remote(args.images) and not args.images.lower().endswith(".zip"):
        # a folder in object storage: listed, each image read in place
        flags = flag_image_folder(args.images, training_prefix=args.training)
        return flags.to_dict(), render_text(flags)
    if is_remote(args.images):  # a zip archive in object storage or behind a URL
        archive = as_file(args.images, "image archive")
        with archive.open("rb") as handle:
            source, name = handle.read(), archive.name
    if isinstance(source, Path) and source.is_dir():
        flags = flag_image_folder(source, training_prefix=args.training)
    elif isinstance(source, bytes) or source.is_file():
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "images"
            extract_images_zip(source, target, name=name)
            flags = flag_image_folder(target, training_prefix=args.training)
    else:
        raise InputError(f"{source}: no such folder or zip archive")
    return flags.to_dict(), render_text(flags)


def render_text(flags: ImageFlags) -> str:
    """The counts per flag and the first flagged images, printed without ``--json``."""
    from diagnostics.image_flags import FLAGS

    counts = flags.counts()
    lines = [
        f"{len(flags.images):,} images: "
        + ", ".join(f"{counts[flag]:,} {flag.replace('_', ' ')}" for flag in FLAGS)
    ]
    flagged = flags.flagged()
    for report in flagged[:SHOWN]:
        lines.append(f"  {report.path}: {', '.join(report.flags)}")
    if len(flagged) > SHOWN:
        lines.append(f"  … and {len(flagged) - SHOWN:,} more (--json lists them all)")
    lines.append(f"Method: {flags.method}")
    return "\n".join(lines)

"""Safe image handling for the labeling view: content checks, thumbnails, zip uploads.

Only PNG and JPEG are accepted, recognised by their bytes (an SVG or HTML page renamed ``.png``
is refused). Image sizes are checked from the header before any pixel is decoded, and Pillow's
``DecompressionBombWarning`` counts as an error. Zip archives are extracted entry by entry with
limits on the entry count, each entry's size, the total size and the compression ratio (of each
large entry and of the whole archive, so many small padded images count too), counted on the
bytes actually read (a header can lie); absolute paths, ``..``, symlinks, names too long or
nested too deep for a file system and an entry that is both a file and a folder are refused.
Every refusal, a full disk included, is an :class:`InputError` naming the file or archive entry.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import stat
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, ImageOps, UnidentifiedImageError

from diagnostics.remote import is_remote, open_remote
from diagnostics.validation import InputError

SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
LOOKS_LIKE = {
    b"<svg": "an SVG drawing",
    b"<?xml": "an XML/SVG document",
    b"<!doctype html": "an HTML page",
    b"<html": "an HTML page",
    b"gif8": "a GIF image",
    b"pk\x03\x04": "a zip archive",
    b"%pdf": "a PDF document",
}
MAX_PIXELS = 40_000_000  # 40 megapixels: far above any photo a labeler looks at
THUMBNAIL_SIZE = (160, 160)
READ_CHUNK = 1 << 20
SKIPPED_ENTRIES = ("__MACOSX/",)
SKIPPED_NAMES = (".DS_Store", "Thumbs.db")


def image_format(data: bytes, name: str) -> str:
    """'PNG' or 'JPEG' from the file's first bytes; anything else is refused, saying what it is."""
    for signature, kind in SIGNATURES.items():
        if data.startswith(signature):
            return kind
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    what = next((w for sig, w in LOOKS_LIKE.items() if head.startswith(sig)), None)
    if what is None and (b"<svg" in head or b"<html" in head):
        what = "an SVG/HTML document"
    found = f"it is {what}" if what else "its content is not an image"
    raise InputError(f"{name}: not a PNG or JPEG file ({found}); only PNG and JPEG are shown")


def open_checked(data: bytes, name: str, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open an image lazily after checking its type and declared size (no pixel decoded yet)."""
    expected = image_format(data, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[expected])
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise InputError(f"{name}: refused as a decompression bomb (too many pixels)") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise InputError(f"{name}: damaged {expected} file that cannot be read") from None
    width, height = image.size
    if width * height > max_pixels:
        raise InputError(
            f"{name}: declares {width}×{height} pixels ({width * height / 1e6:.0f} megapixels), "
            f"more than the {max_pixels / 1e6:.0f} allowed; refused as a decompression bomb"
        )
    if width == 0 or height == 0:
        raise InputError(f"{name}: declares an empty image ({width}×{height})")
    return image


def thumbnail_png(
    data: bytes, name: str = "image", size: tuple[int, int] = THUMBNAIL_SIZE
) -> bytes:
    """A PNG thumbnail (at most ``size``, aspect kept) of PNG/JPEG bytes; pure, so cacheable."""
    image = open_checked(data, name)
    try:
        image.draft("RGB", size)  # JPEG: decode at a reduced scale
        image = ImageOps.exif_transpose(image)
        image.thumbnail(size)
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{name}: damaged image ({exc})") from None
    return out.getvalue()


def data_url(png: bytes) -> str:
    """A ``data:image/png;base64,…`` URL for PNG bytes (what ImageColumn shows)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _checked_name(relative: str) -> str:
    """A path from a predictions file, stripped; refused when absolute or leading upwards."""
    text = str(relative).strip()
    problem = _unsafe_name(text)
    if problem:
        raise InputError(f"input path '{text}': {problem}; give paths relative to the project")
    return text


def resolve_inside(root: str | os.PathLike[str], relative: str) -> Path:
    """``root/relative`` for a path from a predictions file, refusing anything outside ``root``."""
    text = _checked_name(relative)
    base = Path(root).resolve()
    path = (base / text).resolve()
    if not path.is_relative_to(base):
        raise InputError(f"input path '{text}' leads outside the project folder (a symlink?)")
    return path


def read_image_file(
    root: str | os.PathLike[str], relative: str, *, max_bytes: int = 50 << 20
) -> bytes:
    """The checked bytes of a PNG/JPEG file named by a predictions file's ``input`` column,
    under a local folder or a folder in object storage (``s3://bucket/prefix/``: one read of
    the whole object, in place)."""
    if is_remote(root):
        return _read_remote_image(str(root), relative, max_bytes)
    path = resolve_inside(root, relative)
    if not path.is_file():
        raise InputError(f"image '{relative}' not found under {root}")
    if path.stat().st_size > max_bytes:
        raise InputError(f"image '{relative}' is larger than {max_bytes >> 20} MiB")
    data = path.read_bytes()
    open_checked(data, relative)
    return data


def image_location(root: str, relative: str) -> str:
    """Where the image ``relative`` is under the remote folder ``root`` (names refused as
    :func:`resolve_inside` refuses them: nothing outside the folder)."""
    return root.rstrip("/") + "/" + _checked_name(relative).replace("\\", "/")


def _read_remote_image(root: str, relative: str, max_bytes: int) -> bytes:
    from diagnostics.remote_files import remote_files  # pyarrow's filesystems: when used

    location = image_location(root, relative)
    file = open_remote(location, remote_files(location), "image")
    if file.size > max_bytes:
        raise InputError(f"image '{relative}' is larger than {max_bytes >> 20} MiB")
    with file.open("rb") as handle:
        data = handle.read()
    open_checked(data, relative)
    return bytes(data)


def _unsafe_name(name: str) -> str | None:
    if not name:
        return "empty name"
    if "\x00" in name:
        return "contains a NUL character"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "absolute path"
    if ".." in PurePosixPath(posix).parts:
        return "contains '..'"
    return None


# -- zip archives -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipLimits:
    """What an uploaded image archive may hold."""

    max_entries: int = 20_000
    max_entry_bytes: int = 50 << 20
    max_total_bytes: int = 1 << 30
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 1 << 20  # tiny entries may compress well without being bombs
    max_depth: int = 16  # folders an entry may be nested in
    max_name_bytes: int = 255  # one file or folder name (most file systems' limit)
    max_path_bytes: int = 1024  # a whole entry path


def extract_images_zip(
    source: str | os.PathLike[str] | bytes | io.IOBase,
    dest: str | os.PathLike[str],
    *,
    name: str = "archive",
    limits: ZipLimits = ZipLimits(),
) -> list[str]:
    """Extract the PNG/JPEG images of a zip into the new folder ``dest``, all or nothing.

    Returns the extracted relative paths. Refuses (InputError naming the entry) absolute paths,
    ``..``, symlinks, encrypted or duplicate entries, non-PNG/JPEG content, decompression bombs,
    and archives whose entry count, entry size, total size or ratio passes ``limits`` while
    reading. macOS metadata (``__MACOSX/``, ``.DS_Store``) is skipped.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise InputError(f"{dest} is not empty; extract the archive into a new folder")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest.parent))
    except OSError as exc:
        raise _unwritable(name, exc) from None
    try:
        extracted = _extract_all(_open_zip(source, name), staging, name, limits)
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _unwritable(name, exc) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return extracted


def _unwritable(name: str, exc: OSError) -> InputError:
    return InputError(
        f"{name}: the images could not be written ({exc.strerror or exc}); free disk space or "
        "make the data folder writable, then upload it again — nothing was kept"
    )


def _path_problem(entry: str, limits: ZipLimits) -> str | None:
    """Why a (safe) entry path cannot be a file here: too long or nested too deep."""
    parts = PurePosixPath(entry.replace("\\", "/")).parts
    if len(parts) > limits.max_depth + 1:
        return f"is nested {len(parts) - 1} folders deep (at most {limits.max_depth})"
    if len(entry.encode()) > limits.max_path_bytes:
        return f"has a path longer than {limits.max_path_bytes} bytes"
    if any(len(part.encode()) > limits.max_name_bytes for part in parts):
        return f"has a name longer than {limits.max_name_bytes} bytes"
    return None


def _open_zip(source: str | os.PathLike[str] | bytes | io.IOBase, name: str) -> zipfile.ZipFile:
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{name} is not a readable zip archive ({exc})") from None


def _extract_all(
    archive: zipfile.ZipFile, staging: Path, name: str, limits: ZipLimits
) -> list[str]:
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise InputError(
                f"{name} holds {len(entries):,} entries, more than the {limits.max_entries:,} "
                "allowed"
            )
        total = compressed = 0
        extracted: list[str] = []
        seen: set[str] = set()
        folders: set[str] = set()
        for info in entries:
            entry = info.filename
            where = f"{name}, entry '{entry}'"
            problem = _unsafe_name(entry)
            problem = problem or _path_problem(entry, limits)
            if problem:
                raise InputError(f"{where}: {problem}; refused")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise InputError(f"{where}: is a symbolic link; refused")
            if info.is_dir() or _skipped(entry):
                continue
            if info.flag_bits & 0x1:
                raise InputError(f"{where}: is encrypted; upload an archive without a password")
            key = entry.replace("\\", "/").lower()
            if key in seen:
                raise InputError(f"{where}: appears twice in the archive")
            parents = {str(parent) for parent in PurePosixPath(key).parents if str(parent) != "."}
            if key in folders or parents & seen:
                raise InputError(f"{where}: is both a file and a folder in the archive; refused")
            seen.add(key)
            folders |= parents
            data = _read_entry(archive, info, where, limits, limits.max_total_bytes - total)
            total += len(data)
            compressed += info.compress_size
            if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(compressed, 1):
                raise InputError(
                    f"{name}: its images unpack to more than {limits.max_ratio:.0f} times the "
                    "archive's size (padded files?); refused as a zip bomb"
                )
            open_checked(data, where)
            target = staging / entry.replace("\\", "/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            extracted.append(entry.replace("\\", "/"))
        if not extracted:
            raise InputError(f"{name} holds no PNG or JPEG images")
        return extracted


def _skipped(entry: str) -> bool:
    posix = entry.replace("\\", "/")
    return posix.startswith(SKIPPED_ENTRIES) or PurePosixPath(posix).name in SKIPPED_NAMES


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, limits: ZipLimits, room: int
) -> bytes:
    chunks = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(READ_CHUNK):
                if size == 0:
                    image_format(chunk, where)
                size += len(chunk)
                if size > limits.max_entry_bytes:
                    raise InputError(
                        f"{where}: unpacks to more than {limits.max_entry_bytes >> 20} MiB; "
                        "refused as a zip bomb"
                    )
                if size > room:
                    raise InputError(
                        f"{where}: the archive unpacks to more than "
                        f"{limits.max_total_bytes >> 20} MiB in all; refused as a zip bomb"
                    )
                ratio = size / max(info.compress_size, 1)
                if size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
                    raise InputError(
                        f"{where}: compressed more than {limits.max_ratio:.0f}:1; refused as a "
                        "zip bomb"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise InputError(f"{where}: damaged entry ({exc})") from None
    except NotImplementedError as exc:
        raise InputError(f"{where}: unsupported compression ({exc})") from None
    if size == 0:
        raise InputError(f"{where}: empty file; not a PNG or JPEG image")
    return b"".join(chunks)

"""Safe images: content sniffing, decompression bombs, thumbnails, zip extraction."""

import io
import os
import re
import stat
import struct
import zipfile
import zlib

import pytest
from PIL import Image

from diagnostics.images import (
    ZipLimits,
    data_url,
    extract_images_zip,
    image_format,
    open_checked,
    read_image_file,
    resolve_inside,
    thumbnail_png,
)
from diagnostics.validation import InputError


def png_bytes(size=(40, 30), color=(200, 10, 10)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size=(64, 48)):
    out = io.BytesIO()
    Image.new("RGB", size, (0, 120, 0)).save(out, format="JPEG")
    return out.getvalue()


def png_chunk(kind, body):
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def png_header_only(width, height):
    """A small PNG file that declares width×height in its header (pixel data: a few bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def test_thumbnail_png_and_jpeg():
    for data in (png_bytes((400, 200)), jpeg_bytes((640, 480))):
        thumb = thumbnail_png(data)
        image = Image.open(io.BytesIO(thumb))
        assert image.format == "PNG" and max(image.size) <= 160
    assert thumbnail_png(png_bytes()) == thumbnail_png(png_bytes())  # pure: cacheable
    assert data_url(b"\x89PNG").startswith("data:image/png;base64,")


def test_decompression_bomb_refused_from_header():
    bomb = png_header_only(100_000, 100_000)
    with pytest.raises(InputError, match="decompression bomb"):
        open_checked(bomb, "bomb.png")
    # above our own limit but below Pillow's: still refused before decoding
    with pytest.raises(InputError, match=r"declares 8000×6000 pixels"):
        open_checked(png_header_only(8000, 6000), "big.png")


def test_pillow_warning_is_an_error():
    data = png_header_only(10_000, 10_000)  # 100 MP: Pillow warns (> 89 MP), does not raise
    with pytest.raises(InputError, match="decompression bomb"):
        open_checked(data, "warn.png", max_pixels=10**12)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
        (b'<?xml version="1.0"?><svg></svg>', "XML/SVG"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        (b"GIF89a\x01\x00", "GIF"),
        (b"hello", "not an image"),
    ],
)
def test_non_png_jpeg_content_refused(content, what):
    with pytest.raises(InputError, match=f"photo.png: not a PNG or JPEG file.*{what}"):
        image_format(content, "photo.png")


def test_truncated_png_refused():
    with pytest.raises(InputError, match="damaged"):
        thumbnail_png(png_bytes()[:40], "cut.png")


def test_input_paths_stay_inside_the_project(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(png_bytes())
    assert read_image_file(tmp_path, "images/a.png") == png_bytes()
    for bad in ("/etc/passwd", "../secret.png", "images/../../x.png", "C:\\x.png"):
        with pytest.raises(InputError, match="input path"):
            resolve_inside(tmp_path, bad)
    os.symlink("/etc", tmp_path / "images" / "link")
    with pytest.raises(InputError, match="outside the project"):
        resolve_inside(tmp_path, "images/link/passwd")


def make_zip(entries, *, symlinks=()):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return out.getvalue()


def test_zip_extracts_images(tmp_path):
    data = make_zip(
        {
            "imgs/a.png": png_bytes(),
            "imgs/b.jpg": jpeg_bytes(),
            "__MACOSX/imgs/._a.png": b"junk",
            "imgs/.DS_Store": b"junk",
        }
    )
    dest = tmp_path / "out"
    assert extract_images_zip(data, dest) == ["imgs/a.png", "imgs/b.jpg"]
    assert (dest / "imgs" / "a.png").read_bytes() == png_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    ("entries", "symlinks", "message"),
    [
        ({"../evil.png": png_bytes()}, (), "entry '../evil.png': contains '..'"),
        ({"a/../../evil.png": png_bytes()}, (), "contains '..'"),
        ({"/etc/evil.png": png_bytes()}, (), "entry '/etc/evil.png': absolute path"),
        ({"a.png": png_bytes()}, [("link.png", "/etc/passwd")], "'link.png': is a symbolic link"),
        ({"ok.png": png_bytes(), "x.png": b"<svg></svg>"}, (), "'x.png': not a PNG or JPEG"),
        ({"b.png": png_header_only(100_000, 100_000)}, (), "'b.png': refused as a decompression"),
    ],
)
def test_zip_refusals_leave_nothing(tmp_path, entries, symlinks, message):
    dest = tmp_path / "out"
    with pytest.raises(InputError, match=message):
        extract_images_zip(make_zip(entries, symlinks=symlinks), dest, name="upload.zip")
    assert list(tmp_path.iterdir()) == []


def test_zip_bomb_refused_while_reading(tmp_path):
    bomb = b"\x89PNG\r\n\x1a\n" + bytes(50 << 20)  # 50 MB of zeros, ~50 KB compressed
    data = make_zip({"bomb.png": bomb})
    assert len(data) < 1 << 20
    with pytest.raises(InputError, match=re.escape("'bomb.png': compressed more than 100:1")):
        extract_images_zip(data, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_zip_header_sizes_are_not_trusted(tmp_path):
    """A central directory that understates the unpacked size: the bytes read give it away."""
    data = bytearray(make_zip({"big.png": b"\x89PNG\r\n\x1a\n" + bytes(3 << 20)}))
    at = data.rfind(b"PK\x01\x02")  # central directory entry: file_size at offset 24
    data[at + 24 : at + 28] = struct.pack("<I", 1000)
    limits = ZipLimits(max_entry_bytes=2 << 20, max_ratio=10**9)
    with pytest.raises(InputError, match=re.escape("'big.png': damaged entry (Bad CRC-32")):
        extract_images_zip(bytes(data), tmp_path / "out", limits=limits)


def test_zip_entry_count_and_total_limits(tmp_path):
    many = make_zip({f"{i}.png": png_bytes() for i in range(5)})
    with pytest.raises(InputError, match="5 entries, more than the 4"):
        extract_images_zip(many, tmp_path / "a", limits=ZipLimits(max_entries=4))
    total = len(png_bytes()) * 3
    with pytest.raises(InputError, match="in all; refused as a zip bomb"):
        extract_images_zip(many, tmp_path / "b", limits=ZipLimits(max_total_bytes=total))
    with pytest.raises(InputError, match="not a readable zip"):
        extract_images_zip(b"not a zip", tmp_path / "c")

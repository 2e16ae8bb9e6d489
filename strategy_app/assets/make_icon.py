"""Draw the app's icon (``icon.png``, the browser tab's favicon): a small waterfall of gaps.

Shipped with the app so the browser never fetches an icon from the web (a ``:material/…:``
page icon makes it load the favicon from Google's font servers). Run from the repository root:
``python strategy_app/assets/make_icon.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 64
BACKGROUND = (30, 58, 95, 255)
BARS = ((8, 10, 20, 54), (22, 22, 34, 54), (36, 34, 48, 54), (50, 42, 58, 54))  # x0, y0, x1, y1
COLOURS = ((255, 255, 255, 255), (255, 183, 77, 255), (255, 138, 101, 255), (129, 199, 132, 255))
ICON = Path(__file__).with_name("icon.png")


def draw_icon() -> Image.Image:
    """The icon: a rounded square with four descending bars, human level to test."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, SIZE - 1, SIZE - 1), radius=12, fill=BACKGROUND)
    for box, colour in zip(BARS, COLOURS, strict=True):
        draw.rectangle(box, fill=colour)
    return image


if __name__ == "__main__":
    draw_icon().save(ICON, optimize=True)
    print(f"wrote {ICON}")

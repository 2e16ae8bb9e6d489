"""Benchmark: our image flags (Pillow + NumPy) vs cleanvision's ``Imagelab.find_issues``.

The folder: the 2,588 sample digits (``sample_data/images``) plus 20 blurred, 20 darkened,
20 washed-out and 20 blanked copies of other digits of the sample. Figures: time (our
``flag_images`` over cleanvision's ``find_issues`` with one worker, the anchor, best of two
alternating runs, goal ≤ 1.0×);
per kind, how many of the 20 altered copies each flags (recall) and how many of the 2,588
originals it flags (false alarms; the four captures of one digit are real near-duplicates, so
near-duplicate counts on the originals are reported, not judged).

Run: ``python bench/image_flags.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as `python bench/image_flags.py`

from cleanvision import Imagelab
from PIL import Image

from diagnostics.image_flags import flag_images
from tests.test_image_flags import altered

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "images"
KINDS = {  # our flag, cleanvision's issue column
    "blurred": ("blurry", "is_blurry_issue"),
    "dark": ("dark", "is_dark_issue"),
    "light": ("light", "is_light_issue"),
    "blank": ("low_information", "is_low_information_issue"),
}
COPIES = 20


def build(folder: Path) -> dict[str, list[str]]:
    """Copy the sample digits and write the altered copies; returns the copies per kind."""
    originals = sorted(p.name for p in SAMPLE.glob("*.png"))
    for name in originals:
        shutil.copy(SAMPLE / name, folder / name)
    made = {}
    for k, how in enumerate(KINDS):
        made[how] = []
        for i in range(COPIES):
            source = originals[(k * COPIES + i) * 8]
            name = f"zz_{how}_{i:02d}.png"
            altered(Image.open(SAMPLE / source), how).save(folder / name)
            made[how].append(name)
    return {"originals": originals, **made}


def main() -> None:
    """Print the time ratio and the recall / false alarms per kind for both tools."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made = build(folder)
        our_time, their_time = [], []
        for _ in range(2):  # alternating, best of two: the first pass also warms the file cache
            start = time.perf_counter()
            ours = flag_images(folder)
            our_time.append(time.perf_counter() - start)
            start = time.perf_counter()
            lab = Imagelab(data_path=str(folder))
            lab.find_issues(n_jobs=1, verbose=False)
            their_time.append(time.perf_counter() - start)
        our_time, their_time = min(our_time), min(their_time)
        theirs = lab.issues.copy()
        theirs.index = [Path(p).name for p in theirs.index]
    print(f"anchor: cleanvision {version('cleanvision')}; {len(ours.images):,} images")
    print(
        f"time: ours {our_time:.2f} s, cleanvision {their_time:.2f} s: "
        f"ratio {our_time / their_time:.2f}× (goal ≤ 1.0)"
    )
    by_path = {r.path: r for r in ours.images}
    originals = made["originals"]
    for how, (flag, column) in KINDS.items():
        our_hits = sum(flag in by_path[n].flags for n in made[how])
        their_hits = int(theirs.loc[made[how], column].sum())
        our_false = sum(flag in by_path[n].flags for n in originals)
        their_false = int(theirs.loc[originals, column].sum())
        print(
            f"{how:>8}: ours {our_hits}/{COPIES} found, {our_false} originals flagged; "
            f"cleanvision {their_hits}/{COPIES} found, {their_false} originals flagged"
        )
    our_dups = sum("near_duplicate" in by_path[n].flags for n in originals)
    their_dups = int(theirs.loc[originals, "is_near_duplicates_issue"].sum())
    print(f"near-duplicates among the originals: ours {our_dups:,}, cleanvision {their_dups:,}")


if __name__ == "__main__":
    main()

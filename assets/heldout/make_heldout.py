"""Rebuilds the held-out prompt sets in this folder (never used in training):

- sketches/: 64x64 level sketches drawn with the sketch screen's own canvas (genie_play.canvas) in
  several styles and colours, each with the hero stamp;
- photos/: photos that ship with packages installed on the machine that made them, loaded 64x64 with
  genie_play.images.load_image (short side scaled, long side centre-cropped), some from a crop box first.

    python assets/heldout/make_heldout.py [--overwrite]

README.md beside this script lists where each photo came from and its licence.
"""

import argparse
import glob
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from genie_play.canvas import SketchCanvas
from genie_play.images import load_image
from genie_play.levels import PALETTE, random_level
from genie_play.media import save_png

HERE = Path(__file__).resolve().parent
SIZE = 64
SPAWN = (32, 32)  # hero centre where the world expects its player (genie_play.levels.HERO_SPAWN)
WHITE, BLACK = (255, 255, 255), (20, 20, 20)


def canvas(background) -> SketchCanvas:
    return SketchCanvas(np.full((SIZE, SIZE, 3), background, np.uint8), background)


def flat_classic(c: SketchCanvas) -> None:
    c.rect(0, 56, 63, 63, PALETTE["ground"])
    c.rect(40, 56, 46, 63, PALETTE["hazard"])
    c.rect(22, 35, 43, 37, PALETTE["platform"])
    c.rect(4, 44, 16, 46, PALETTE["platform"])
    c.rect(48, 24, 60, 26, PALETTE["platform"])
    c.rect(53, 18, 56, 21, PALETTE["coin"])
    c.hero(*SPAWN)


def flat_night(c: SketchCanvas) -> None:
    c.rect(0, 54, 63, 63, (60, 30, 80))
    c.rect(18, 35, 46, 38, (60, 220, 230))
    c.rect(50, 45, 63, 47, (60, 220, 230))
    for x, y in [(5, 6), (20, 12), (44, 4), (58, 15), (33, 20), (10, 27)]:
        c.begin_stroke()
        c.dab(x, y, (250, 240, 120), 1)
    c.hero(*SPAWN)


def flat_staircase(c: SketchCanvas) -> None:
    c.rect(0, 58, 63, 63, (70, 140, 60))
    for step in range(6):
        c.rect(8 + step * 9, 58 - 6 * (step + 1), 16 + step * 9, 57, (230, 130, 40))
    c.hero(30, 37)  # on the third step


def flat_cave(c: SketchCanvas) -> None:
    c.rect(0, 0, 63, 9, (95, 75, 60))
    c.rect(0, 50, 63, 63, (95, 75, 60))
    c.rect(24, 50, 36, 53, (255, 90, 20))
    c.rect(14, 35, 48, 39, (120, 100, 80))
    c.rect(50, 10, 55, 18, (95, 75, 60))
    c.hero(*SPAWN)


def flat_islands(c: SketchCanvas) -> None:
    for x0, y0, width in [(2, 48, 16), (22, 35, 20), (46, 26, 16), (44, 52, 14)]:
        c.rect(x0, y0, x0 + width, y0 + 2, (60, 190, 70))
        c.rect(x0 + 2, y0 + 3, x0 + width - 2, y0 + 6, (140, 90, 50))
    c.rect(52, 19, 55, 22, PALETTE["coin"])
    c.hero(*SPAWN)


def line_white(c: SketchCanvas) -> None:
    c.line(0, 56, 63, 56, BLACK, 1)
    for x0, y0, x1 in [(22, 35, 43), (4, 45, 16), (48, 24, 61)]:
        c.line(x0, y0, x1, y0, BLACK, 1)
        c.line(x0, y0 + 3, x1, y0 + 3, BLACK, 1)
        c.line(x0, y0, x0, y0 + 3, BLACK, 1)
        c.line(x1, y0, x1, y0 + 3, BLACK, 1)
    c.hero(*SPAWN)


def line_chalk(c: SketchCanvas) -> None:
    chalk = (235, 235, 225)
    c.begin_stroke()
    points = [(0, 52), (10, 47), (20, 50), (30, 44), (40, 48), (52, 41), (63, 46)]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        c.segment(x0, y0, x1, y1, chalk, 1)
    c.line(20, 35, 44, 35, chalk, 1)
    c.line(48, 22, 60, 22, chalk, 1)
    c.hero(*SPAWN)


def line_blueprint(c: SketchCanvas) -> None:
    for i in range(0, SIZE, 8):
        c.line(i, 0, i, 63, (60, 95, 170), 1)
        c.line(0, i, 63, i, (60, 95, 170), 1)
    c.line(0, 57, 63, 57, WHITE, 2)
    c.line(20, 35, 44, 35, WHITE, 2)
    c.line(6, 46, 18, 46, WHITE, 2)
    c.hero(*SPAWN)


def line_scribble(c: SketchCanvas) -> None:
    c.begin_stroke()
    for x in range(0, SIZE - 4, 4):
        c.segment(x, 55 + (x // 4) % 2 * 3, x + 4, 55 + (x // 4 + 1) % 2 * 3, BLACK, 2)
    c.line(18, 36, 46, 36, (200, 30, 30), 2)
    c.line(44, 20, 60, 26, (40, 40, 200), 2)
    c.hero(31, 52)  # off the spawn point, on the scribbled ground


def unusual_magenta(c: SketchCanvas) -> None:
    c.rect(0, 55, 63, 63, (0, 230, 230))
    c.rect(22, 35, 43, 37, (150, 255, 0))
    c.rect(48, 44, 62, 46, (150, 255, 0))
    c.rect(3, 24, 14, 26, (150, 255, 0))
    c.hero(*SPAWN)


def unusual_orange(c: SketchCanvas) -> None:
    c.rect(0, 57, 63, 63, (0, 130, 130))
    c.rect(20, 35, 44, 40, (110, 40, 160))
    c.rect(0, 30, 8, 56, (110, 40, 160))
    c.rect(52, 20, 63, 24, (110, 40, 160))
    c.hero(*SPAWN)


def unusual_reds(c: SketchCanvas) -> None:
    c.rect(0, 54, 63, 63, (90, 0, 10))
    c.rect(22, 35, 43, 38, (255, 120, 120))
    c.rect(46, 44, 60, 47, (200, 40, 60))
    c.rect(5, 18, 12, 25, (255, 200, 200))
    c.hero(*SPAWN)


def fill_mountains(c: SketchCanvas) -> None:
    outline = [(0, 50), (14, 30), (26, 42), (40, 22), (54, 38), (63, 30)]
    for (x0, y0), (x1, y1) in zip(outline, outline[1:]):
        c.line(x0, y0, x1, y1, (70, 80, 110), 1)
    c.line(0, 50, 0, 63, (70, 80, 110), 1)
    c.line(63, 30, 63, 63, (70, 80, 110), 1)
    c.fill(30, 60, (110, 125, 160))  # the inside of the outline
    c.rect(0, 58, 63, 63, (240, 240, 250))
    c.hero(40, 19)  # on the highest peak


def pastel(c: SketchCanvas) -> None:
    c.rect(0, 56, 63, 63, (180, 230, 200))
    c.rect(24, 40, 40, 42, (200, 200, 255))
    c.rect(44, 30, 58, 32, (255, 230, 170))
    c.hero(8, 53)  # standing on the ground at the left, far from the spawn point


SKETCHES = {
    "sketch-flat-classic": ((120, 180, 235), flat_classic),
    "sketch-flat-night": ((20, 24, 60), flat_night),
    "sketch-flat-staircase": ((200, 240, 190), flat_staircase),
    "sketch-flat-cave": ((40, 28, 24), flat_cave),
    "sketch-flat-islands": ((255, 245, 190), flat_islands),
    "sketch-line-white": (WHITE, line_white),
    "sketch-line-chalkboard": ((30, 70, 45), line_chalk),
    "sketch-line-blueprint": ((30, 60, 140), line_blueprint),
    "sketch-line-scribble": ((225, 225, 225), line_scribble),
    "sketch-unusual-magenta": ((230, 40, 200), unusual_magenta),
    "sketch-unusual-orange": ((255, 140, 0), unusual_orange),
    "sketch-unusual-reds": ((160, 20, 30), unusual_reds),
    "sketch-fill-mountains": ((250, 215, 180), fill_mountains),
    "sketch-pastel": ((255, 215, 230), pastel),
}
RANDOM_LEVELS = (7001, 7002)  # genie_play.levels.random_level seeds: the app's procedural sketches

PYGAME_IMAGES = "site-packages/pygame/docs/generated/_images"
RUST_BOOK = "~/.rustup/toolchains/stable-*/share/doc/rust/html/embedded-book/assets"
JETTY = ("/usr/lib/google-cloud-sdk/platform/google_appengine/google/appengine/tools/java/jetty12/jetty-home/"
         "modules/demo.d/root/images/jetty-pic.png")
PHOTOS = {  # name: (source file, crop box (left, top, right, bottom) or None)
    "photo-tree-brick": (f"{PYGAME_IMAGES}/camera_rgb.jpg", None),
    "photo-brick-wall": (f"{PYGAME_IMAGES}/camera_rgb.jpg", (0, 0, 120, 120)),
    "photo-leaves": (f"{PYGAME_IMAGES}/camera_rgb.jpg", (200, 0, 320, 120)),
    "photo-webcam-wall": (f"{PYGAME_IMAGES}/camera_background.jpg", None),
    "photo-laptop-hand": (f"{PYGAME_IMAGES}/camera_average.jpg", None),
    "photo-tree-false-colour": (f"{PYGAME_IMAGES}/camera_hsv.jpg", None),
    "photo-pier": (JETTY, (623, 0, 900, 277)),
    "photo-clouds": (JETTY, (470, 0, 747, 277)),
    "photo-circuit-board": (f"{RUST_BOOK}/f3.jpg", None),
    "photo-board-leds": (f"{RUST_BOOK}/verify.jpeg", (0, 0, 477, 477)),
}


def source_path(pattern: str) -> Path | None:
    if pattern.startswith("site-packages/"):
        import pygame

        return Path(pygame.__file__).resolve().parent.parent / pattern.removeprefix("site-packages/")
    matches = sorted(glob.glob(str(Path(pattern).expanduser())))
    return Path(matches[0]) if matches else None


def write(frame, path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        sys.exit(f"error: {path}: already exists (pass --overwrite to replace it)")
    save_png(frame, path)
    print(f"wrote {path.relative_to(HERE)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild the held-out prompt sets.")
    parser.add_argument("--overwrite", action="store_true", help="replace the PNGs already there")
    args = parser.parse_args(argv)
    for name, (background, draw) in SKETCHES.items():
        sketch = canvas(background)
        draw(sketch)
        write(sketch.pixels, HERE / "sketches" / f"{name}.png", args.overwrite)
    for seed in RANDOM_LEVELS:
        write(random_level(seed, SIZE), HERE / "sketches" / f"sketch-procedural-{seed}.png", args.overwrite)
    missing = []
    for name, (pattern, box) in PHOTOS.items():
        path = source_path(pattern)
        if path is None or not path.exists():
            missing.append(f"{name} ({pattern})")
            continue
        with Image.open(path) as image:
            image = image.convert("RGB")
            write(load_image(image.crop(box) if box else image, SIZE), HERE / "photos" / f"{name}.png", args.overwrite)
    if missing:
        print("not found here: " + ", ".join(missing), file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

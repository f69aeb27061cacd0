"""Random pictures of the kinds users prompt with, for training what must treat them alike: sketches drawn
with the app's own canvas (rectangles, lines, outlines, brush strokes, flood fills, the hero stamp; any colour),
procedural levels, smooth random textures with a photo's spread of tones and, given a folder of photos, random
crops of them. Deterministic under a seed."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from genie_play.canvas import SketchCanvas
from genie_play.errors import DataError
from genie_play.images import load_image
from genie_play.levels import PALETTE, random_level, spawn_point

KINDS = ("sketch", "level", "texture", "photo")
SHARES = (0.5, 0.2, 0.3, 0.0)  # without photos
SHARES_WITH_PHOTOS = (0.35, 0.15, 0.2, 0.3)
PHOTO_SIDE = 256  # each photo is held as its centre square at this size; crops take 64..PHOTO_SIDE of it
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def random_pictures(count: int, rng: np.random.Generator, size: int = 64,
                    photos: list[np.ndarray] | None = None) -> np.ndarray:
    """(count, size, size, 3) uint8: each a sketch, a procedural level, a texture or (given `photos`, each
    (PHOTO_SIDE, PHOTO_SIDE, 3) uint8) a crop of a photo, in SHARES or SHARES_WITH_PHOTOS; seeded from `rng`."""
    kinds = rng.choice(len(KINDS), count, p=SHARES_WITH_PHOTOS if photos else SHARES)
    seeds = rng.integers(0, 2 ** 31, count)
    makers = (random_sketch, random_level, random_texture, lambda seed, side: random_crop(photos, seed, side))
    return np.stack([makers[k](int(seed), size) for k, seed in zip(kinds, seeds)])


def load_photos(folder: Path) -> list[np.ndarray]:
    """Every .jpg, .jpeg and .png in `folder`, sorted by name, each its centre square as (PHOTO_SIDE,
    PHOTO_SIDE, 3) uint8. DataError when the folder is missing or holds none; ImageError for a bad file."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of photos")
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in PHOTO_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: holds no photos ({', '.join(PHOTO_SUFFIXES)})")
    return [load_image(f, PHOTO_SIDE) for f in files]


def random_crop(photos: list[np.ndarray], seed: int, size: int = 64) -> np.ndarray:
    """A square crop of one of `photos` (side between `size` and the photo's), scaled to size x size and
    mirrored half the time: (size, size, 3) uint8."""
    rng = np.random.default_rng(seed)
    photo = photos[int(rng.integers(len(photos)))]
    side = int(rng.integers(size, photo.shape[0] + 1))
    top, left = (int(rng.integers(0, photo.shape[k] - side + 1)) for k in (0, 1))
    crop = Image.fromarray(photo[top:top + side, left:left + side]).resize((size, size), Image.Resampling.BOX)
    pixels = np.asarray(crop)
    return np.ascontiguousarray(pixels[:, ::-1]) if rng.random() < 0.5 else pixels.copy()


def random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    if rng.random() < 0.25:
        return tuple(int(v) for v in PALETTE[rng.choice(list(PALETTE))])
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def random_sketch(seed: int, size: int = 64) -> np.ndarray:
    """A drawing in one style (flat blocks, lines, outlines, strokes, filled outlines, or a mix), most with a
    ground and the hero: (size, size, 3) uint8."""
    rng = np.random.default_rng(seed)
    background = random_colour(rng)
    canvas = SketchCanvas(np.full((size, size, 3), background, np.uint8), background)
    style = rng.choice(["flat", "line", "stroke", "fill", "mixed"])
    if rng.random() < 0.7:
        top = int(rng.integers(size - 16, size - 3))
        if style == "line":
            canvas.line(0, top, size - 1, top, random_colour(rng), int(rng.integers(1, 3)))
        else:
            canvas.rect(0, top, size - 1, size - 1, random_colour(rng))
    for _ in range(int(rng.integers(1, 8))):
        kind = style if style != "mixed" else rng.choice(["flat", "line", "stroke", "fill"])
        draw_shape(canvas, kind, rng, size)
    if rng.random() < 0.8:
        x, y = spawn_point(size) if rng.random() < 0.5 else (int(rng.integers(0, size - 8)), int(rng.integers(0, size - 12)))
        canvas.draw_hero(x + 4, y + 6)
    return canvas.pixels.copy()


def draw_shape(canvas: SketchCanvas, kind: str, rng: np.random.Generator, size: int) -> None:
    x0, y0 = int(rng.integers(0, size - 4)), int(rng.integers(0, size - 4))
    x1, y1 = min(size - 1, x0 + int(rng.integers(2, 30))), min(size - 1, y0 + int(rng.integers(1, 12)))
    colour = random_colour(rng)
    outline = [(x0, y0, x1, y0), (x0, y1, x1, y1), (x0, y0, x0, y1), (x1, y0, x1, y1)]
    if kind == "flat":
        canvas.rect(x0, y0, x1, y1, colour)
    elif kind == "line":
        width = int(rng.integers(1, 3))
        if rng.random() < 0.5:
            for edge in outline:
                canvas.line(*edge, colour, width)
        else:
            canvas.line(x0, y0, int(rng.integers(0, size)), int(rng.integers(0, size)), colour, width)
    elif kind == "stroke":
        canvas.begin_stroke()
        for _ in range(int(rng.integers(2, 8))):
            x, y = int(np.clip(x0 + rng.integers(-12, 13), 0, size - 1)), int(np.clip(y0 + rng.integers(-8, 9), 0, size - 1))
            canvas.segment(x0, y0, x, y, colour, int(rng.integers(1, 4)))
            x0, y0 = x, y
    else:  # an outline, then a flood fill inside it
        for edge in outline:
            canvas.line(*edge, colour, 1)
        if x1 - x0 > 2 and y1 - y0 > 2:
            canvas.fill((x0 + x1) // 2, (y0 + y1) // 2, random_colour(rng))


def random_texture(seed: int, size: int = 64) -> np.ndarray:
    """Noise summed over five scales, each colour channel its own, stretched to a random range of tones:
    (size, size, 3) uint8."""
    rng = np.random.default_rng(seed)
    image = torch.zeros(1, 3, size, size, dtype=torch.float64)
    for cells in (2, 4, 8, 16, 32):
        noise = torch.from_numpy(rng.normal(size=(1, 3, cells, cells)) / cells ** rng.uniform(0.3, 1.0))
        image += F.interpolate(noise, size=size, mode="bicubic", align_corners=False)
    image = (image - image.min()) / (image.max() - image.min() + 1e-9)
    image = image * rng.uniform(0.3, 1.0) + torch.from_numpy(rng.uniform(0, 0.5, 3))[None, :, None, None] * rng.uniform(0, 1)
    return (image.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)

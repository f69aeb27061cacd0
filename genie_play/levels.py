"""Level drawing without a window: the sketch palette, the hero stamp, the starter level and procedural
platformer sketches, all as (size, size, 3) uint8 arrays, and the heroes the world keeps on screen (a stamp, or
the player at a game frame's centre). The sketch screen (genie_play.app) draws with
these; so do `soak`, `label` and the held-out prompt sets.
"""

import colorsys
from dataclasses import dataclass

import numpy as np

Color = tuple[int, int, int]

# The CoinRun player as the world saw it in its training frames: 4 x 6 pixels at 64 x 64, its face
# and body in cream, the head's outline and the legs only partly covering the background (the game
# draws the sprite at a higher resolution and the frames are downscaled).
FACE: Color = (233, 223, 199)
BODY: Color = (230, 218, 191)
SKIN_SHADE: Color = (224, 209, 175)
HERO_COLOURS = {"F": FACE, "B": BODY, "S": SKIN_SHADE}
HERO_ROWS = (  # upper case: solid, lower case: a third of the pixel (blended over the background)
    ".fff",
    "fFFf",
    "fFFf",
    "SBBS",
    ".SS.",
    ".S.S",
)
PARTIAL_COVER = 0.33
# Where CoinRun shows its player, whose camera follows it: top-left of the sprite in a 64 x 64 frame.
HERO_SPAWN = (30, 29)
# (left, top, width, height) in a 64 x 64 frame: the box that holds the player, in every pose and skin seen in the
# test frames of the games whose view follows it (coinrun, ninja, jumper, caveflyer: docs/findings.md).
PLAYER_BOX = (30, 28, 6, 9)
# A pixel of that box is the player's where its channels differ in sum by more than this from each pixel just
# outside the box on its row and column (a level's textures differ by up to about 30)
PLAYER_CONTRAST = 48
# Fewer pixels than this standing out is no player: a level's own edge or texture
PLAYER_MIN_PIXELS = 3

# Flat colours in the spirit of CoinRun levels; "player" is the hero's own colour.
PALETTE: dict[str, Color] = {
    "sky": (120, 180, 235),
    "ground": (115, 80, 50),
    "platform": (160, 160, 170),
    "hazard": (220, 45, 35),
    "coin": (250, 205, 40),
    "player": FACE,
}
GROUND_ROWS = 8


def hsv_color(hue: float, saturation: float = 0.8, value: float = 0.9) -> Color:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return int(red * 255), int(green * 255), int(blue * 255)


def hero_sprite(unit: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The hero at `unit` pixels per sprite pixel: colours (6u, 4u, 3) uint8 and cover (6u, 4u) float in [0, 1]."""
    colours = np.zeros((len(HERO_ROWS), len(HERO_ROWS[0]), 3), np.uint8)
    cover = np.zeros(colours.shape[:2])
    for row, text in enumerate(HERO_ROWS):
        for col, char in enumerate(text):
            if char != ".":
                colours[row, col] = HERO_COLOURS[char.upper()]
                cover[row, col] = 1.0 if char.isupper() else PARTIAL_COVER
    expand = lambda array: array.repeat(unit, 0).repeat(unit, 1)  # noqa: E731
    return expand(colours), expand(cover)


def hero_unit(size: int) -> int:
    """Sprite pixels are this many frame pixels wide in a (size, size) frame, as every sketch element is."""
    return max(1, size // 64)


def hero_size(size: int = 64) -> tuple[int, int]:
    """(width, height) in pixels of the hero in a (size, size) frame."""
    unit = hero_unit(size)
    return len(HERO_ROWS[0]) * unit, len(HERO_ROWS) * unit


def stamp_hero(pixels: np.ndarray, left: int, top: int) -> None:
    """Draws the hero into pixels (size, size, 3) uint8 in place, top-left at (left, top), clipped to the frame."""
    colours, cover = hero_sprite(hero_unit(pixels.shape[0]))
    height, width = cover.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + height, pixels.shape[0]), min(left + width, pixels.shape[1])
    if y0 >= y1 or x0 >= x1:
        return
    sprite = colours[y0 - top:y1 - top, x0 - left:x1 - left].astype(np.float64)
    weight = cover[y0 - top:y1 - top, x0 - left:x1 - left, None]
    under = pixels[y0:y1, x0:x1].astype(np.float64)
    pixels[y0:y1, x0:x1] = np.rint(under + weight * (sprite - under)).astype(np.uint8)


def find_heroes(pixels: np.ndarray) -> list[tuple[int, int]]:
    """pixels (size, size, 3) uint8 -> the top-left (left, top) of every hero stamp drawn whole into it, found by
    the stamp's solid pixels, which stamp_hero draws in exactly its own colours whatever lies under them."""
    colours, cover = hero_sprite(hero_unit(pixels.shape[0]))
    height, width = cover.shape
    rows, cols = pixels.shape[0] - height + 1, pixels.shape[1] - width + 1
    if rows <= 0 or cols <= 0:
        return []
    match = np.ones((rows, cols), bool)  # (top, left): every solid pixel so far in its colour
    for dy, dx in zip(*np.nonzero(cover == 1.0)):
        match &= (pixels[dy:dy + rows, dx:dx + cols] == colours[dy, dx]).all(-1)
    return [(int(left), int(top)) for top, left in zip(*np.nonzero(match))]


def remove_heroes(pixels: np.ndarray, heroes: list[tuple[int, int]]) -> np.ndarray:
    """pixels (size, size, 3) uint8 with hero stamps at `heroes` (find_heroes) -> a copy without them: each
    stamp's box filled, row by row, from the nearer of the pixels just left and right of it."""
    width, height = hero_size(pixels.shape[0])
    out = pixels.copy()
    for left, top in heroes:
        columns = np.arange(left, left + width)
        nearest = np.where(columns - left < width / 2, left - 1, left + width)  # each column's nearer side
        nearest = np.where(nearest < 0, left + width, np.where(nearest >= pixels.shape[1], left - 1, nearest))
        out[top:top + height, left:left + width] = out[top:top + height, np.clip(nearest, 0, pixels.shape[1] - 1)]
    return out


def player_box(size: int = 64) -> tuple[int, int, int, int]:
    """PLAYER_BOX in a (size, size) frame."""
    return tuple(value * size // 64 for value in PLAYER_BOX)


def find_player(pixels: np.ndarray) -> tuple[int, int, np.ndarray] | None:
    """pixels (size, size, 3) uint8, a game frame whose view follows its player -> (left, top, cover) of the player
    there: cover (height, width) bool marks the pixels of PLAYER_BOX that stand out from the four pixels just
    outside the box on their row and column (a level's edge through the box matches two of them). None where too
    few do: no player to hold, e.g. flat sky."""
    size = pixels.shape[0]
    left, top, width, height = player_box(size)
    box = pixels[top:top + height, left:left + width].astype(np.int16)  # (h, w, 3)
    rows = pixels[top:top + height, [max(left - 1, 0), min(left + width, size - 1)]].astype(np.int16)  # (h, 2, 3)
    cols = pixels[[max(top - 1, 0), min(top + height, size - 1)], left:left + width].astype(np.int16)  # (2, w, 3)
    sides = [rows[:, 0, None], rows[:, 1, None], cols[0, None], cols[1, None]]
    cover = np.logical_and.reduce([np.abs(box - side).sum(-1) > PLAYER_CONTRAST for side in sides])
    if cover.sum() < PLAYER_MIN_PIXELS * hero_unit(size) ** 2:
        return None
    return left, top, cover


def remove_player(pixels: np.ndarray, player: tuple[int, int, np.ndarray]) -> np.ndarray:
    """pixels (size, size, 3) uint8 -> a copy with the player's pixels (find_player) filled, each from the nearest
    pixel on its row that is not the player's (a level's edge may run through the box: the fill keeps each side)."""
    left, top, cover = player
    out = pixels.copy()
    size = pixels.shape[1]
    for row in range(cover.shape[0]):
        free = [x for x in range(max(left - 1, 0), min(left + cover.shape[1] + 1, size))
                if not (0 <= x - left < cover.shape[1] and cover[row, x - left])]
        for col in np.nonzero(cover[row])[0]:
            nearest = min(free, key=lambda x: abs(x - (left + col)))  # ties go left: min keeps the first
            out[top + row, left + col] = pixels[top + row, nearest]
    return out


@dataclass(frozen=True)
class Hero:
    """A hero the world keeps on screen while the camera moves the level: its box's top-left, its pixels as the
    prompt has them, sprite (h, w, 3) uint8, and the pixels of the box it covers, cover (h, w) bool. stamp: the
    sketch screen's stamp, whose whole box is filled where it is taken out; else a game's player, of which only
    its own pixels are."""

    left: int
    top: int
    sprite: np.ndarray
    cover: np.ndarray
    stamp: bool

    @classmethod
    def stamped(cls, pixels: np.ndarray, left: int, top: int) -> "Hero":
        """The hero stamp at (left, top) of pixels (size, size, 3) uint8 (find_heroes): every pixel it covers, even
        in part."""
        return cls.of(pixels, left, top, hero_sprite(hero_unit(pixels.shape[0]))[1] > 0, stamp=True)

    @classmethod
    def player_in(cls, pixels: np.ndarray) -> "Hero | None":
        """The player of a game frame pixels (size, size, 3) uint8 whose view follows it (find_player), or None."""
        player = find_player(pixels)
        return None if player is None else cls.of(pixels, *player, stamp=False)

    @classmethod
    def of(cls, pixels: np.ndarray, left: int, top: int, cover: np.ndarray, stamp: bool) -> "Hero":
        sprite = pixels[top:top + cover.shape[0], left:left + cover.shape[1]].copy()
        return cls(left, top, sprite, cover, stamp)

    def drawn_over(self, frame: np.ndarray) -> None:
        """Draws the hero into frame (size, size, 3) uint8, in place."""
        box = frame[self.top:self.top + self.cover.shape[0], self.left:self.left + self.cover.shape[1]]
        box[self.cover] = self.sprite[self.cover]

    def shown_in(self, frame: np.ndarray) -> bool:
        """frame (size, size, 3) uint8 shows the hero whole at its place."""
        box = frame[self.top:self.top + self.cover.shape[0], self.left:self.left + self.cover.shape[1]]
        return bool((box[self.cover] == self.sprite[self.cover]).all())

    def taken_out(self, frame: np.ndarray) -> np.ndarray:
        """frame (size, size, 3) uint8 -> a copy without the hero (remove_heroes, remove_player)."""
        if self.stamp:
            return remove_heroes(frame, [(self.left, self.top)])
        return remove_player(frame, (self.left, self.top, self.cover))


def without_heroes(frame: np.ndarray, heroes: list[Hero]) -> np.ndarray:
    """frame (size, size, 3) uint8 -> a copy with each of the heroes taken out: the level a world played under them."""
    for hero in heroes:
        frame = hero.taken_out(frame)
    return frame


def spawn_point(size: int = 64) -> tuple[int, int]:
    """Top-left of the hero where the world expects it (CoinRun's player position), in a (size, size) frame."""
    unit = hero_unit(size)
    return HERO_SPAWN[0] * size // 64 // unit * unit, HERO_SPAWN[1] * size // 64 // unit * unit


def starter_level(size: int = 64) -> np.ndarray:
    """Sky, a ground strip, platforms, a coin and the hero standing where the world expects its player:
    (size, size, 3) uint8."""
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = PALETTE["sky"]
    ground_top = size - size * GROUND_ROWS // 64
    canvas[ground_top:] = PALETTE["ground"]
    unit = hero_unit(size)
    left, top = spawn_point(size)
    feet = top + hero_size(size)[1]
    canvas[feet: feet + 3 * unit, left - 8 * unit: left + 14 * unit] = PALETTE["platform"]
    canvas[ground_top - 12 * unit: ground_top - 9 * unit, size - 18 * unit: size - 4 * unit] = PALETTE["platform"]
    canvas[ground_top - 18 * unit: ground_top - 14 * unit, size - 12 * unit: size - 8 * unit] = PALETTE["coin"]
    stamp_hero(canvas, left, top)
    return canvas


def random_level(seed: int, size: int = 64) -> np.ndarray:
    """A procedural platformer sketch (ground with gaps, platforms, hazards, coins, the hero on a ledge
    where the world expects its player): (size, size, 3) uint8. Used as extra prompts where no images are at hand."""
    rng = np.random.default_rng(seed)
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = hsv_color(rng.uniform(0.5, 0.65), 0.45, 0.95)
    ground_top = size - int(rng.integers(6, 14))
    canvas[ground_top:] = PALETTE["ground"]
    for _ in range(int(rng.integers(0, 3))):  # gaps with lava
        x = int(rng.integers(20, size - 8))
        canvas[ground_top:, x:x + 6] = PALETTE["hazard"]
    for _ in range(int(rng.integers(1, 4))):
        x, y, width = int(rng.integers(0, size - 12)), int(rng.integers(12, ground_top - 10)), int(rng.integers(8, 20))
        canvas[y:y + 3, x:x + width] = PALETTE["platform"]
        canvas[y - 5:y - 2, x + width // 2:x + width // 2 + 3] = PALETTE["coin"]
    left, top = spawn_point(size)
    feet = top + hero_size(size)[1]
    canvas[feet:feet + 3, left - int(rng.integers(2, 10)):left + int(rng.integers(6, 14))] = PALETTE["platform"]
    stamp_hero(canvas, left, top)
    return canvas

"""The sketch canvas as pure numpy: tools, palette, undo/redo. No window needed."""

import colorsys
from collections import deque
from dataclasses import dataclass

import numpy as np

Color = tuple[int, int, int]

# Flat colours in the spirit of CoinRun levels.
PALETTE: dict[str, Color] = {
    "sky": (120, 180, 235),
    "ground": (115, 80, 50),
    "platform": (160, 160, 170),
    "hazard": (220, 45, 35),
    "coin": (250, 205, 40),
    "player": (60, 200, 90),
}
GROUND_ROWS = 8
MAX_HISTORY = 100


def hsv_color(hue: float, saturation: float = 0.8, value: float = 0.9) -> Color:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return int(red * 255), int(green * 255), int(blue * 255)


def starter_level(size: int = 64) -> np.ndarray:
    """Sky, a ground strip, a platform, a coin and the player: (size, size, 3) uint8."""
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = PALETTE["sky"]
    ground_top = size - size * GROUND_ROWS // 64
    canvas[ground_top:] = PALETTE["ground"]
    unit = max(1, size // 64)
    canvas[ground_top - 18 * unit: ground_top - 15 * unit, size // 2: size // 2 + 16 * unit] = PALETTE["platform"]
    canvas[ground_top - 24 * unit: ground_top - 20 * unit, size // 2 + 6 * unit: size // 2 + 10 * unit] = PALETTE["coin"]
    canvas[ground_top - 7 * unit: ground_top, 10 * unit: 15 * unit] = PALETTE["player"]
    return canvas


def random_level(seed: int, size: int = 64) -> np.ndarray:
    """A procedural platformer sketch (ground with gaps, platforms, hazards, coins, player):
    (size, size, 3) uint8. Used as extra prompts where no images are at hand."""
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
    canvas[ground_top - 7:ground_top, 6:11] = PALETTE["player"]
    return canvas


def line_points(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """Bresenham: every (x, y) from (x0, y0) to (x1, y1) inclusive."""
    points = []
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    step_x, step_y = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    error = dx + dy
    while True:
        points.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return points
        doubled = 2 * error
        if doubled >= dy:
            error += dy
            x0 += step_x
        if doubled <= dx:
            error += dx
            y0 += step_y


@dataclass
class SketchCanvas:
    """(size, size, 3) uint8 pixels plus history. Every public edit is one undo step,
    except strokes: begin_stroke() once, then dab()/segment() as the mouse moves."""

    pixels: np.ndarray
    background: Color = PALETTE["sky"]

    def __post_init__(self):
        self.pixels = np.array(self.pixels, dtype=np.uint8)
        self._undo: deque[np.ndarray] = deque(maxlen=MAX_HISTORY)
        self._redo: list[np.ndarray] = []

    @classmethod
    def starter(cls, size: int = 64) -> "SketchCanvas":
        return cls(starter_level(size))

    @property
    def size(self) -> int:
        return self.pixels.shape[0]

    def snapshot(self) -> None:
        """Remember the current pixels for undo (call before an edit)."""
        self._undo.append(self.pixels.copy())
        self._redo.clear()

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.pixels)
        self.pixels = self._undo.pop()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.pixels)
        self.pixels = self._redo.pop()
        return True

    def begin_stroke(self) -> None:
        self.snapshot()

    def dab(self, x: int, y: int, color: Color, brush: int) -> None:
        """A brush×brush square centred on (x, y), clipped to the canvas."""
        left, top = x - (brush - 1) // 2, y - (brush - 1) // 2
        self.pixels[max(top, 0):max(top + brush, 0), max(left, 0):max(left + brush, 0)] = color

    def segment(self, x0: int, y0: int, x1: int, y1: int, color: Color, brush: int) -> None:
        for x, y in line_points(x0, y0, x1, y1):
            self.dab(x, y, color, brush)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, brush: int) -> None:
        self.snapshot()
        self.segment(x0, y0, x1, y1, color, brush)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Filled rectangle between two corners, inclusive."""
        self.snapshot()
        left, right = sorted((x0, x1))
        top, bottom = sorted((y0, y1))
        self.pixels[max(top, 0):bottom + 1, max(left, 0):right + 1] = color

    def fill(self, x: int, y: int, color: Color) -> None:
        """Flood fill of the 4-connected region of (x, y)'s colour."""
        if not (0 <= x < self.size and 0 <= y < self.size):
            return
        target = self.pixels[y, x].copy()
        if np.array_equal(target, color):
            return
        self.snapshot()
        region = self._connected_region(x, y, target)
        self.pixels[region] = color

    def _connected_region(self, x: int, y: int, target: np.ndarray) -> np.ndarray:
        """(size, size) bool mask of pixels 4-connected to (x, y) with colour `target`."""
        same = np.all(self.pixels == target, axis=2)
        region = np.zeros_like(same)
        stack = [(y, x)]
        while stack:
            row, col = stack.pop()
            if region[row, col] or not same[row, col]:
                continue
            region[row, col] = True
            if row > 0:
                stack.append((row - 1, col))
            if row < self.size - 1:
                stack.append((row + 1, col))
            if col > 0:
                stack.append((row, col - 1))
            if col < self.size - 1:
                stack.append((row, col + 1))
        return region

    def clear(self) -> None:
        self.snapshot()
        self.pixels[:] = self.background

    def color_at(self, x: int, y: int) -> Color:
        return tuple(int(v) for v in self.pixels[y, x])

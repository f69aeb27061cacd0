"""The sketch canvas as pure numpy: tools, undo/redo. No window needed: the sketch screen draws with it, and
so do the random training pictures (genie_play/data/pictures.py). The palette, the hero stamp and the
starter level are genie_play.levels."""

from collections import deque
from dataclasses import dataclass

import numpy as np

from genie_play.levels import PALETTE, Color, hero_size, stamp_hero, starter_level

MAX_HISTORY = 100


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
        return self._restore(self._undo, self._redo)

    def redo(self) -> bool:
        return self._restore(self._redo, self._undo)

    def _restore(self, source, target) -> bool:
        """Pixels back from one history, the current ones onto the other; False when `source` is empty."""
        if not source:
            return False
        target.append(self.pixels)
        self.pixels = source.pop()
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

    def hero(self, x: int, y: int) -> None:
        """The hero stamp centred on (x, y), clipped to the canvas."""
        self.snapshot()
        self.draw_hero(x, y)

    def draw_hero(self, x: int, y: int) -> None:
        """The hero centred on (x, y) without an undo step (for previews)."""
        width, height = hero_size(self.size)
        stamp_hero(self.pixels, x - width // 2, y - height // 2)

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

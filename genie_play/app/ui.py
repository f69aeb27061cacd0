"""Small drawing helpers shared by the screens: fonts, text, panels, toasts, frame fitting."""

import os
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

WHITE = (240, 240, 240)
GREY = (150, 150, 150)
DIM = (90, 90, 90)
YELLOW = (250, 210, 60)
ORANGE = (250, 150, 50)
RED = (240, 80, 70)
GREEN = (110, 220, 120)
PANEL = (15, 15, 20, 190)
BACKGROUND = (25, 25, 30)
TOAST_SECONDS = 4.0

_fonts: dict[int, pygame.font.Font] = {}


def font(size: int = 20) -> pygame.font.Font:
    """pygame's built-in font, so no font files are needed."""
    if size not in _fonts:
        if not pygame.font.get_init():
            pygame.font.init()
        _fonts[size] = pygame.font.Font(None, size)
    return _fonts[size]


def draw_text(surface: pygame.Surface, text: str, pos: tuple[int, int], color=WHITE, size: int = 20) -> pygame.Rect:
    image = font(size).render(text, True, color)
    return surface.blit(image, pos)


def draw_panel(surface: pygame.Surface, rect: pygame.Rect, color=PANEL) -> None:
    """A translucent box behind overlay text."""
    panel = pygame.Surface(rect.size, pygame.SRCALPHA)
    panel.fill(color)
    surface.blit(panel, rect.topleft)


def lines_panel_size(lines: list[tuple[str, tuple]], size: int = 20, padding: int = 8) -> tuple[int, int]:
    width = max((font(size).size(text)[0] for text, _ in lines), default=0)
    return width + 2 * padding, font(size).get_linesize() * len(lines) + 2 * padding


def draw_lines_panel(surface: pygame.Surface, lines: list[tuple[str, tuple]], topleft: tuple[int, int] | None = None,
                     size: int = 20, padding: int = 8) -> pygame.Rect:
    """Lines of (text, colour) on one translucent panel (centred when topleft is None)."""
    line_height = font(size).get_linesize()
    rect = pygame.Rect((0, 0), lines_panel_size(lines, size, padding))
    if topleft is None:
        rect.center = surface.get_rect().center
    else:
        rect.topleft = topleft
    draw_panel(surface, rect)
    for index, (text, color) in enumerate(lines):
        draw_text(surface, text, (rect.x + padding, rect.y + padding + index * line_height), color, size)
    return rect


def frame_surface(frame: np.ndarray) -> pygame.Surface:
    """(H, W, 3) uint8 -> a pygame surface of the same size."""
    return pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))


def fit_rect(image_size: tuple[int, int], area: pygame.Rect) -> pygame.Rect:
    """The largest integer-scaled rect for an image inside `area`, centred (crisp pixels)."""
    width, height = image_size
    scale = max(1, min(area.width // width, area.height // height))
    rect = pygame.Rect(0, 0, width * scale, height * scale)
    rect.center = area.center
    return rect


def blit_frame(surface: pygame.Surface, frame: np.ndarray, area: pygame.Rect) -> pygame.Rect:
    """Draw a frame nearest-neighbour upscaled to fit `area`; returns where it went."""
    image = frame_surface(frame)
    rect = fit_rect(image.get_size(), area)
    surface.blit(pygame.transform.scale(image, rect.size), rect.topleft)
    return rect


def wrap_text(text: str, max_width: int, size: int = 20) -> list[str]:
    """Split text into lines no wider than max_width pixels (long words stay whole)."""
    lines, current = [], ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and font(size).size(candidate)[0] > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return lines + [current]


@dataclass
class Toast:
    text: str
    until: float
    color: tuple = WHITE


class Toasts:
    """Short messages shown at the bottom of the window for a few seconds."""

    def __init__(self, clock):
        self.clock = clock
        self.items: list[Toast] = []

    def show(self, text: str, color=WHITE, seconds: float = TOAST_SECONDS) -> None:
        self.items.append(Toast(text, self.clock() + seconds, color))
        self.items = self.items[-4:]

    def texts(self) -> list[str]:
        return [toast.text for toast in self.items]

    def draw(self, surface: pygame.Surface) -> None:
        now = self.clock()
        self.items = [toast for toast in self.items if toast.until > now]
        if not self.items:
            return
        max_width = surface.get_width() - 40
        lines = [(line, toast.color) for toast in self.items for line in wrap_text(toast.text, max_width)]
        line_height = font(20).get_linesize()
        top = surface.get_height() - line_height * len(lines) - 24
        draw_lines_panel(surface, lines, (8, top))


def draw_table_panel(surface: pygame.Surface, rows: list[tuple[str, str, tuple]], size: int = 20,
                     padding: int = 10, gap: int = 16) -> pygame.Rect:
    """Two columns (left one right-aligned) on an opaque-ish panel centred in the surface.
    rows: (left text, right text, colour); a row with both texts empty is a spacer."""
    typeface = font(size)
    line_height = typeface.get_linesize()
    left_width = max((typeface.size(left)[0] for left, _, _ in rows), default=0)
    right_width = max((typeface.size(right)[0] for _, right, _ in rows), default=0)
    rect = pygame.Rect(0, 0, left_width + gap + right_width + 2 * padding, line_height * len(rows) + 2 * padding)
    rect.center = surface.get_rect().center
    draw_panel(surface, rect, (10, 10, 15, 225))
    for index, (left, right, color) in enumerate(rows):
        y = rect.y + padding + index * line_height
        draw_text(surface, left, (rect.x + padding + left_width - typeface.size(left)[0], y), color, size)
        draw_text(surface, right, (rect.x + padding + left_width + gap, y), color, size)
    return rect

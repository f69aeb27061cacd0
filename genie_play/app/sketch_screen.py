"""The sketch screen: draw a level on a 64x64 canvas, then press Enter to play it.

Leaving with Esc plays the drawing when it changed since it was last played (or since the screen opened);
with nothing drawn, Esc goes back to the session that was playing. H or F1 lists every key.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygame

from genie_play.canvas import SketchCanvas
from genie_play.errors import GenieError
from genie_play.images import DRAWING_TEXT
from genie_play.levels import PALETTE, Color, hsv_color

from .keymap import key_name_of
from .paths import free_path, numbered_path
from .recorder import save_png
from .ui import BACKGROUND, GREEN, GREY, RED, WHITE, YELLOW, draw_table_panel, draw_text, fit_rect, frame_surface

TOOLBAR_WIDTH = 210
TOOLS = ["brush", "eraser", "line", "rect", "fill", "hero"]
TOOL_KEYS = {"b": "brush", "e": "eraser", "l": "line", "r": "rect", "f": "fill", "p": "hero"}
MAX_BRUSH = 9
TRACE_ALPHA = 110
HUE_STEP = 1 / 12
HINTS = [
    "1-6 palette  7 free colour",
    "C hue  V brightness",
    "right click: pick colour",
    "B E L R F tools  P hero",
    "[ ] or wheel: brush size",
    "Z undo  Y redo  N clear",
    "drop image: trace  T hide",
    "S save PNG  H or F1 help",
    "Enter play  Esc leave",
]
HELP_KEYS = [
    ("1-6", "palette: sky, ground, platform, hazard, coin, player"),
    ("7", "free colour"),
    ("C / Shift+C", "free colour: hue + / -"),
    ("V / Shift+V", "free colour: brightness + / -"),
    ("right click", "pick the colour under the mouse"),
    ("B E L R F", "brush, eraser, line, rectangle, fill"),
    ("P", "hero: click to place the player; the keys move the level past it"),
    ("[  ] / wheel", "brush size - / +"),
    ("Z / Y", "undo / redo"),
    ("N", "clear the canvas"),
    ("drop an image", "trace over it"),
    ("T", "show / hide the traced image"),
    ("S / F12", "save the sketch as PNG"),
    ("Enter", "play the drawing"),
    ("Esc", "play the drawing; nothing drawn: back to the last session"),
    ("H / F1", "this help (Esc closes it)"),
]


@dataclass
class Button:
    rect: pygame.Rect
    kind: str   # "color" | "tool"
    value: str


class SketchScreen:
    def __init__(self, app, size: int, out: Path | None = None, sketch_dir: Path = Path("sketches")):
        self.app = app
        self.canvas = SketchCanvas.starter(size)
        self.out = out              # requested file for the first save, never silently overwritten
        self.sketch_dir = sketch_dir
        self.saved_path: Path | None = None  # this drawing's file: later saves update it, until N clears the canvas
        self.tool = "brush"
        self.color_name = "platform"
        self.free_hue, self.free_value = 0.0, 0.9
        self.free_color: Color = hsv_color(self.free_hue, value=self.free_value)
        self.brush = 2
        self.trace: np.ndarray | None = None  # (size, size, 3) uint8 shown under a veil
        self.trace_visible = True
        self.drag_start: tuple[int, int] | None = None
        self.last_point: tuple[int, int] | None = None
        self.mouse_point: tuple[int, int] | None = None
        self.help_visible = False
        self.played = self.canvas.pixels.copy()  # what Esc compares with: the last drawing played, else the start

    @property
    def drawn(self) -> bool:
        """Something was drawn since the drawing was last played (or since the start)."""
        return not np.array_equal(self.canvas.pixels, self.played)

    @property
    def color(self) -> Color:
        if self.tool == "eraser":
            return self.canvas.background
        return self.free_color if self.color_name == "free" else PALETTE[self.color_name]

    # -- layout --------------------------------------------------------------------------------
    def canvas_rect(self) -> pygame.Rect:
        width, height = self.app.window.get_size()
        area = pygame.Rect(0, 0, max(width - TOOLBAR_WIDTH, 1), height)
        return fit_rect((self.canvas.size, self.canvas.size), area)

    def buttons(self) -> list[Button]:
        left = self.app.window.get_width() - TOOLBAR_WIDTH + 10
        buttons = []
        for index, name in enumerate([*PALETTE, "free"]):
            buttons.append(Button(pygame.Rect(left + (index % 4) * 50, 36 + (index // 4) * 44, 42, 28), "color", name))
        for index, tool in enumerate(TOOLS):
            buttons.append(Button(pygame.Rect(left + (index % 3) * 64, 140 + (index // 3) * 30, 60, 24), "tool", tool))
        return buttons

    def to_canvas(self, pos: tuple[int, int]) -> tuple[int, int] | None:
        """Window pixel -> canvas pixel, None outside the canvas."""
        rect = self.canvas_rect()
        if not rect.collidepoint(pos):
            return None
        return ((pos[0] - rect.x) * self.canvas.size // rect.width,
                (pos[1] - rect.y) * self.canvas.size // rect.height)

    # -- events --------------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame.KEYDOWN:
            self.key_down(key_name_of(event.key), event.mod)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button in (1, 3):
            self.mouse_down(event.pos, event.button)
        elif event.type == pygame.MOUSEMOTION:
            self.mouse_move(event.pos, bool(event.buttons[0]))
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self.mouse_up(event.pos)
        elif event.type == pygame.MOUSEWHEEL:
            self.change_brush(event.y)
        elif event.type == pygame.DROPFILE:
            self.load_trace(event.file)

    def key_down(self, name: str, mod: int = 0) -> None:
        ctrl = bool(mod & pygame.KMOD_CTRL)
        shift = bool(mod & pygame.KMOD_SHIFT)
        if name in TOOL_KEYS:
            self.tool = TOOL_KEYS[name]
        elif len(name) == 1 and name in "123456":
            self.pick_color(list(PALETTE)[int(name) - 1])
        elif name == "7":
            self.pick_color("free")
        elif name == "c":
            self.shift_free_color(hue=-HUE_STEP if shift else HUE_STEP)
        elif name == "v":
            self.shift_free_color(value=-0.15 if shift else 0.15)
        elif name in ("[", "]"):
            self.change_brush(-1 if name == "[" else 1)
        elif name == "y" or (name == "z" and ctrl and shift):
            self.canvas.redo()
        elif name == "z":
            self.canvas.undo()
        elif name == "n":
            self.canvas.clear()
            self.saved_path = None  # a new drawing: its first save takes a new file, the last one stays
        elif name == "t":
            self.trace_visible = not self.trace_visible
        elif name in ("s", "f12"):
            self.save()
        elif name in ("h", "f1"):
            self.help_visible = not self.help_visible
        elif name == "return":
            self.play()
        elif name == "escape":
            self.leave()

    def mouse_down(self, pos: tuple[int, int], button: int) -> None:
        for clicked in self.buttons():
            if button == 1 and clicked.rect.collidepoint(pos):
                if clicked.kind == "color":
                    self.pick_color(clicked.value)
                else:
                    self.tool = clicked.value
                return
        point = self.to_canvas(pos)
        if point is None:
            return
        if button == 3:
            self.free_color = self.canvas.color_at(*point)
            self.color_name = "free"
        elif self.tool in ("brush", "eraser"):
            self.canvas.begin_stroke()
            self.canvas.dab(*point, self.color, self.brush)
            self.last_point = point
        elif self.tool in ("line", "rect"):
            self.drag_start = point
        elif self.tool == "fill":
            self.canvas.fill(*point, self.color)
        elif self.tool == "hero":
            self.canvas.hero(*point)

    def mouse_move(self, pos: tuple[int, int], left_down: bool) -> None:
        self.mouse_point = self.to_canvas(pos) or self.mouse_point
        if not left_down or self.last_point is None:
            return
        point = self.clamped(pos)
        self.canvas.segment(*self.last_point, *point, self.color, self.brush)
        self.last_point = point

    def mouse_up(self, pos: tuple[int, int]) -> None:
        if self.drag_start is not None:
            end = self.clamped(pos)
            if self.tool == "line":
                self.canvas.line(*self.drag_start, *end, self.color, self.brush)
            else:
                self.canvas.rect(*self.drag_start, *end, self.color)
        self.drag_start = self.last_point = None

    def clamped(self, pos: tuple[int, int]) -> tuple[int, int]:
        """Canvas pixel under pos, clamped to the edge (drags may leave the canvas)."""
        rect = self.canvas_rect()
        x = (min(max(pos[0], rect.left), rect.right - 1) - rect.x) * self.canvas.size // rect.width
        y = (min(max(pos[1], rect.top), rect.bottom - 1) - rect.y) * self.canvas.size // rect.height
        return x, y

    # -- actions -------------------------------------------------------------------------------
    def pick_color(self, name: str) -> None:
        self.color_name = name
        if self.tool == "eraser":
            self.tool = "brush"

    def shift_free_color(self, hue: float = 0.0, value: float = 0.0) -> None:
        self.free_hue = (self.free_hue + hue) % 1.0
        self.free_value = min(1.0, max(0.1, self.free_value + value))
        self.free_color = hsv_color(self.free_hue, value=self.free_value)
        self.pick_color("free")

    def change_brush(self, delta: int) -> None:
        self.brush = min(MAX_BRUSH, max(1, self.brush + delta))

    def load_trace(self, path: str) -> None:
        from genie_play.images import load_image  # lazy: the image module is optional at import

        try:
            self.trace = load_image(path, size=self.canvas.size)
        except GenieError as error:
            self.app.toasts.show(str(error), RED, seconds=6.0)
            return
        self.trace_visible = True
        self.app.toasts.show(f"tracing over {Path(path).name} (T hides it)")

    def save(self) -> Path | None:
        if self.saved_path is None:
            self.saved_path = free_path(self.out) if self.out else numbered_path(self.sketch_dir, "sketch", ".png")
        try:
            save_png(self.canvas.pixels, self.saved_path, text=DRAWING_TEXT)  # plays as a drawing when opened again
        except OSError as error:
            self.app.toasts.show(f"sketch not saved: {error.strerror or error} ({self.saved_path})", RED)
            self.saved_path = None
            return None
        self.app.toasts.show(f"saved {self.saved_path}", GREEN)
        return self.saved_path

    def play(self) -> None:
        self.help_visible = False
        self.played = self.canvas.pixels.copy()
        self.app.play.start_from(self.canvas.pixels.copy(), drawn=True)  # (size, size, 3) uint8
        self.app.show("play")

    def leave(self) -> None:
        """Esc: close the help, else play what was drawn, else go back to the session that was playing."""
        if self.help_visible:
            self.help_visible = False
        elif self.drawn:
            self.app.toasts.show("playing your drawing (D: back to the sketch)")
            self.play()
        else:
            self.app.show("play")

    # -- drawing -------------------------------------------------------------------------------
    def preview_pixels(self) -> np.ndarray:
        """The canvas with the line/rect being dragged, or the hero about to be placed, drawn in: (size, size, 3) uint8."""
        if self.tool == "hero" and self.mouse_point is not None:
            preview = SketchCanvas(self.canvas.pixels)
            preview.draw_hero(*self.mouse_point)
            return preview.pixels
        if self.drag_start is None or self.mouse_point is None:
            return self.canvas.pixels
        preview = SketchCanvas(self.canvas.pixels)
        if self.tool == "line":
            preview.segment(*self.drag_start, *self.mouse_point, self.color, self.brush)
        else:
            preview.rect(*self.drag_start, *self.mouse_point, self.color)
        return preview.pixels

    def draw(self, surface: pygame.Surface, now: float) -> None:
        surface.fill(BACKGROUND)
        rect = self.canvas_rect()
        surface.blit(pygame.transform.scale(frame_surface(self.preview_pixels()), rect.size), rect.topleft)
        if self.trace is not None and self.trace_visible:
            veil = pygame.transform.scale(frame_surface(self.trace), rect.size)
            veil.set_alpha(TRACE_ALPHA)
            surface.blit(veil, rect.topleft)
        self.draw_toolbar(surface)
        if self.help_visible:
            draw_table_panel(surface, [("keys", "sketch", YELLOW), *((keys, what, GREY) for keys, what in HELP_KEYS)])

    def draw_toolbar(self, surface: pygame.Surface) -> None:
        left = surface.get_width() - TOOLBAR_WIDTH + 10
        draw_text(surface, "Sketch a level", (left, 10), YELLOW, 24)
        for button in self.buttons():
            selected = (button.value == self.color_name) if button.kind == "color" else (button.value == self.tool)
            if button.kind == "color":
                color = self.free_color if button.value == "free" else PALETTE[button.value]
                pygame.draw.rect(surface, color, button.rect)
                draw_text(surface, button.value, (button.rect.x, button.rect.bottom + 1), GREY, 14)
            else:
                pygame.draw.rect(surface, (60, 60, 70), button.rect)
                draw_text(surface, button.value, (button.rect.x + 6, button.rect.y + 5), WHITE, 18)
            if selected:
                pygame.draw.rect(surface, YELLOW, button.rect.inflate(4, 4), 2)
        draw_text(surface, f"brush {self.brush}px", (left, 206), WHITE, 20)
        for index, hint in enumerate(HINTS):
            draw_text(surface, hint, (left, 236 + index * 17), GREY, 17)

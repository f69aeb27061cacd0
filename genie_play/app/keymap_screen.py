"""The keymap screen: pick a latent code, press a key; conflicts move the key and say so."""

import pygame

from genie_play.errors import KeymapError

from .keymap import default_keymap, key_name_of
from .ui import BACKGROUND, GREEN, GREY, ORANGE, RED, WHITE, YELLOW, draw_panel, draw_text

ROW_HEIGHT = 30
TOP = 56
FOOTER = [
    "Up/Down select   Enter or click: rebind   0-7: rebind that code",
    "Delete: unbind   F5: default keys   Esc or K: back to play",
]


class KeymapScreen:
    def __init__(self, app):
        self.app = app
        self.selected = 0
        self.listening = False
        self.notice: tuple[str, tuple] | None = None  # the last change, kept on screen

    def row_rect(self, code: int) -> pygame.Rect:
        return pygame.Rect(16, TOP + code * ROW_HEIGHT, self.app.window.get_width() - 32, ROW_HEIGHT - 4)

    # -- events --------------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame.KEYDOWN:
            name = key_name_of(event.key)
            if self.listening:
                self.listen(name)
            else:
                self.navigate(name)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            for code in range(self.app.world.num_actions):
                if self.row_rect(code).collidepoint(event.pos):
                    self.selected, self.listening = code, True

    def navigate(self, name: str) -> None:
        count = self.app.world.num_actions
        if name == "up":
            self.selected = (self.selected - 1) % count
        elif name == "down":
            self.selected = (self.selected + 1) % count
        elif name in ("return", "space"):
            self.listening = True
        elif name.isdigit() and int(name) < count:
            self.selected, self.listening = int(name), True
        elif name in ("delete", "backspace"):
            self.unbind(self.selected)
        elif name == "f5":
            self.restore_defaults()
        elif name in ("escape", "k"):
            self.app.show("play")

    def listen(self, name: str) -> None:
        """The key pressed while listening becomes the selected code's key (Esc cancels)."""
        if name == "escape":
            self.listening = False
            return
        try:
            result = self.app.keymap.bind(self.selected, name)
        except KeymapError as error:
            self.say(f"{error}: pick another key", RED)
            return
        self.listening = False
        if result.moved_from is not None:
            self.say(f"'{result.key}' moved from code {result.moved_from} to code {result.code}; "
                     f"code {result.moved_from} is now unbound", ORANGE)
        else:
            self.say(f"code {result.code} -> '{result.key}'", GREEN)
        self.app.save_keymap()

    def unbind(self, code: int) -> None:
        self.app.keymap.unbind(code)
        self.say(f"code {code} is unbound", ORANGE)
        self.app.save_keymap()

    def restore_defaults(self) -> None:
        self.app.keymap = default_keymap(self.app.world.num_actions, self.app.labels)
        self.say("default keys restored", GREEN)
        self.app.save_keymap()

    def say(self, text: str, color) -> None:
        self.notice = (text, color)
        self.app.toasts.show(text, color)

    # -- drawing -------------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface, now: float) -> None:
        surface.fill(BACKGROUND)
        draw_text(surface, "Keys for the latent actions", (16, 14), YELLOW, 30)
        for code in range(self.app.world.num_actions):
            self.draw_row(surface, code)
        bottom = TOP + self.app.world.num_actions * ROW_HEIGHT + 10
        if self.notice is not None:
            draw_text(surface, self.notice[0], (16, bottom), self.notice[1], 20)
        for index, line in enumerate(FOOTER):
            draw_text(surface, line, (16, bottom + 28 + index * 20), GREY, 18)

    def draw_row(self, surface: pygame.Surface, code: int) -> None:
        rect = self.row_rect(code)
        if code == self.selected:
            draw_panel(surface, rect, (70, 70, 90, 255))
        label = self.app.label_of(code) or ""
        key = self.app.keymap.key_for_code(code)
        draw_text(surface, f"code {code}", (rect.x + 8, rect.y + 5), WHITE, 22)
        draw_text(surface, label, (rect.x + 90, rect.y + 5), GREY, 22)
        if code == self.selected and self.listening:
            key_text, color = "press a key... (Esc cancels)", YELLOW
        elif key is None:
            key_text, color = "- unbound -", ORANGE
        else:
            key_text, color = key, GREEN
        draw_text(surface, key_text, (rect.x + 210, rect.y + 5), color, 22)

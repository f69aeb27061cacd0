"""The play screen: the current frame, key presses -> latent codes, HUD, help, live controls."""

from collections import deque
from pathlib import Path

import numpy as np
import pygame

from .keymap import key_name_of
from .paths import numbered_path
from .recorder import GifRecorder, save_png
from .ui import (BACKGROUND, GREEN, GREY, ORANGE, RED, WHITE, YELLOW, blit_frame, draw_lines_panel,
                 draw_table_panel, draw_text)
from .worker import Result

REPEAT_DELAY_S = 0.25     # a held key starts generating continuously after this long
FPS_WINDOW_S = 2.0        # frames/s is measured over the last two seconds
TEMPERATURE_STEP = 0.1
MAX_TEMPERATURE = 2.0
MAX_MASKGIT_STEPS = 32

HELP_CONTROLS = [
    ("Enter / R", "reset to the prompt"),
    ("Backspace / Z", "undo one step"),
    ("[  ]", "temperature - / +"),
    ("-  =", "MaskGIT steps - / +"),
    ("P", "pause"),
    ("F12 / S", "screenshot (PNG)"),
    ("G", "start / stop GIF recording"),
    ("Tab", "show / hide HUD"),
    ("H / F1", "this help"),
    ("K", "remap keys"),
    ("D", "sketch a level"),
    ("drop a file", "play from that image"),
    ("Esc", "quit"),
]


class PlayScreen:
    def __init__(self, app, prompt):
        self.app = app
        self.prompt = prompt  # what Enter resets to: path | PIL.Image | (H, W, 3) uint8
        self.frame: np.ndarray | None = None  # (H, W, 3) uint8, None until the first reset lands
        self.no_frame_reason = "loading..."
        self.last_action: int | None = None
        self.last_latency_s: float | None = None
        self.step_count = 0
        self.can_undo = False
        self.frame_times: deque[float] = deque()
        self.temperature = float(app.world.temperature)
        self.maskgit_steps = int(app.world.maskgit_steps)
        self.paused = False
        self.hud_visible = True
        self.help_visible = False
        self.held: dict[str, float] = {}  # key name -> press time, in press order
        self.recorder = GifRecorder(scale=4)
        self.controls = {
            "return": self.reset, "r": self.reset, "backspace": self.undo, "z": self.undo,
            "[": lambda: self.change_temperature(-TEMPERATURE_STEP),
            "]": lambda: self.change_temperature(+TEMPERATURE_STEP),
            "-": lambda: self.change_maskgit_steps(-1), "=": lambda: self.change_maskgit_steps(+1),
            "p": self.toggle_pause, "f12": self.screenshot, "s": self.screenshot,
            "g": self.toggle_recording, "tab": self.toggle_hud, "h": self.toggle_help,
            "f1": self.toggle_help, "k": lambda: app.show("keymap"), "d": lambda: app.show("sketch"),
            "escape": self.escape,
        }

    # -- events --------------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame.KEYDOWN:
            self.key_down(key_name_of(event.key))
        elif event.type == pygame.KEYUP:
            self.held.pop(key_name_of(event.key), None)
        elif event.type == pygame.DROPFILE:
            self.open_image(event.file)
        elif event.type in (pygame.WINDOWFOCUSLOST, pygame.WINDOWHIDDEN):
            self.held.clear()  # the key-up will never reach us

    def key_down(self, name: str) -> None:
        code = self.app.keymap.code_for_key(name)
        if code is not None:
            self.held[name] = self.app.clock()
            self.request_step(code)
        elif name in self.controls:
            self.controls[name]()

    def request_step(self, code: int) -> None:
        if self.paused:
            self.app.toasts.show("paused: press P to play", YELLOW)
            return
        self.app.worker.request_step(code)  # beyond the short queue the press is dropped

    def update(self, now: float) -> None:
        """Keep generating at the model's pace while a mapped key is held."""
        if self.paused or not self.held:
            return
        name, pressed_at = next(reversed(self.held.items()))  # most recent key wins
        code = self.app.keymap.code_for_key(name)
        if code is not None and now - pressed_at >= REPEAT_DELAY_S and self.app.worker.idle:
            self.app.worker.request_step(code)

    def on_result(self, result: Result, now: float) -> None:
        if result.error is not None:
            self.app.toasts.show(result.error, RED, seconds=6.0)
            self.no_frame_reason = "no picture yet: drop an image on the window, or press D to sketch"
            return
        if result.frame is None:  # settings changed
            return
        self.frame = result.frame
        self.step_count = result.step_count
        self.can_undo = result.can_undo
        if result.kind == "step":
            self.last_action = result.action
            self.last_latency_s = result.latency_s
            self.frame_times.append(now)
        elif result.kind == "reset":
            self.prompt = result.image
            self.last_action = None
        self.recorder.add(self.frame, now)

    # -- controls ------------------------------------------------------------------------------
    def reset(self) -> None:
        self.app.worker.request_reset(self.prompt)

    def start_from(self, image) -> None:
        """Play from a new prompt (a sketch array or a path); becomes the reset target on success."""
        self.app.worker.request_reset(image)

    def open_image(self, path: str) -> None:
        self.app.toasts.show(f"opening {Path(path).name}")
        self.start_from(path)

    def undo(self) -> None:
        if not self.can_undo and self.app.worker.pending_steps == 0 and self.app.worker.idle:
            self.app.toasts.show("nothing to undo")
            return
        self.app.worker.request_undo()

    def change_temperature(self, delta: float) -> None:
        self.temperature = round(min(MAX_TEMPERATURE, max(0.0, self.temperature + delta)), 2)
        self.app.worker.request_settings(temperature=self.temperature)
        self.app.toasts.show(f"temperature {self.temperature:.2f}" + (" (argmax)" if self.temperature == 0 else ""))

    def change_maskgit_steps(self, delta: int) -> None:
        self.maskgit_steps = min(MAX_MASKGIT_STEPS, max(1, self.maskgit_steps + delta))
        self.app.worker.request_settings(maskgit_steps=self.maskgit_steps)
        self.app.toasts.show(f"MaskGIT steps {self.maskgit_steps}")

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self.held.clear()
        self.app.toasts.show("paused" if self.paused else "playing")

    def toggle_hud(self) -> None:
        self.hud_visible = not self.hud_visible

    def toggle_help(self) -> None:
        self.help_visible = not self.help_visible

    def escape(self) -> None:
        if self.help_visible:
            self.help_visible = False
        else:
            self.app.quit()

    def screenshot(self) -> Path | None:
        if self.frame is None:
            return None
        try:
            path = save_png(self.frame, numbered_path(self.app.screenshot_dir, "genie", ".png"), self.app.scale)
        except OSError as error:
            self.app.toasts.show(f"screenshot failed: {error.strerror or error}", RED)
            return None
        self.app.toasts.show(f"saved {path}", GREEN)
        return path

    def toggle_recording(self) -> None:
        if self.recorder.recording:
            self.stop_recording()
        else:
            self.recorder.start(self.frame, self.app.clock())
            self.app.toasts.show("recording GIF: press G to stop", ORANGE)

    def stop_recording(self) -> Path | None:
        path = numbered_path(self.app.recording_dir, "session", ".gif")
        try:
            written = self.recorder.stop(path, self.app.clock())
        except OSError as error:
            self.app.toasts.show(f"recording not saved: {error.strerror or error} ({path})", RED, seconds=6.0)
            return None
        if written is None:
            self.app.toasts.show("recording empty: nothing saved")
        else:
            self.app.toasts.show(f"saved {written}", GREEN)
        return written

    # -- drawing -------------------------------------------------------------------------------
    def frames_per_second(self, now: float) -> float:
        while self.frame_times and now - self.frame_times[0] > FPS_WINDOW_S:
            self.frame_times.popleft()
        if len(self.frame_times) < 2:
            return 0.0
        return (len(self.frame_times) - 1) / max(self.frame_times[-1] - self.frame_times[0], 1e-6)

    def code_text(self, code: int | None) -> str:
        if code is None:
            return "-"
        label = self.app.label_of(code)
        key = self.app.keymap.key_for_code(code)
        return f"{code}" + (f" {label}" if label else "") + (f" [{key}]" if key else "")

    def hud_lines(self, now: float) -> list[tuple[str, tuple]]:
        latency = "-" if self.last_latency_s is None else f"{self.last_latency_s * 1000:.0f} ms"
        lines = [
            (f"{self.frames_per_second(now):.1f} frames/s   latency {latency}", WHITE),
            (f"code {self.code_text(self.last_action)}", WHITE),
            (f"step {self.step_count}   temp {self.temperature:.2f}   MaskGIT {self.maskgit_steps}", WHITE),
        ]
        if self.paused:
            lines.append(("PAUSED (P)", YELLOW))
        if self.recorder.recording:
            lines.append((f"REC {len(self.recorder.frames)} frames (G stops)", RED))
        return lines

    def help_rows(self) -> list[tuple[str, str, tuple]]:
        rows = [("keys", "latent actions", YELLOW)]
        for code in range(self.app.world.num_actions):
            key = self.app.keymap.key_for_code(code)
            label = self.app.label_of(code) or ""
            rows.append((key or "unbound", f"code {code}  {label}", WHITE if key else ORANGE))
        rows.append(("", "", WHITE))
        rows.append(("keys", "controls", YELLOW))
        rows += [(keys, what, GREY) for keys, what in HELP_CONTROLS]
        return rows

    def draw(self, surface: pygame.Surface, now: float) -> None:
        surface.fill(BACKGROUND)
        if self.frame is None:
            draw_text(surface, self.no_frame_reason, (16, surface.get_height() // 2), GREY, 24)
        else:
            blit_frame(surface, self.frame, surface.get_rect())
        if self.hud_visible:
            draw_lines_panel(surface, self.hud_lines(now), (8, 8), size=20)
        if self.help_visible:
            draw_table_panel(surface, self.help_rows())

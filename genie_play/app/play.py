"""The play screen: the current frame, key presses -> latent codes, HUD, help, live controls.

Ghost mode (O, or drop a clip): the LAM reads the latent codes of a source clip and the world replays
them from the prompt, one step at a time; the HUD shows each code read from the clip and the clip's
own frame in a corner. Any mapped key (or undo, reset, O) ends the replay and the player takes over.
"""

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygame

from .keymap import key_name_of
from .paths import numbered_path
from .recorder import GifRecorder, save_png
from .ui import (BACKGROUND, GREEN, GREY, ORANGE, RED, WHITE, YELLOW, blit_frame, draw_lines_panel,
                 draw_table_panel, draw_text)
from .worker import Result

GHOST_INSET = 0.3  # the source clip's frame, as a fraction of the window width

REPEAT_DELAY_S = 0.25     # a held key starts generating continuously after this long
STEPS_PER_SECOND = 15     # a held key (and a ghost replay) steps at Procgen's own interactive pace
REPEAT_SLACK_S = 1 / 120  # half a frame of the UI: a step lands on the frame it falls due in, not the one after
FPS_WINDOW_S = 2.0        # frames/s is measured over the last two seconds
TEMPERATURE_STEP = 0.1
MAX_TEMPERATURE = 2.0
MAX_MASKGIT_STEPS = 32
SHOWN_STEPS = 256         # steps whose code the HUD can show again after undo (the world undoes at most 64)

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
    ("O", "ghost: replay a clip's actions (again: stop)"),
    ("drop a file", "play from that image"),
    ("drop a clip", "ghost replay (.gif animation, .npz, folder)"),
    ("Esc", "quit"),
]


@dataclass
class Ghost:
    """A replay of the codes the LAM read from a clip."""

    clip: object            # genie_play.data.clips.Clip: frames (T, H, W, 3) and name
    codes: np.ndarray       # (T-1,) int64
    requested: int = 0      # steps asked of the worker
    shown: int = 0          # steps whose frame is on screen

    @property
    def name(self) -> str:
        return Path(self.clip.name.split(" env ")[0]).name or self.clip.name

    @property
    def finished(self) -> bool:
        return self.shown >= len(self.codes)


class PlayScreen:
    def __init__(self, app, prompt):
        self.app = app
        self.prompt = prompt  # what Enter resets to: path | PIL.Image | (H, W, 3) uint8
        self.prompt_drawn = None  # True: the prompt is a drawing made in the app (World.reset's `drawn`)
        self.frame: np.ndarray | None = None  # (H, W, 3) uint8, None until the first reset lands
        self.no_frame_reason = "loading..."
        self.last_action: int | None = None  # the code, and the time, of the step that made the frame on screen
        self.last_latency_s: float | None = None
        self.shown_steps: deque[tuple[int, float]] = deque(maxlen=SHOWN_STEPS)  # (code, latency) back to the prompt
        self.step_count = 0
        self.can_undo = False
        self.frame_times: deque[float] = deque()
        self.temperature = float(app.world.temperature)
        self.maskgit_steps = int(app.world.maskgit_steps)
        self.paused = False
        self.hud_visible = True
        self.help_visible = False
        self.held: dict[str, float] = {}  # key name -> press time, in press order
        self.repeat_due = -float("inf")  # clock time from which a held key or the ghost may ask for the next step
        self.recorder = GifRecorder(scale=4)
        self.ghost: Ghost | None = None
        self.ghost_pending = False  # a clip is being read; a mapped key before it lands cancels it
        self.clip_source = None     # the clip O replays: from --clip or the last one dropped
        self.bundled_index = 0      # else O cycles through assets/clips/
        self.controls = {
            "return": self.reset, "r": self.reset, "backspace": self.undo, "z": self.undo,
            "[": lambda: self.change_temperature(-TEMPERATURE_STEP),
            "]": lambda: self.change_temperature(+TEMPERATURE_STEP),
            "-": lambda: self.change_maskgit_steps(-1), "=": lambda: self.change_maskgit_steps(+1),
            "p": self.toggle_pause, "f12": self.screenshot, "s": self.screenshot,
            "g": self.toggle_recording, "tab": self.toggle_hud, "h": self.toggle_help,
            "f1": self.toggle_help, "k": lambda: app.show("keymap"), "d": lambda: app.show("sketch"),
            "o": self.toggle_ghost, "escape": self.escape,
        }

    # -- events --------------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame.KEYDOWN:
            self.key_down(key_name_of(event.key))
        elif event.type == pygame.KEYUP:
            self.held.pop(key_name_of(event.key), None)
        elif event.type == pygame.DROPFILE:
            self.open_file(event.file)
        elif event.type in (pygame.WINDOWFOCUSLOST, pygame.WINDOWHIDDEN):
            self.held.clear()  # the key-up will never reach us

    def key_down(self, name: str) -> None:
        code = self.app.keymap.code_for_key(name)
        if code is not None:
            if self.ghost is not None or self.ghost_pending:
                self.stop_ghost("you took over")
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
        """Keep generating while a mapped key is held, or the ghost replays: a step each 1 / app.steps_per_second
        seconds at most (0: as fast as the model runs), and only once the last one is on screen."""
        if self.paused or not self.app.worker.idle or now < self.repeat_due:
            return
        ghost = self.ghost
        if ghost is not None:
            if ghost.requested < len(ghost.codes):
                self.request_repeat(int(ghost.codes[ghost.requested]), now)
                ghost.requested += 1
            return
        if not self.held:
            return
        name, pressed_at = next(reversed(self.held.items()))  # most recent key wins
        code = self.app.keymap.code_for_key(name)
        if code is not None and now - pressed_at >= REPEAT_DELAY_S:
            self.request_repeat(code, now)

    def request_repeat(self, code: int, now: float) -> None:
        self.app.worker.request_step(code)
        rate = self.app.steps_per_second
        self.repeat_due = now + (1.0 / rate if rate > 0 else 0.0) - REPEAT_SLACK_S

    def on_result(self, result: Result, now: float) -> None:
        if result.error is not None:
            self.app.toasts.show(result.error, RED, seconds=6.0)
            self.no_frame_reason = "no picture yet: drop an image on the window, or press D to sketch"
            self.ghost, self.ghost_pending = None, False
            return
        if result.frame is None:  # settings changed
            return
        undone = result.kind == "undo" and result.step_count < self.step_count
        self.frame = result.frame
        self.step_count = result.step_count
        self.can_undo = result.can_undo
        if result.kind == "step":
            self.shown_steps.append((result.action, result.latency_s))
            self.frame_times.append(now)
            if self.ghost is not None:
                self.ghost.shown += 1
        elif undone and self.shown_steps:
            self.shown_steps.pop()
        elif result.kind in ("reset", "ghost"):
            self.prompt, self.prompt_drawn = result.image, result.drawn
            self.shown_steps.clear()
        self.last_action, self.last_latency_s = self.shown_steps[-1] if self.shown_steps else (None, None)
        if result.kind == "ghost" and self.ghost_pending:
            self.ghost_pending = False
            clip, codes = result.ghost
            self.ghost = Ghost(clip, np.asarray(codes))
            self.app.toasts.show(f"ghost: replaying {len(codes)} codes read from {self.ghost.name}; "
                                 "a mapped key takes over", ORANGE)
        self.recorder.add(self.frame, now)
        if self.ghost is not None and self.ghost.finished:
            self.stop_ghost(f"ghost replay done ({len(self.ghost.codes)} steps): your turn")

    # -- controls ------------------------------------------------------------------------------
    def reset(self) -> None:
        self.stop_ghost()
        self.app.worker.request_reset(self.prompt, self.prompt_drawn)

    def start_from(self, image, drawn: bool | None = None) -> None:
        """Play from a new prompt (a sketch array or a path; drawn: a drawing made in the app); becomes the reset
        target on success."""
        self.stop_ghost()
        self.app.worker.request_reset(image, drawn)

    def open_image(self, path: str) -> None:
        self.app.toasts.show(f"opening {Path(path).name}")
        self.start_from(path)

    def open_file(self, path: str) -> None:
        """A dropped file: a clip (animation, .npz shard, folder) starts a ghost replay; an image is a prompt."""
        from genie_play.data.clips import is_clip_file

        if is_clip_file(path):
            self.clip_source = path
            self.start_ghost(path)
        else:
            self.open_image(path)

    # -- ghost mode ----------------------------------------------------------------------------
    def start_ghost(self, clip, prompt=None, drawn: bool | None = None) -> None:
        """Replay the codes the LAM reads from `clip` (a path or a loaded Clip). The world restarts
        from `prompt` (`drawn`: as World.reset), else the current prompt once one has loaded, else the clip's
        first frame."""
        self.stop_ghost()
        if prompt is None and self.frame is not None:
            prompt, drawn = self.prompt, self.prompt_drawn
        name = Path(str(getattr(clip, "name", clip))).name
        self.app.toasts.show(f"ghost: reading the actions of {name}...", ORANGE)
        self.ghost_pending = True
        self.app.worker.request_ghost(clip, prompt, drawn)

    def stop_ghost(self, message: str | None = None) -> None:
        if self.ghost is None and not self.ghost_pending:
            return
        self.ghost, self.ghost_pending = None, False
        if message:
            self.app.toasts.show(message, GREEN)

    def toggle_ghost(self) -> None:
        """O: stop a running ghost replay, else replay the current clip (or the next bundled one)."""
        if self.ghost is not None or self.ghost_pending:
            self.stop_ghost("ghost stopped: your turn")
            return
        source = self.clip_source
        if source is None:
            from genie_play.data.clips import bundled_clips

            clips = bundled_clips()
            if not clips:
                self.app.toasts.show("no clip to replay: drop a clip (.gif animation, .npz shard, folder of "
                                     "frames) on the window, or start with `play --clip`", YELLOW)
                return
            source = clips[self.bundled_index % len(clips)]
            self.bundled_index += 1
        self.start_ghost(source)

    def undo(self) -> None:
        self.stop_ghost("you took over")
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
            self.app.toasts.show(f"screenshot failed: {error.strerror or error} ({self.app.screenshot_dir})", RED)
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
        if getattr(self.app.world, "view_held", False):
            lines.append(("view held: the camera gate judged this picture not to scroll", GREY))
        elif getattr(self.app.world, "vertical_held", False):
            lines.append(("camera up/down off: the gate took this for a game frame", GREY))
        if self.ghost is not None:
            lines += self.ghost_lines()
        if self.paused:
            lines.append(("PAUSED (P)", YELLOW))
        if self.recorder.recording:
            lines.append((f"REC {len(self.recorder.frames)} frames (G stops)", RED))
        return lines

    def ghost_lines(self) -> list[tuple[str, tuple]]:
        ghost = self.ghost
        code = ghost.codes[ghost.shown - 1] if ghost.shown else None
        return [
            (f"GHOST {ghost.name}  step {ghost.shown}/{len(ghost.codes)}", ORANGE),
            (f"clip read as code {self.code_text(code)}", ORANGE),
            ("a mapped key takes over, O stops", GREY),
        ]

    def draw_ghost_inset(self, surface: pygame.Surface) -> None:
        """The source clip's frame at the step on screen, top right."""
        ghost = self.ghost
        frames = ghost.clip.frames
        side = max(16, int(surface.get_width() * GHOST_INSET))
        area = pygame.Rect(surface.get_width() - side - 8, 8, side, side)
        rect = blit_frame(surface, frames[min(ghost.shown, len(frames) - 1)], area)
        pygame.draw.rect(surface, ORANGE, rect.inflate(4, 4), 2)
        draw_text(surface, "clip", (rect.x + 4, rect.bottom - 18), ORANGE, 18)

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
        if self.ghost is not None and self.hud_visible:
            self.draw_ghost_inset(surface)
        if self.hud_visible:
            draw_lines_panel(surface, self.hud_lines(now), (8, 8), size=20)
        if self.help_visible:
            draw_table_panel(surface, self.help_rows())

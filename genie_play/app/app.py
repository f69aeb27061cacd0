"""The window and its loop. Knows the World only through reset/step/undo (via the worker).

Drive it for real with `App(...).run()`, or frame by frame in tests:
`app.handle_event(event)`, `app.worker.wait_idle()`, `app.tick()`.
"""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from genie_play.errors import GenieError  # noqa: E402
from genie_play.labels import known_labels  # noqa: E402
from genie_play.levels import starter_level  # noqa: E402

from .keymap import KeymapStore  # noqa: E402
from .keymap_screen import KeymapScreen  # noqa: E402
from .play import STEPS_PER_SECOND, PlayScreen  # noqa: E402
from .sketch_screen import TOOLBAR_WIDTH, SketchScreen  # noqa: E402
from .ui import RED, Toasts  # noqa: E402
from .worker import WorldWorker  # noqa: E402

UI_FPS = 60
SKETCH_MIN_HEIGHT = 400  # the toolbar's hints need this much


def sketch_window_size(size: tuple[int, int]) -> tuple[int, int]:
    """A window at least big enough for the sketch toolbar beside a square canvas."""
    height = max(size[1], SKETCH_MIN_HEIGHT)
    return max(size[0], height + TOOLBAR_WIDTH), height


class App:
    def __init__(self, world, prompt=None, *, scale: int = 8, start: str = "play",
                 screenshot_dir: str | os.PathLike = "screenshots",
                 recording_dir: str | os.PathLike = "recordings",
                 sketch_dir: str | os.PathLike = "sketches", sketch_out: str | os.PathLike | None = None,
                 keymap_store: KeymapStore | None = None, clock=time.monotonic, clip=None,
                 steps_per_second: float = STEPS_PER_SECOND, prompt_drawn: bool | None = None):
        """prompt: path | PIL.Image | (H, W, 3) uint8; None starts from the built-in starter level.
        prompt_drawn: the prompt is a drawing (World.reset's `drawn`; None: the world decides).
        clip: a clip path or genie_play.data.clips.Clip to start a ghost replay of (from the prompt).
        steps_per_second: how fast a held key (or a ghost replay) steps the world; 0: as fast as it runs."""
        self.world = world
        self.steps_per_second = steps_per_second
        self.scale = scale
        self.clock = clock
        self.screenshot_dir = Path(screenshot_dir)
        self.recording_dir = Path(recording_dir)
        self.running = True
        self.window = self.open_window(start)
        self.toasts = Toasts(clock)
        self.labels = known_labels(world)
        self.keymap_store = keymap_store or KeymapStore(world.weights_id, world.num_actions, self.labels)
        self.keymap = self.load_keymap()
        self.worker = WorldWorker(world)
        self.play = PlayScreen(self, prompt if prompt is not None else starter_level(world.image_size))
        self.play.prompt_drawn = prompt_drawn
        self.sketch = SketchScreen(self, world.image_size, Path(sketch_out) if sketch_out else None,
                                   Path(sketch_dir))
        self.keymap_screen = KeymapScreen(self)
        self.screens = {"play": self.play, "sketch": self.sketch, "keymap": self.keymap_screen}
        self.screen = self.screens[start]
        if clip is not None:
            self.play.clip_source = clip
        if start == "play" and clip is not None:
            self.play.start_ghost(clip, self.play.prompt, prompt_drawn)
        elif start == "play":
            self.play.reset()
        self.toasts.show("H or F1: help")

    def open_window(self, start: str) -> pygame.Surface:
        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption("genie_play")
        side = self.world.image_size * self.scale
        size = sketch_window_size((side, side)) if start == "sketch" else (side, side)
        try:
            return pygame.display.set_mode(size, pygame.RESIZABLE)
        except pygame.error as error:
            raise GenieError(f"cannot open a window ({error}); without a display, use `render`") from None

    def load_keymap(self):
        loaded = self.keymap_store.load()
        if loaded.warning:
            print(f"warning: {loaded.warning}", file=sys.stderr)
            self.toasts.show(loaded.warning, RED, seconds=8.0)
        return loaded.keymap

    def save_keymap(self) -> None:
        try:
            self.keymap_store.save(self.keymap)
        except OSError as error:
            self.toasts.show(f"keymap not saved: {error.strerror or error} ({self.keymap_store.path})", RED)

    def label_of(self, code: int) -> str | None:
        if self.labels and code < len(self.labels):
            return self.labels[code]
        return None

    def show(self, name: str) -> None:
        self.screen = self.screens[name]
        if name == "sketch" and sketch_window_size(self.window.get_size()) != self.window.get_size():
            self.window = pygame.display.set_mode(sketch_window_size(self.window.get_size()), pygame.RESIZABLE)
        if name == "play":
            self.play.held.clear()
            if self.play.frame is None and self.worker.idle:  # started on the sketch screen
                self.play.reset()

    def quit(self) -> None:
        self.running = False

    # -- loop ----------------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            self.quit()
        else:
            self.screen.handle_event(event)

    def tick(self) -> bool:
        """Apply finished World results, update, draw one frame. False once the app should quit."""
        now = self.clock()
        for result in self.worker.poll():
            self.play.on_result(result, now)
        if self.screen is self.play:
            self.play.update(now)
        self.screen.draw(self.window, now)
        self.toasts.draw(self.window)
        pygame.display.flip()
        return self.running

    def run(self, max_frames: int | None = None) -> None:
        """The real event loop; max_frames bounds it (for smoke tests and screenshots)."""
        frame_clock = pygame.time.Clock()
        frames = 0
        try:
            while self.running and (max_frames is None or frames < max_frames):
                for event in pygame.event.get():
                    self.handle_event(event)
                self.tick()
                frame_clock.tick(UI_FPS)
                frames += 1
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker; a recording in progress is saved rather than lost."""
        if self.play.recorder.recording:
            saved = self.play.stop_recording()
            print(f"recording saved to {saved}" if saved else self.toasts.texts()[-1], file=sys.stderr)
        self.worker.stop()
        pygame.display.quit()

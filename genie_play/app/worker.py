"""Runs every World call on one background thread so the window never freezes.

The UI posts commands (step, undo, reset, ghost, settings) and polls results. Pending steps are capped:
presses beyond the cap are dropped rather than piling up seconds of lag.
"""

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from genie_play.errors import GenieError

MAX_PENDING_STEPS = 4


@dataclass
class Command:
    kind: str                 # "step" | "undo" | "reset" | "ghost" | "settings"
    action: int | None = None
    image: object = None      # for reset and ghost: path | PIL.Image | (H, W, 3) array (ghost: None = clip's first frame)
    drawn: bool | None = None  # for reset and ghost: the image is a drawing made in the app (World.reset)
    clip: object = None       # for ghost: a clip path or a loaded genie_play.data.clips.Clip
    temperature: float | None = None
    maskgit_steps: int | None = None


@dataclass
class Result:
    kind: str                        # the command's kind
    frame: np.ndarray | None = None  # (H, W, 3) uint8 after the command; None on error
    action: int | None = None
    latency_s: float = 0.0
    step_count: int = 0
    can_undo: bool = False
    error: str | None = None         # one line for the user when the command failed
    image: object = None             # the reset image, so the UI can adopt it as the prompt
    drawn: bool | None = None        # whether that image is a drawing made in the app (None: as World.reset)
    ghost: object = None             # for ghost: (clip, codes (T-1,) int64) read by the LAM


class WorldWorker:
    def __init__(self, world, max_pending_steps: int = MAX_PENDING_STEPS):
        self.world = world
        self.max_pending_steps = max_pending_steps
        self._commands: deque[Command] = deque()
        self._results: deque[Result] = deque()
        self._condition = threading.Condition()
        self._busy = False
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="world-worker", daemon=True)
        self._thread.start()

    # -- UI side -------------------------------------------------------------------------------
    def request_step(self, action: int) -> bool:
        """Queue one step; False (dropped) when the queue already holds enough steps."""
        with self._condition:
            if self._pending_steps() >= self.max_pending_steps:
                return False
            self._post(Command("step", action=action))
            return True

    def request_undo(self) -> None:
        with self._condition:
            self._post(Command("undo"))

    def request_reset(self, image, drawn: bool | None = None) -> None:
        """Queued steps are dropped: they were meant for the frame being thrown away."""
        with self._condition:
            self._drop_steps()
            self._post(Command("reset", image=image, drawn=drawn))

    def request_ghost(self, clip, image=None, drawn: bool | None = None) -> None:
        """Load `clip`, read its latent codes with the LAM, reset to `image` (None: the clip's first
        frame). Like a reset, queued steps are dropped."""
        with self._condition:
            self._drop_steps()
            self._post(Command("ghost", image=image, clip=clip, drawn=drawn if image is not None else None))

    def request_settings(self, temperature: float | None = None, maskgit_steps: int | None = None) -> None:
        with self._condition:
            self._post(Command("settings", temperature=temperature, maskgit_steps=maskgit_steps))

    def poll(self) -> list[Result]:
        with self._condition:
            results = list(self._results)
            self._results.clear()
            return results

    @property
    def idle(self) -> bool:
        with self._condition:
            return not self._busy and not self._commands

    @property
    def pending_steps(self) -> int:
        with self._condition:
            return self._pending_steps()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued command has run (used by tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._busy or self._commands:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def stop(self, timeout: float = 2.0) -> None:
        with self._condition:
            self._stopping = True
            self._commands.clear()
            self._condition.notify_all()
        self._thread.join(timeout)

    def _post(self, command: Command) -> None:
        self._commands.append(command)
        self._condition.notify_all()

    def _drop_steps(self) -> None:
        kept = [c for c in self._commands if c.kind != "step"]
        self._commands.clear()
        self._commands.extend(kept)

    def _pending_steps(self) -> int:
        return sum(1 for c in self._commands if c.kind == "step")

    # -- worker thread -------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._condition:
                while not self._commands and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                command = self._commands.popleft()
                self._busy = True
            result = self._run(command)
            with self._condition:
                self._results.append(result)
                self._condition.notify_all()
            settle = getattr(self.world, "settle", None)
            if settle is not None and command.kind == "step":
                settle()  # finish the cache update while the new frame is on screen
            with self._condition:
                self._busy = False
                self._condition.notify_all()

    def _run(self, command: Command) -> Result:
        start = time.perf_counter()
        ghost = None
        try:
            if command.kind == "ghost":
                frame, ghost, command.image = self._ghost(command)
            else:
                frame = self._apply(command)
        except GenieError as error:
            return Result(command.kind, action=command.action, error=str(error))
        except Exception as error:  # a model bug must not kill the session; report it
            return Result(command.kind, action=command.action,
                          error=f"{command.kind} failed: {type(error).__name__}: {error}")
        return Result(command.kind, frame=None if frame is None else np.array(frame, dtype=np.uint8),
                      action=command.action, latency_s=time.perf_counter() - start,
                      step_count=self.world.step_count, can_undo=self.world.can_undo,
                      image=command.image, drawn=command.drawn, ghost=ghost)

    def _ghost(self, command: Command):
        """-> (first frame, (clip, codes), the prompt used)."""
        from genie_play.data.clips import load_clip
        from genie_play.mimic import infer_codes

        clip = load_clip(command.clip, size=self.world.image_size)
        codes = infer_codes(self.world, clip.frames)
        image = clip.frames[0] if command.image is None else command.image
        return self.world.reset(image, drawn=command.drawn), (clip, codes), image

    def _apply(self, command: Command):
        world = self.world
        if command.kind == "step":
            return world.step(command.action)
        if command.kind == "undo":
            return world.undo()
        if command.kind == "reset":
            return world.reset(command.image, drawn=command.drawn)
        if command.temperature is not None:
            world.temperature = command.temperature
        if command.maskgit_steps is not None:
            world.maskgit_steps = command.maskgit_steps
        return None

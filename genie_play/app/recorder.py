"""Animated GIF and PNG output, always written atomically (no partial file on failure)."""

import os
from pathlib import Path

import numpy as np

from genie_play.media import save_gif, save_png, save_strip, upscale  # noqa: F401 (re-exported for the app)

MIN_FRAME_MS = 20    # GIF viewers clamp shorter delays anyway
MAX_FRAME_MS = 1000  # a long pause in play should not freeze the GIF


class GifRecorder:
    """Collects the frames shown during play, with their real timing, then writes one GIF."""

    def __init__(self, scale: int = 4):
        self.scale = scale
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.recording = False

    def start(self, frame: np.ndarray | None, now: float) -> None:
        self.frames, self.times, self.recording = [], [], True
        if frame is not None:
            self.add(frame, now)

    def add(self, frame: np.ndarray, now: float) -> None:
        if self.recording:
            self.frames.append(np.array(frame, dtype=np.uint8))  # (H, W, 3)
            self.times.append(now)

    def durations_ms(self, now: float) -> list[int]:
        """How long each frame stayed on screen; the last one until `now`."""
        ends = self.times[1:] + [now]
        return [int(np.clip((end - begin) * 1000, MIN_FRAME_MS, MAX_FRAME_MS))
                for begin, end in zip(self.times, ends)]

    def stop(self, path: str | os.PathLike, now: float) -> Path | None:
        """Write the GIF (None when nothing was recorded). Raises OSError when it cannot be
        written; the frames are then dropped and no partial file is left."""
        self.recording = False
        frames, durations = self.frames, self.durations_ms(now)
        self.frames, self.times = [], []
        if not frames:
            return None
        return save_gif(frames, path, durations, self.scale)

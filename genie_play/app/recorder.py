"""Animated GIF and PNG output, always written atomically (no partial file on failure)."""

import os
from pathlib import Path

import numpy as np
from PIL import Image

from genie_play.atomic import atomic_path

MIN_FRAME_MS = 20    # GIF viewers clamp shorter delays anyway
MAX_FRAME_MS = 1000  # a long pause in play should not freeze the GIF


def upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (H*scale, W*scale, 3) uint8, nearest neighbour."""
    return np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)


def save_gif(frames: list[np.ndarray], path: str | os.PathLike, durations_ms: list[int] | int = 100,
             scale: int = 1) -> Path:
    """frames: list of (H, W, 3) uint8. Atomic: on any error no file is left at `path`."""
    if not frames:
        raise ValueError("no frames to save")
    images = [Image.fromarray(upscale(np.asarray(f, dtype=np.uint8), scale)) for f in frames]
    path = Path(path)
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=durations_ms, loop=0, disposal=1)
    return path


def save_png(frame: np.ndarray, path: str | os.PathLike, scale: int = 1) -> Path:
    """(H, W, 3) uint8 -> PNG, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(upscale(np.asarray(frame, dtype=np.uint8), scale)).save(tmp, format="PNG")
    return path


def save_strip(frames: list[np.ndarray], path: str | os.PathLike, scale: int = 1) -> Path:
    """Frames side by side in one PNG: (H, W*len(frames), 3)."""
    return save_png(np.concatenate([np.asarray(f, dtype=np.uint8) for f in frames], axis=1), path, scale)


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

"""Writing frames to disk: animated GIFs, PNGs and PNG strips, always atomically (no partial file on failure)."""

import os
from pathlib import Path

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from genie_play.atomic import atomic_path, refuse_to_replace
from genie_play.errors import GenieError


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


def save_new_gif(frames: list[np.ndarray], path: str | os.PathLike, frame_ms: int = 100,
                 overwrite: bool = False) -> Path:
    """save_gif for a file the user named: refuses to replace an existing file unless `overwrite`, and a
    failed write is one GenieError line."""
    path = Path(path)
    refuse_to_replace(path, overwrite)
    try:
        save_gif(frames, path, frame_ms)
    except OSError as error:
        raise GenieError(f"{path}: cannot write ({error.strerror or error})") from None
    return path


def save_png(frame: np.ndarray, path: str | os.PathLike, scale: int = 1, text: dict[str, str] | None = None) -> Path:
    """(H, W, 3) uint8 -> PNG, atomically; `text`: PNG text entries to store with it."""
    path = Path(path)
    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    with atomic_path(path) as tmp:
        Image.fromarray(upscale(np.asarray(frame, dtype=np.uint8), scale)).save(tmp, format="PNG", pnginfo=info)
    return path


def save_strip(frames: list[np.ndarray], path: str | os.PathLike, scale: int = 1) -> Path:
    """Frames side by side in one PNG: (H, W*len(frames), 3)."""
    return save_png(np.concatenate([np.asarray(f, dtype=np.uint8) for f in frames], axis=1), path, scale)

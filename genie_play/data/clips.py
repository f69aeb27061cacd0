"""Clips: short videos read from disk for the LAM to read actions from.

A clip is an animated image (GIF, animated PNG/WebP), a folder of frame images (sorted by name,
numbers in names compared as numbers) or a `genie-play collect` shard (.npz: one environment,
a window of frames). `load_clip` turns any of them into frames (T, S, S, 3) uint8 or raises
`ClipError` with one line; `shard_clips` draws many clips from shards, each inside one episode.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from genie_play.data.shards import read_shard
from genie_play.errors import GenieError
from genie_play.images import load_image

BUNDLED_CLIPS = Path(__file__).resolve().parent.parent.parent / "assets" / "clips"
SHARD_FRAMES = 32          # frames taken from a .npz shard when --frames is not given
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".tga", ".qoi")
CLIP_SUFFIXES = (".gif", ".png", ".webp", ".npz")  # files that may hold a whole clip


class ClipError(GenieError):
    """A source clip that cannot be used: unreadable, too short, frames of mixed sizes."""


@dataclass
class Clip:
    frames: np.ndarray            # (T, S, S, 3) uint8, T >= 2
    name: str                     # where it came from, for messages: "run.gif", "shard.npz env 0 frames 0-31"
    episode_starts: list[int] = field(default_factory=list)  # shards: clip indices where a new episode begins

    def __len__(self) -> int:
        return len(self.frames)


def load_clip(source, *, size: int = 64, env: int = 0, start: int = 0, frames: int | None = None) -> Clip:
    """A clip from a path (animated image, folder of frames, .npz shard), a Clip, or an array (T, H, W, 3).

    start/frames pick a window (default: every frame; SHARD_FRAMES for a shard); env picks a
    shard's environment. Each frame is made square and `size` pixels wide as `load_image` does.
    Raises ClipError (one line) for anything unusable.
    """
    if start < 0:
        raise ClipError(f"start frame must be >= 0, got {start}")
    if frames is not None and frames < 2:
        raise ClipError(f"a clip needs at least 2 frames, asked for {frames}")
    if isinstance(source, Clip):
        return _finish(source.frames, source.name, size, start, frames, source.episode_starts)
    if isinstance(source, np.ndarray):
        if source.ndim != 4 or source.shape[-1] != 3:
            raise ClipError(f"<array>: a clip array must be (T, H, W, 3), got {source.shape}")
        return _finish(list(source), "<array>", size, start, frames)
    try:
        path = Path(os.fsdecode(os.fspath(source)))
    except TypeError:
        raise ClipError(f"<{type(source).__name__}>: not a clip (expected a file or folder path)") from None
    if not path.exists():
        raise ClipError(f"{path}: no such file or folder")
    if path.is_dir():
        return _finish(_folder_frames(path), str(path), size, start, frames)
    if path.suffix.lower() == ".npz":
        return _shard_clip(path, size, env, start, SHARD_FRAMES if frames is None else frames)
    return _finish(_animation_frames(path), str(path), size, start, frames)


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _folder_frames(folder: Path) -> list[np.ndarray]:
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES
                    and not p.name.startswith(".")), key=_natural_key)
    if not files:
        raise ClipError(f"{folder}: no frame images in the folder ({', '.join(FRAME_SUFFIXES[:4])}...)")
    sizes = {}
    for file in files:
        try:
            with Image.open(file) as im:
                sizes[file] = im.size
        except Exception as error:  # PIL raises assorted types for a bad file
            raise ClipError(f"{file}: not a readable image ({type(error).__name__})") from None
    first = files[0]
    odd = next((f for f in files if sizes[f] != sizes[first]), None)
    if odd is not None:
        (w0, h0), (w1, h1) = sizes[first], sizes[odd]
        raise ClipError(f"{folder}: frames have mixed sizes ({first.name} is {w0}x{h0}, {odd.name} is {w1}x{h1})")
    return files  # loaded (and made square) in _finish


def _animation_frames(path: Path) -> list:
    try:
        with Image.open(path) as im:
            count = getattr(im, "n_frames", 1)
            if count < 2:
                raise ClipError(f"{path}: only one frame; a clip needs at least 2 (an animated GIF, "
                                "a folder of frames or a .npz shard)")
            images = []
            for index in range(count):
                im.seek(index)
                images.append(im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB"))
    except ClipError:
        raise
    except Exception as error:  # unidentified, truncated, corrupt
        reason = "not a readable image or animation" if isinstance(error, (OSError, SyntaxError)) else type(error).__name__
        raise ClipError(f"{path}: {reason}") from None
    sizes = {im.size for im in images}
    if len(sizes) > 1:
        raise ClipError(f"{path}: frames have mixed sizes ({', '.join(f'{w}x{h}' for w, h in sorted(sizes))})")
    return images


def _shard_clip(path: Path, size: int, env: int, start: int, frames: int) -> Clip:
    try:
        arrays, _ = read_shard(path)
    except GenieError as error:
        raise ClipError(str(error)) from None
    video = arrays["frames"]  # (E, S, H, W, 3)
    if video.ndim != 5 or video.shape[-1] != 3:
        raise ClipError(f"{path}: shard frames must be (envs, steps, H, W, 3), got {video.shape}")
    envs, steps = video.shape[:2]
    if not 0 <= env < envs:
        raise ClipError(f"{path}: --env {env} is out of range (the shard has environments 0..{envs - 1})")
    if start > steps - 2:
        raise ClipError(f"{path}: --start {start} leaves fewer than 2 frames (the shard has {steps} steps)")
    end = min(steps, start + frames)
    first = arrays["first"][env, start:end]
    starts = [int(i) for i in np.flatnonzero(first) if i > 0]
    return _finish(list(video[env, start:end]), f"{path} env {env} frames {start}-{end - 1}", size, 0, None, starts)


def _finish(images: list, name: str, size: int, start: int, frames: int | None,
            episode_starts: list[int] | None = None) -> Clip:
    """Window, then square-crop and resize every frame to (size, size, 3) uint8."""
    if len(images) < 2:
        raise ClipError(f"{name}: only one frame; a clip needs at least 2" if images else f"{name}: no frames")
    if start > len(images) - 2:
        raise ClipError(f"{name}: start frame {start} leaves fewer than 2 of its {len(images)} frames")
    end = len(images) if frames is None else min(len(images), start + frames)
    picked = images[start:end]
    shapes = {im.shape[:2] if isinstance(im, np.ndarray) else im.size[::-1]
              for im in picked if not isinstance(im, Path)}  # a folder's sizes are checked when listed
    if len(shapes) > 1:
        raise ClipError(f"{name}: frames have mixed sizes ({', '.join(f'{w}x{h}' for h, w in sorted(shapes))})")
    loaded = []
    for index, im in enumerate(picked):
        try:
            loaded.append(load_image(im, size))
        except GenieError as error:  # a frame file's error names the file already
            raise ClipError(str(error) if isinstance(im, Path) else f"{name}: frame {start + index}: {error}") from None
    out = np.stack(loaded)
    starts = [i - start for i in (episode_starts or []) if start < i < end]
    return Clip(out, name, starts)


def is_clip_file(path) -> bool:
    """True for what `load_clip` reads as a clip rather than a single prompt image:
    a folder, a .npz shard, or an image file with more than one frame."""
    try:
        path = Path(os.fsdecode(os.fspath(path)))
        if path.is_dir():
            return True
        if path.suffix.lower() == ".npz":
            return True
        if path.suffix.lower() not in CLIP_SUFFIXES or not path.is_file():
            return False
        with Image.open(path) as im:
            return getattr(im, "n_frames", 1) > 1
    except Exception:
        return False


def bundled_clips() -> list[Path]:
    """The clips shipped in assets/clips/ (sorted)."""
    if not BUNDLED_CLIPS.is_dir():
        return []
    return sorted(p for p in BUNDLED_CLIPS.iterdir() if is_clip_file(p) and not p.name.startswith("."))


def shard_clips(paths, count: int, length: int, seed: int = 0, skip: int = 0) -> list[Clip]:
    """`count` clips of `length` frames from shards, each inside one episode and from distinct
    (shard, env, level), drawn reproducibly with `seed`; `skip` drops that many draws first."""
    rng = np.random.default_rng(seed)
    candidates = []
    loaded = []
    for path in sorted(Path(p) for p in paths):
        arrays, _ = read_shard(path)
        loaded.append((path, arrays))
        envs, steps = arrays["first"].shape
        for env in range(envs):
            for start in range(0, steps - length + 1, length):
                if not arrays["first"][env, start + 1:start + length].any():
                    candidates.append((len(loaded) - 1, env, start, int(arrays["level"][env, start])))
    order = rng.permutation(len(candidates))
    clips, seen = [], set()
    for index in order:
        shard, env, start, level = candidates[index]
        if level in seen:
            continue
        seen.add(level)
        if skip:
            skip -= 1
            continue
        path, arrays = loaded[shard]
        frames = arrays["frames"][env, start:start + length]
        clips.append(Clip(np.ascontiguousarray(frames), f"{path.name} env {env} frames {start}-{start + length - 1} level {level}"))
        if len(clips) == count:
            return clips
    raise ClipError(f"only {len(clips)} clips of {length} frames from distinct levels in {len(loaded)} shards, wanted {count}")

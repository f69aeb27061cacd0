"""Mimic: read the latent actions out of a video with the LAM and replay them in a world.

A clip is an animated image (GIF, animated PNG/WebP), a folder of frame images (sorted by name,
numbers in names compared as numbers) or a `genie-play collect` shard (.npz: one environment,
a window of frames). `load_clip` turns any of them into frames (T, S, S, 3) uint8 or raises
`ClipError` with one line; `infer_codes` gives the T-1 latent codes the LAM reads from them;
`replay` steps a world through those codes from any prompt; `side_by_side` lays the source clip
and the replay next to each other, frame by frame, for `save_gif`.

`consistency` measures how well the codes transfer: the sign of the horizontal scene scroll per
step (phase correlation, `genie_play.labels.scene_shift`) in the replay against the source clip,
for replays from the clip's own first frame and from other prompts, with shuffled codes as the
chance level.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from genie_play.atomic import refuse_to_replace
from genie_play.errors import GenieError
from genie_play.media import save_gif as write_gif
from genie_play.media import upscale

BUNDLED_CLIPS = Path(__file__).resolve().parent.parent / "assets" / "clips"
SHARD_FRAMES = 32          # frames taken from a .npz shard when --frames is not given
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".tga", ".qoi")
CLIP_SUFFIXES = (".gif", ".png", ".webp", ".npz")  # files that may hold a whole clip
SCROLL_THRESHOLD = 0.25    # |scene dx| in pixels a step below which the scene counts as not scrolling
INFER_CHUNK = 256          # frame pairs the LAM sees at once
GAP = 2                    # pixels between the source and the replay in the side-by-side output
CAPTION_HEIGHT = 14


class ClipError(GenieError):
    """A source clip that cannot be used: unreadable, too short, frames of mixed sizes."""


@dataclass
class Clip:
    frames: np.ndarray            # (T, S, S, 3) uint8, T >= 2
    name: str                     # where it came from, for messages: "run.gif", "shard.npz env 0 frames 0-31"
    episode_starts: list[int] = field(default_factory=list)  # shards: clip indices where a new episode begins

    def __len__(self) -> int:
        return len(self.frames)


# --------------------------------------------------------------------------------------- loading


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
    from genie_play.data.shards import read_shard

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
    from genie_play.images import load_image

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


# --------------------------------------------------------------------------------- codes and labels


def infer_codes(world, frames: np.ndarray) -> np.ndarray:
    """frames (T, H, W, 3) uint8 -> the LAM's latent codes (T-1,) int64 in [0, world.num_actions)."""
    import torch

    lam = getattr(world, "lam", None)
    if lam is None:
        raise GenieError("reading actions from a clip needs the latent action model: "
                         "put lam.safetensors in the weights folder")
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or len(frames) < 2:
        raise ClipError(f"a clip needs at least 2 frames (T, H, W, 3), got shape {frames.shape}")
    device = getattr(world, "device", "cpu")
    codes = []
    past = lam.config.context  # each chunk starts with the frames its first transition looks back on
    for begin in range(0, len(frames) - 1, INFER_CHUNK):
        lead = min(begin, past)
        chunk = torch.from_numpy(frames[begin - lead:begin + INFER_CHUNK + 1])[None].to(device)
        with torch.no_grad():
            codes.append(np.asarray(lam.infer_actions(chunk)[0, lead:].cpu(), dtype=np.int64))
    return np.concatenate(codes)


def code_names(world) -> list[str]:
    """A name per code: the world's own labels, else those cached by `genie-play label`, else 'code k'."""
    n = world.num_actions
    names = list(world.code_labels) if getattr(world, "code_labels", None) else None
    if names is None or len(names) < n:
        from genie_play.app.paths import labels_path
        from genie_play.labels import label_names, load_labels

        names = label_names(load_labels(labels_path(world.weights_id), world.weights_id), n)
    return list(names[:n]) if names else [f"code {k}" for k in range(n)]


def format_codes(codes, names: list[str]) -> str:
    """The inferred sequence as a table (step, code, label) plus a line `render --actions` accepts."""
    lines = [f"{'step':>4}  {'code':>4}  label"]
    lines += [f"{t:>4}  {int(c):>4}  {names[int(c)]}" for t, c in enumerate(codes, start=1)]
    lines.append("codes: " + ",".join(str(int(c)) for c in codes))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------- replaying


def replay(world, codes, prompt) -> np.ndarray:
    """Reset `world` on `prompt` and step it through `codes`: frames (len(codes) + 1, H, W, 3) uint8 of world 0."""
    frames = [np.array(world.reset(prompt), dtype=np.uint8)]
    frames += [np.array(world.step(int(code)), dtype=np.uint8) for code in codes]
    return np.stack(frames)


def replay_batch(world, codes: np.ndarray, prompts: list) -> np.ndarray:
    """A batched world: codes (B, T-1), one prompt per world -> frames (B, T, H, W, 3) uint8."""
    world.reset(list(prompts))
    frames = [np.array(world.frames)]
    frames += [np.array(world.step_batch(codes[:, t])) for t in range(codes.shape[1])]
    return np.stack(frames, axis=1)


def side_by_side(source: np.ndarray, replayed: np.ndarray, captions: list[str] | None = None,
                 scale: int = 2) -> list[np.ndarray]:
    """source, replayed (T, H, W, 3) -> T frames [source | replay], upscaled, a caption bar under each."""
    if len(source) != len(replayed):
        raise ValueError(f"source has {len(source)} frames, the replay {len(replayed)}")
    height, width = source.shape[1:3]
    out_w = (2 * width + GAP) * scale
    bar = CAPTION_HEIGHT if captions is not None else 0
    font = ImageFont.load_default()
    frames = []
    for t, (a, b) in enumerate(zip(source, replayed)):
        canvas = np.full((height * scale + bar, out_w, 3), 24, dtype=np.uint8)
        canvas[:height * scale, :width * scale] = upscale(a, scale)
        canvas[:height * scale, (width + GAP) * scale:] = upscale(b, scale)
        if captions is not None:
            image = Image.fromarray(canvas)
            ImageDraw.Draw(image).text((3, height * scale + 1), captions[t], fill=(235, 235, 235), font=font)
            canvas = np.asarray(image)
        frames.append(canvas)
    return frames


def step_captions(codes, names: list[str], prompt_name: str = "prompt") -> list[str]:
    """'t 0  clip | prompt', then 't 3  code 5 right' for each step."""
    captions = [f"t 0  clip | {prompt_name}"]
    for t, code in enumerate(codes, start=1):
        name = names[int(code)]
        captions.append(f"t {t}  code {int(code)}" + ("" if name == f"code {int(code)}" else f" {name}"))
    return captions


def save_gif(frames: list[np.ndarray], path, frame_ms: int = 100, overwrite: bool = False) -> Path:
    """An animated GIF, written atomically; refuses to replace an existing file unless `overwrite`."""
    path = Path(path)
    refuse_to_replace(path, overwrite)
    try:
        write_gif(frames, path, frame_ms)
    except OSError as error:
        raise GenieError(f"{path}: cannot write ({error.strerror or error})") from None
    return path


# ------------------------------------------------------------------------------------ consistency


def scroll_dx(frames: np.ndarray) -> np.ndarray:
    """frames (T, H, W, 3) -> (T-1,) horizontal scene scroll per step in pixels (phase correlation, + = right)."""
    from genie_play.labels import scene_shift

    return np.array([scene_shift(a, b)[0] for a, b in zip(frames[:-1], frames[1:])])


def signs(dx: np.ndarray, threshold: float = SCROLL_THRESHOLD) -> np.ndarray:
    """-1 / 0 / +1 per step: 0 when |dx| <= threshold pixels."""
    return np.where(dx > threshold, 1, np.where(dx < -threshold, -1, 0))


def scroll_signs(frames: np.ndarray, threshold: float = SCROLL_THRESHOLD) -> np.ndarray:
    """frames (T, H, W, 3) -> (T-1,) in {-1, 0, +1}: the sign of the horizontal scene scroll each step
    (phase correlation), 0 when |dx| <= threshold pixels."""
    return signs(scroll_dx(frames), threshold)


def agreement(reference: np.ndarray, other: np.ndarray) -> dict:
    """How often two sign sequences agree: on every step, and on the steps where `reference` scrolls."""
    reference, other = np.asarray(reference).ravel(), np.asarray(other).ravel()
    moving = reference != 0
    return {
        "all": float(np.mean(reference == other)) if reference.size else float("nan"),
        "moving": float(np.mean(reference[moving] == other[moving])) if moving.any() else float("nan"),
        "moving_steps": int(moving.sum()),
        "steps": int(reference.size),
    }


def shard_clips(paths, count: int, length: int, seed: int = 0, skip: int = 0) -> list[Clip]:
    """`count` clips of `length` frames from shards, each inside one episode and from distinct
    (shard, env, level), drawn reproducibly with `seed`; `skip` drops that many draws first."""
    from genie_play.data.shards import read_shard

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


def consistency(weights_dir, clips, prompts, *, device: str = "auto", seed: int = 0, batch: int = 16,
                threshold: float = SCROLL_THRESHOLD, thresholds: tuple = (), world=None) -> dict:
    """Do replayed worlds scroll the same way as the source clip?

    clips: Clips, arrays (T, H, W, 3) or paths, all of the same length. prompts: other prompt images.
    For each clip the LAM reads the codes; the world replays them from the clip's own first frame
    ("own"), from each prompt ("other"), and from the own first frame with the codes shuffled
    ("shuffled", the chance level). Each replay's per-step horizontal scroll sign (phase
    correlation, dead zone `threshold` px) is compared with the source's ("vs source"), and the
    other-prompt replays also with the own-prompt replay ("other_vs_own": do codes mean the same
    motion whatever the prompt). Fractions of agreeing steps: `all` steps (sign -1/0/+1) and
    `moving` (only the steps where the reference scrolls). Also: mean PSNR of the own and shuffled
    replays against the clip, how often each scrolls at all, and the same figures for each of the
    extra `thresholds` under "by_threshold".
    """
    from genie_play.images import load_image
    from genie_play.metrics import psnr

    if world is None:
        from genie_play.world import load_world

        world = load_world(weights_dir, device=device, seed=seed, batch=min(batch, len(clips)))
    size = world.image_size
    clips = [load_clip(c, size=size) for c in clips]
    if not clips:
        raise GenieError("consistency needs at least one clip")
    length = len(clips[0])
    if any(len(c) != length for c in clips):
        raise GenieError("consistency needs clips of one length")
    prompt_frames = [load_image(p, size) for p in prompts]
    rng = np.random.default_rng(seed)
    n, b = len(clips), world.batch
    source = np.stack([c.frames for c in clips])  # (N, T, H, W, 3)
    codes = np.concatenate([infer_codes(world, c.frames)[None] for c in clips])  # (N, T-1)
    shuffled = np.stack([rng.permutation(row) for row in codes])
    conditions = {"own": (None, codes), "shuffled": (None, shuffled)}
    conditions.update({f"prompt{j}": (p, codes) for j, p in enumerate(prompt_frames)})
    replays = {}
    for key, (prompt, condition_codes) in conditions.items():
        parts = []
        for begin in range(0, n, b):
            index = np.arange(begin, begin + b).clip(max=n - 1)  # pad the last chunk with the last clip
            starts = [source[i, 0] if prompt is None else prompt for i in index]
            parts.append(replay_batch(world, condition_codes[index], starts)[: min(b, n - begin)])
        replays[key] = np.concatenate(parts)
    source_dx = np.stack([scroll_dx(c) for c in source])
    dx = {key: np.stack([scroll_dx(r) for r in frames]) for key, frames in replays.items()}
    result = {
        "clips": n, "frames": length, "prompts": len(prompt_frames), "threshold_px": threshold,
        "code_usage": np.bincount(codes.ravel(), minlength=world.num_actions).tolist(),
        "own_psnr": float(psnr(source[:, 1:], replays["own"][:, 1:]).mean()),
        "shuffled_psnr": float(psnr(source[:, 1:], replays["shuffled"][:, 1:]).mean()),
        **_scroll_report(source_dx, dx, threshold),
    }
    if thresholds:
        result["by_threshold"] = {str(t): _scroll_report(source_dx, dx, t) for t in thresholds}
    return result


def _scroll_report(source_dx: np.ndarray, dx: dict, threshold: float) -> dict:
    source = signs(source_dx, threshold)
    replay = {key: signs(value, threshold) for key, value in dx.items()}
    other_keys = [k for k in replay if k.startswith("prompt")]
    report = {
        "source_scrolling": float(np.mean(source != 0)),
        "replay_scrolling": {key: float(np.mean(value != 0)) for key, value in replay.items()},
        "own": agreement(source, replay["own"]),
        "shuffled": agreement(source, replay["shuffled"]),
    }
    if other_keys:
        report["other"] = agreement(np.concatenate([source] * len(other_keys)),
                                    np.concatenate([replay[k] for k in other_keys]))
        report["other_per_prompt"] = [agreement(source, replay[k]) for k in other_keys]
        report["other_vs_own"] = agreement(np.concatenate([replay["own"]] * len(other_keys)),
                                           np.concatenate([replay[k] for k in other_keys]))
    return report

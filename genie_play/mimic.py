"""Mimic: read the latent actions out of a clip with the LAM and replay them in a world.

`infer_codes` gives the T-1 latent codes the LAM reads from frames (T, H, W, 3); `replay` steps a world
through those codes from any prompt (`replay_batch` for a batched world); `side_by_side` lays the source
clip and the replay next to each other, frame by frame, with `step_captions` under them.
Clips are read by genie_play.data.clips; how well codes transfer between prompts is measured by
genie_play.consistency.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from genie_play.data.clips import ClipError
from genie_play.errors import GenieError
from genie_play.media import upscale

INFER_CHUNK = 256          # frame pairs the LAM sees at once
GAP = 2                    # pixels between the source and the replay in the side-by-side output
CAPTION_HEIGHT = 14


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


def replay(world, codes, prompt) -> np.ndarray:
    """Reset `world` on `prompt` and step it through `codes`: frames (len(codes) + 1, H, W, 3) uint8 of world 0."""
    frames = [np.array(world.reset(prompt), dtype=np.uint8)]
    frames += [np.array(world.step(int(code)), dtype=np.uint8) for code in codes]
    return np.stack(frames)


def replay_batch(world, codes: np.ndarray, prompts: list, after_step=None) -> np.ndarray:
    """A batched world: codes (B, T-1), one prompt per world -> frames (B, T, H, W, 3) uint8.
    after_step: called with the world after each step (to read what the step did)."""
    world.reset(list(prompts))
    frames = [np.array(world.frames)]
    for t in range(codes.shape[1]):
        frames.append(np.array(world.step_batch(codes[:, t])))
        if after_step is not None:
            after_step(world)
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

"""Cross-prompt consistency: do the latent codes read from a clip make the same motion in any world?

For each clip the LAM reads the codes and a world replays them from the clip's own first frame, from
other prompts, and with the codes shuffled (the chance level). Each frame sequence is reduced to the
sign of its horizontal scene scroll per step (phase correlation, `genie_play.labels.scene_shift`;
0 inside a dead zone of `threshold` pixels), and the replay's signs are compared with the source's.
"""

from __future__ import annotations

import numpy as np

from genie_play.data.clips import load_clip
from genie_play.errors import GenieError
from genie_play.images import load_image
from genie_play.labels import step_shifts
from genie_play.metrics import psnr
from genie_play.mimic import infer_codes, replay_batch

SCROLL_THRESHOLD = 0.25    # |scene dx| in pixels a step below which the scene counts as not scrolling


def scroll_dx(frames: np.ndarray) -> np.ndarray:
    """frames (T, H, W, 3) -> (T-1,) horizontal scene scroll per step in pixels (phase correlation, + = right)."""
    return step_shifts(frames)[:, 0]


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

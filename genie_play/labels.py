"""Name what each latent code does, using only the World interface (no action labels).

For each code: from several prompt images, reset, step the code a few times and measure the
global scene shift between consecutive frames by phase correlation, plus how much the frame
changes. The median over all steps keeps the odd ambiguous step (flat sketches) from
skewing the result.

Sign convention. `scene_shift(before, after)` returns (dx, dy) in image pixels such that
`after ~= np.roll(before, (dy, dx), axis=(0, 1))`: dx > 0 means the scene moved right, dy > 0 that
it moved down (image y points down). The camera follows the player in CoinRun, so the player's
own motion is the opposite of the scene's: the player walking right shows as the scene moving
left (dx < 0), and the player jumping shows as the scene moving down (dy > 0). The reported dx,
dy in each row are the scene's; the label names the player's motion.
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from genie_play.atomic import write_text_atomic
from genie_play.levels import without_heroes
from genie_play.paths import labels_path

SHIFT_THRESHOLD = 0.5   # |pixels| per step (median) before a shift counts as motion
MOTION_LABEL_PX = 0.15  # |mean scene shift| a step in recorded play before a code's motion counts (1.2 px in
                        # the 8 steps eval --prompts holds a code; the bundled LAM's codes lie either side of it:
                        # 0.19 and 0.08 px sideways, 1.55 and 0.11 px up or down)
STILL_THRESHOLD = 0.02  # mean absolute frame change (0..1) below which a code "does nothing"


@dataclass
class CodeMotion:
    code: int
    dx: float      # median scene shift per step, pixels, + = scene moved right
    dy: float      # median scene shift per step, pixels, + = scene moved down
    change: float  # mean absolute frame change per step, 0..1
    label: str


def _gray(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) or (H, W) any dtype -> (H, W) float64, zero mean."""
    image = np.asarray(frame, dtype=np.float64)
    if image.ndim == 3:
        image = image.mean(axis=2)
    return image - image.mean()


def _hann(height: int, width: int) -> np.ndarray:
    return np.outer(np.hanning(height), np.hanning(width))


def _parabolic_offset(left: float, centre: float, right: float) -> float:
    """Sub-pixel position of a peak from its two neighbours, in -0.5..0.5."""
    denominator = left - 2 * centre + right
    if denominator == 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / denominator, -0.5, 0.5))


def scene_shift(before: np.ndarray, after: np.ndarray, window: bool = True) -> tuple[float, float]:
    """Global (dx, dy) with after ~= np.roll(before, (dy, dx), axis=(0, 1)), by phase correlation.

    before, after: (H, W, 3) or (H, W). The integer peak is refined to sub-pixel by a parabola.
    A Hann window (default) tames the edges of real, non-circular scrolling.
    """
    a, b = _gray(before), _gray(after)
    if window:
        taper = _hann(*a.shape)
        a, b = a * taper, b * taper
    cross = np.fft.fft2(b) * np.conj(np.fft.fft2(a))
    cross /= np.maximum(np.abs(cross), 1e-12)
    surface = np.fft.ifft2(cross).real  # (H, W), peaks at the shift
    height, width = surface.shape
    peak_y, peak_x = np.unravel_index(np.argmax(surface), surface.shape)
    sub_x = _parabolic_offset(surface[peak_y, peak_x - 1], surface[peak_y, peak_x],
                              surface[peak_y, (peak_x + 1) % width])
    sub_y = _parabolic_offset(surface[peak_y - 1, peak_x], surface[peak_y, peak_x],
                              surface[(peak_y + 1) % height, peak_x])
    dx = (peak_x + width // 2) % width - width // 2 + sub_x   # wrap to -W/2..W/2
    dy = (peak_y + height // 2) % height - height // 2 + sub_y
    return float(dx), float(dy)


def step_shifts(frames: np.ndarray) -> np.ndarray:
    """frames (T, H, W, 3) -> (T-1, 2) float: the scene shift (dx, dy) in px of each step, by scene_shift."""
    return np.array([scene_shift(a, b) for a, b in zip(frames[:-1], frames[1:])]).reshape(-1, 2)


def frame_change(before: np.ndarray, after: np.ndarray) -> float:
    """Mean absolute difference of two uint8 frames, 0..1."""
    return float(np.abs(after.astype(np.float64) - before.astype(np.float64)).mean() / 255.0)


def label_for_motion(dx: float, dy: float, change: float, threshold: float = SHIFT_THRESHOLD) -> str:
    """Player motion from scene motion (the camera follows the player: signs flip)."""
    player_right = -dx
    player_up = dy
    horizontal = ""
    if player_right > threshold:
        horizontal = "right"
    elif player_right < -threshold:
        horizontal = "left"
    if player_up > threshold:
        return f"jump-{horizontal}" if horizontal else "jump"
    if player_up < -threshold:
        return f"down-{horizontal}" if horizontal else "down"
    if horizontal:
        return horizontal
    return "still" if change < STILL_THRESHOLD else "other"


def measure_code(world, code: int, prompts: list, steps: int = 4) -> CodeMotion:
    """Reset on each prompt, step `code` `steps` times; shift per step and mean change per step.

    The shift is measured from the prompt frame to the last frame and divided by `steps`: CoinRun
    scrolls about a pixel a step, too little for one step's phase correlation to see past the static
    parts of the frame, but a few steps add up to a clear peak. It is the level's: the heroes the world
    keeps on screen (World.heroes), which would hold the peak at no shift, are taken out of both frames."""
    shifts, changes = [], []
    for prompt in prompts:
        first = before = np.array(world.reset(prompt))
        for _ in range(steps):
            after = np.array(world.step(code))
            changes.append(frame_change(before, after))
            before = after
        heroes = getattr(world, "heroes", [[]])[0]
        dx, dy = scene_shift(without_heroes(first, heroes), without_heroes(before, heroes))
        shifts.append((dx / steps, dy / steps))
    dx, dy = np.median(shifts, axis=0)  # robust to the odd prompt whose peak is ambiguous
    change = float(np.mean(changes))
    return CodeMotion(code, round(float(dx), 3) + 0.0, round(float(dy), 3) + 0.0, round(change, 4),
                      label_for_motion(dx, dy, change))


def label_codes(world, prompts: list, steps: int = 4) -> list[dict]:
    """One dict per code: {code, dx, dy, change, label}. Leaves the world reset on the last prompt.

    prompts: images accepted by world.reset (paths, PIL images, (H, W, 3) uint8 arrays).
    """
    if not prompts:
        raise ValueError("label_codes needs at least one prompt image")
    return [asdict(measure_code(world, code, prompts, steps)) for code in range(world.num_actions)]


def labels_from_motion(motion, threshold: float = MOTION_LABEL_PX, used=None) -> list[str]:
    """motion (A, 2): each code's mean scene shift (dx, dy) in px a step in recorded play -> a distinct name per
    code for what it does to the player's view there ("right", "jump", "down-left", "still", "jump 2", ...).
    used (A,) bool: whether the recording held the code at all; one it never held is "unused", not "still"."""
    used = np.ones(len(motion), bool) if used is None else np.asarray(used, bool)
    return distinct_labels(label_for_motion(float(dx), float(dy), 0.0, threshold) if seen else "unused"
                           for (dx, dy), seen in zip(motion, used))


def with_distinct_labels(rows: list[dict]) -> list[dict]:
    """label_codes' rows with distinct_labels: what the player shows for each code."""
    names = distinct_labels(row["label"] for row in rows)
    return [dict(row, label=name) for row, name in zip(rows, names)]


def format_label_table(rows: list[dict]) -> str:
    """A plain-text table of label_codes' rows."""
    header = f"{'code':>4}  {'label':<11} {'scene dx':>8} {'scene dy':>8} {'change':>7}"
    lines = [header, "-" * len(header)]
    for row in rows:
        dx, dy = round(row["dx"], 2) + 0.0, round(row["dy"], 2) + 0.0  # + 0.0: no "-0.00"
        lines.append(f"{row['code']:>4}  {row['label']:<11} {dx:>8.2f} {dy:>8.2f} {row['change']:>7.3f}")
    lines.append("dx, dy: median scene shift per step in pixels (+x right, +y down); "
                 "the camera follows the player, so the player moves the other way in x.")
    return "\n".join(lines)


def save_labels(path: str | os.PathLike, weights_id: str, rows: list[dict]) -> None:
    """Cache label rows as JSON (atomic write)."""
    payload = {"weights_id": weights_id, "codes": rows}
    write_text_atomic(path, json.dumps(payload, indent=2) + "\n")


def load_labels(path: str | os.PathLike, weights_id: str | None = None) -> list[dict] | None:
    """Cached label rows, or None when missing, unreadable, or for other weights."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        rows = payload["codes"]
        if weights_id is not None and payload.get("weights_id") != weights_id:
            return None
        return [dict(code=int(r["code"]), dx=float(r["dx"]), dy=float(r["dy"]),
                     change=float(r["change"]), label=str(r["label"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def label_names(rows: list[dict] | None, num_actions: int) -> list[str] | None:
    """rows -> ["left", "right", ...] indexed by code, or None when rows do not cover every code."""
    if not rows:
        return None
    by_code = {row["code"]: row["label"] for row in rows}
    if set(by_code) != set(range(num_actions)):
        return None
    return [by_code[code] for code in range(num_actions)]


def known_labels(world) -> list[str] | None:
    """A name per code: the world's own labels (play.json), else those cached by `genie-play label`,
    else None when neither covers every code."""
    n = world.num_actions
    own = getattr(world, "code_labels", None)
    if own and len(own) >= n:
        return distinct_labels(own[:n])
    names = label_names(load_labels(labels_path(world.weights_id), world.weights_id), n)
    return distinct_labels(names) if names else None


def distinct_labels(names) -> list[str]:
    """The labels with each one telling its code apart: the first code of a shared label keeps it, the others
    are numbered in code order ("jump", "jump 2"), with a number no other label already uses."""
    names = [str(name) for name in names]
    taken = {name.casefold() for name in names}
    seen: dict[str, int] = {}
    out = []
    for name in names:
        key = name.casefold()
        if key not in seen:
            seen[key] = 2
            out.append(name)
            continue
        number = seen[key]
        while f"{name} {number}".casefold() in taken:
            number += 1
        seen[key] = number + 1
        taken.add(f"{name} {number}".casefold())
        out.append(f"{name} {number}")
    return out


def code_names(world) -> list[str]:
    """known_labels, else 'code k' for each code."""
    return known_labels(world) or [f"code {k}" for k in range(world.num_actions)]

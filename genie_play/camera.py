"""Camera motion: how far each latent code moves the scene, measured on recorded play, and the moves that
carry it in the world.

In the recorded games a code's scroll is a fraction of a pixel a tick, under the 8 × 8 pixels one token
covers, so the dynamics keeps its tokens where they were and the scroll never adds up (docs/findings.md).
The world therefore carries the view itself: each code has a mean scene shift (dx, dy) in pixels a step,
the mean over every transition the LAM gives that code in the data (the sign convention of
genie_play.labels.scene_shift: + = the scene moves right / down), kept in the weights' play.json as
`code_motion`. The world adds it up; each whole token of it moves the token grid, the pixels and the KV
cache by one token, and the rest, under half a token, pans the frame on screen. Sideways the world's picture
wraps around a token at a time: what scrolls out on one side comes back on the other, so however long a key
is held the view shows the user's own picture rather than an edge drawn again and again. A code the labels
call still (under MOTION_LABEL_PX a step on both axes) moves no camera. Up and down the uncovered rows mirror
the rows at the edge (sky above, ground below, as in a reflection; repeating the edge token row drew it again
as stripes); the pan's few uncovered pixels repeat the frame's edge column or row.
Where the camera moves a view up and down, a code's vertical motion is the camera's to show: the dynamics is
given the code that does the rest (vertical_stand_ins), so it does not move the picture a second time.
"""

from pathlib import Path

import numpy as np
import torch

from genie_play.labels import MOTION_LABEL_PX, labels_from_motion, step_shifts

MOTION_CLIPS = 2048  # clips of 16 frames: 30,720 transitions, about a minute on 2 cores
CARRIED_DY = 0.5  # px a step: a code that moves the view at least this far up or down has a vertical stand-in


def shift_frames(pixels: torch.Tensor, shifts: np.ndarray) -> torch.Tensor:
    """pixels (B, H, W, 3) uint8, shifts (B, 2) int (dx, dy) -> (B, H, W, 3) uint8: each frame moved by its
    (dx, dy) pixels (+ = right / down), the uncovered edge filled by repeating the frame's last row or column.
    Only the pan under half a token: the few columns it uncovers are more often the level going on than the far
    side of the picture (wrapping them around cost CoinRun 0.16 dB at t = 4)."""
    shifts = np.asarray(shifts, dtype=np.int64)
    if not shifts.any():
        return pixels  # the common step: nothing to pan
    out = pixels.clone()
    for b, (dx, dy) in enumerate(shifts.tolist()):
        if dx or dy:
            out[b] = roll_blocks(roll_blocks(pixels[b], 1, dx, 1), 0, dy, 1)
    return out


def scroll(x: torch.Tensor, dx: int, dy: int, block: int, dims: tuple[int, int]) -> torch.Tensor:
    """x with rows along dims[0] and columns along dims[1], moved by dx columns and dy rows of `block` entries
    (+ = right / down): columns wrap around, the rows uncovered at the top or bottom mirror the rows at the edge."""
    if dx:
        x = torch.roll(x, dx * block, dims[1])
    return mirror_rows(x, dims[0], dy * block)


def mirror_rows(x: torch.Tensor, dim: int, shift: int) -> torch.Tensor:
    """x moved by `shift` entries along `dim` (+ = towards higher indices); the entries uncovered at the edge
    mirror those inside it (the first uncovered one repeats the edge entry), as far as `shift` <= x.shape[dim]."""
    if shift == 0:
        return x
    size = x.shape[dim]
    source = torch.arange(size, device=x.device) - shift
    source = torch.where(source < 0, -1 - source, source)
    source = torch.where(source >= size, 2 * size - 1 - source, source)
    return x.index_select(dim, source.clamp(0, size - 1))


def roll_blocks(x: torch.Tensor, dim: int, shift: int, block: int) -> torch.Tensor:
    """x moved by `shift` blocks of `block` entries along `dim` (+ = towards higher indices); the blocks
    uncovered at the edge repeat the edge block, so nothing wraps around from the other side."""
    if shift == 0:
        return x
    size = x.shape[dim]
    index = torch.arange(size, device=x.device)
    source = (index // block - shift).clamp(0, size // block - 1) * block + index % block
    return x.index_select(dim, source)


def camera_motion(code_motion: np.ndarray) -> np.ndarray:
    """code_motion (A, 2) px a step -> what the camera moves the view for each code (A, 2): the same, except none
    for a code under MOTION_LABEL_PX on both axes, one the labels call still: its mean drift in the games (a
    tenth of a pixel a step) would creep a picture held still out of place."""
    motion = np.asarray(code_motion, dtype=np.float64)
    return np.where((np.abs(motion) < MOTION_LABEL_PX).all(1, keepdims=True), 0.0, motion)


def vertical_stand_ins(code_motion: np.ndarray) -> np.ndarray:
    """code_motion (A, 2) px a step -> (A,) int64: the code the dynamics is given for each code while the camera
    moves the view up and down. A code moving at least CARRIED_DY px a step vertically is replaced by the code
    whose motion is nearest to its sideways part alone (for a code with none, the stillest code in the games);
    the others stand for themselves."""
    motion = np.asarray(code_motion, dtype=np.float64)
    sideways = motion * [1.0, 0.0]  # (A, 2)
    nearest = ((motion[None] - sideways[:, None]) ** 2).sum(-1).argmin(1)  # (A,)
    return np.where(np.abs(motion[:, 1]) >= CARRIED_DY, nearest, np.arange(len(motion)))


def split_motion(camera: np.ndarray, patch: int) -> tuple[np.ndarray, np.ndarray]:
    """camera (B, 2) float px, the scene's motion not yet carried by the tokens -> (token steps (B, 2) int64 to
    move the token grid by now, the pan left over (B, 2) float in [-patch/2, patch/2))."""
    steps = np.floor(camera / patch + 0.5).astype(np.int64)
    return steps, camera - steps * patch


def clip_shifts(clips: np.ndarray) -> np.ndarray:
    """clips (C, T, H, W, 3) uint8 -> the scene shift of each transition (C, T-1, 2) float (dx, dy) px."""
    return np.stack([step_shifts(clip) for clip in clips])


@torch.no_grad()
def fit_code_motion(lam, clips: np.ndarray, batch: int = 32, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """lam: a LatentActionModel, clips (C, T, H, W, 3) uint8 -> (motion (A, 2) float: each code's mean scene
    shift (dx, dy) in px a step, 0 for a code the clips never use; share (A,) of the transitions per code)."""
    device = next(lam.parameters()).device
    codes, shifts = [], []
    for i in range(0, len(clips), batch):
        chunk = clips[i:i + batch]
        codes.append(lam.infer_actions(torch.from_numpy(chunk).to(device)).cpu().numpy())
        shifts.append(clip_shifts(chunk))
        if progress:
            progress(i + len(chunk), len(clips))
    codes, shifts = np.concatenate(codes).ravel(), np.concatenate(shifts).reshape(-1, 2)
    actions = lam.config.num_actions
    counts = np.bincount(codes, minlength=actions)
    sums = np.stack([np.bincount(codes, weights=shifts[:, axis], minlength=actions) for axis in range(2)], 1)
    motion = sums / np.maximum(counts, 1)[:, None]
    return motion, counts / counts.sum()


def measure_code_motion(weights_dir, data_dir, split: str = "train", clips: int = MOTION_CLIPS, seed: int = 0,
                        device: str = "auto", axes: str = "x", games: list[str] | None = None,
                        progress=None) -> dict:
    """Each code's mean scene shift on `clips` random 16-frame clips of a recording, the codes read by the
    LAM of `weights_dir` -> {"code_motion": the camera's [[dx, dy], ...] px a step, "scene_motion": the same on
    both axes, "share": [...], "code_labels": a name per code for its scene motion (labels.labels_from_motion),
    "clips", "transitions"}.
    games: measure on these games' episodes only (None: all): the camera follows the player sideways in some
    games and not in others (docs/findings.md).
    axes "x" keeps dy at 0: the dynamics moves the scene up and down itself (falls and jumps cross whole
    tokens), and adding the camera's dy on top moved CoinRun further from the real frames (docs/findings.md)."""
    if axes not in ("x", "xy"):
        raise ValueError(f"axes must be 'x' or 'xy', got {axes!r}")
    from genie_play.checkpoint import load_model
    from genie_play.data.datasets import ClipSampler, Recording
    from genie_play.device import resolve_device
    from genie_play.errors import GenieError
    from genie_play.world import BUNDLED_WEIGHTS, weights_files

    lam_path = weights_files(weights_dir or BUNDLED_WEIGHTS)["lam"]
    if not lam_path.exists():
        raise GenieError(f"{lam_path}: measuring camera motion needs the weights' latent action model")
    lam = load_model(lam_path, "lam", resolve_device(device)).eval()
    sampler = ClipSampler(Recording(data_dir, split, games=games), 16, seed=seed)
    motion, share = fit_code_motion(lam, sampler.sample(clips), progress=progress)
    scene = [[round(float(dx), 3), round(float(dy), 3)] for dx, dy in motion]
    camera = [[dx, dy if axes == "xy" else 0.0] for dx, dy in scene]
    return {"code_motion": camera, "scene_motion": scene, "share": [round(float(x), 4) for x in share],
            "code_labels": labels_from_motion(motion, used=share > 0), "clips": clips, "transitions": clips * 15}


def save_code_motion(weights_dir, motion: list, source: str, labels: list[str] | None = None,
                     labels_source: str = "") -> Path:
    """Writes `motion` into weights_dir/play.json as code_motion, and `labels` (if given) as code_labels
    (atomically, every other setting kept)."""
    import json

    from genie_play.atomic import write_text_atomic
    from genie_play.world import play_settings

    path = Path(weights_dir) / "play.json"
    settings = play_settings(Path(weights_dir))
    settings.update(code_motion=motion, code_motion_source=source)
    if labels is not None:
        settings.update(code_labels=labels, code_labels_source=labels_source)
    lines = [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in settings.items()]
    write_text_atomic(path, "{\n" + ",\n".join(lines) + "\n}\n")  # a setting a line, as the bundled ones
    return path

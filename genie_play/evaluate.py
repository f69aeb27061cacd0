"""Held-out evaluation of a weights folder: tokenizer PSNR/SSIM, rollout PSNR with LAM-inferred
actions, ΔtPSNR against random actions, copy-the-first-frame floor, the clip drawn from its own tokens, how many tokens
a step changes (real and generated), LAM/true-action NMI and code usage
(each defined in genie_play.metrics).
Writes report.json, a PNG grid (real rows vs generated rows) and a PNG plot of PSNR against t."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from genie_play.atomic import refuse_to_replace, write_text_atomic
from genie_play.checkpoint import describe
from genie_play.data.datasets import ClipSampler, Recording
from genie_play.data.effects import effect_label_names, effect_labels, effect_names, majority_effects
from genie_play.errors import GenieError
from genie_play.media import save_png
from genie_play.metrics import normalized_mutual_info, psnr, ssim
from genie_play.mimic import replay_batch
from genie_play.world import BUNDLED_WEIGHTS, World, check_maskgit_steps, load_world, weights_files


@dataclass
class EvalSettings:
    clips: int = 512  # what the model card reports: 128 clips were twice as noisy at t = 4
    length: int = 16  # frames a clip: t = 0 is the prompt, t = 1..length-1 are generated
    batch: int = 32
    seed: int = 0
    temperature: float | None = None  # None: the weights' own play setting
    maskgit_steps: int | None = None
    split: str = "test"
    keep_still_pixels: bool | None = None  # None: the weights' own play setting
    bf16: bool | None = None  # None: on CUDA only
    cuda_graphs: bool = True  # CUDA only


def rollout(world: World, clips: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts each world from the clip's first real frame and generates the rest with `actions`.
    clips (B, T, H, W, 3) uint8, actions (B, T-1) int64 -> (generated (B, T-1, H, W, 3) uint8,
    the share of token positions each step changed (B, T-1) float)."""
    changed = []
    frames = replay_batch(world, actions, list(clips[:, 0]), lambda w: changed.append(w.changed.cpu().numpy()))
    return frames[:, 1:], np.stack(changed, 1)


def evaluate(weights_dir: str | Path | None, data_dir: str | Path, settings: EvalSettings = EvalSettings(),
             device: str = "auto", progress=None) -> tuple[dict, dict]:
    """-> (report, arrays for the figures)."""
    if settings.length < 5:
        raise GenieError(f"evaluation clips need at least 5 frames (t = 4 is reported), got {settings.length}")
    sampler = ClipSampler(Recording(data_dir, settings.split), settings.length, seed=settings.seed)
    e, s = sampler.index(settings.clips)
    clips = sampler.recording.frames[e, s]  # (C, T, H, W, 3)
    true_actions = sampler.recording.arrays["actions"][e, s[:, :-1]]  # (C, T-1)
    games = sampler.recording.games[e[:, 0]]  # (C,)
    world = load_world(weights_dir, device=device, seed=settings.seed, batch=settings.batch,
                       bf16=settings.bf16, cuda_graphs=settings.cuda_graphs)
    if world.lam is None:
        raise GenieError(f"{weights_dir}: evaluation needs lam.safetensors beside the tokenizer and dynamics")
    if settings.temperature is not None:
        world.temperature = settings.temperature
    if settings.maskgit_steps is not None:
        check_maskgit_steps(settings.maskgit_steps, world.dynamics.config.tokens_per_frame)
        world.maskgit_steps = settings.maskgit_steps
    if settings.keep_still_pixels is not None:
        world.keep_still_pixels = settings.keep_still_pixels
    rng = np.random.default_rng(settings.seed)
    dev = world.device
    parts = {"lam_actions": [], "recon": [], "real_tokens": [], "real_changed": [], "gen": [], "gen_changed": [],
             "gen_random": []}
    n = len(clips)
    for i in range(0, n, settings.batch):
        chunk = clips[i : i + settings.batch]
        real = len(chunk)  # the last batch may be short: filled up for the world, the extra clips not scored
        chunk = fill_batch(chunk, settings.batch)
        with torch.no_grad():
            t = torch.from_numpy(chunk).to(dev)
            lam_actions = world.lam.infer_actions(t).cpu().numpy()
            tokens = world.tokenizer.encode(t[:real])  # (C, T, N)
            parts["recon"].append(world.tokenizer.decode(tokens).cpu().numpy())
            parts["real_tokens"].append(drawn_from_real_tokens(world, t[:real], tokens))
            parts["real_changed"].append((tokens[:, 1:] != tokens[:, :-1]).float().mean(-1).cpu().numpy())
        parts["lam_actions"].append(lam_actions[:real])
        generated, changed = rollout(world, chunk, lam_actions)
        parts["gen"].append(generated[:real])
        parts["gen_changed"].append(changed[:real])
        random_actions = rng.integers(0, world.num_actions, lam_actions.shape)
        parts["gen_random"].append(rollout(world, chunk, random_actions)[0][:real])
        if progress:
            progress(i + real, n)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    arrays["clips"] = clips
    report = build_report(clips, effect_labels(true_actions, games), arrays, world)
    report["action_effects"] = {game: list(effect_names(game)) for game in np.unique(games).tolist()}
    report["code_effects"] = majority_effects(arrays["lam_actions"], effect_label_names(true_actions, games),
                                              world.num_actions)
    report["frame_skip"] = {"data": sampler.recording.frame_skip, "dynamics": trained_frame_skip(weights_dir)}
    return report, arrays


def drawn_from_real_tokens(world: World, clips: torch.Tensor, tokens: torch.Tensor) -> np.ndarray:
    """clips (C, T, H, W, 3) uint8 and their tokens (C, T, N) -> frames 1..T-1 (C, T-1, H, W, 3) uint8 drawn from
    the real tokens as the world draws its own (the previous pixels where a token stayed, when it keeps still
    pixels): what a dynamics that predicted every token right would show, the tokenizer's ceiling."""
    pixels, frames = clips[:, 0], []
    for k in range(1, clips.shape[1]):
        pixels = world.draw_frame(tokens[:, k], tokens[:, k - 1], pixels)
        frames.append(pixels)
    return torch.stack(frames, 1).cpu().numpy()


def fill_batch(chunk: np.ndarray, batch: int) -> np.ndarray:
    """(C, ...) with C <= batch -> (batch, ...): the first item repeated after the others (a world steps `batch`
    clips at once)."""
    if len(chunk) >= batch:
        return chunk
    return np.concatenate([chunk, np.repeat(chunk[:1], batch - len(chunk), axis=0)])


def trained_frame_skip(weights_dir: str | Path | None) -> int:
    """Game ticks per frame of the data the dynamics trained on (1 for weights older than the option)."""
    dynamics = weights_files(weights_dir or BUNDLED_WEIGHTS)["dynamics"]
    return int(describe(dynamics)["provenance"].get("frame_skip", 1))


def build_report(clips, true_effects, arrays, world: World) -> dict:
    """clips (C, T, H, W, 3) uint8, true_effects (C, T-1) int64: the effect class of each true action."""
    real = clips[:, 1:]
    per_clip = {"rollout": psnr(real, arrays["gen"]), "random": psnr(real, arrays["gen_random"]),
                "copy": psnr(real, np.broadcast_to(clips[:, :1], real.shape)),
                "real_tokens": psnr(real, arrays["real_tokens"])}  # each (C, T-1)
    rollout_psnr, random_psnr, copy_psnr, real_tokens_psnr = (
        per_clip[k].mean(0) for k in ("rollout", "random", "copy", "real_tokens"))
    flat_real = clips.reshape(-1, *clips.shape[2:])
    lam_actions = arrays["lam_actions"].ravel()
    usage = np.bincount(lam_actions, minlength=world.num_actions) / lam_actions.size
    return {
        "clips": int(len(clips)),
        "tokenizer_psnr": float(psnr(flat_real, arrays["recon"].reshape(flat_real.shape)).mean()),
        "tokenizer_ssim": float(ssim(flat_real, arrays["recon"].reshape(flat_real.shape)).mean()),
        "rollout_psnr": [float(x) for x in rollout_psnr],
        "rollout_psnr_t4": float(rollout_psnr[3]),
        "rollout_psnr_mean": float(rollout_psnr.mean()),
        "random_action_psnr": [float(x) for x in random_psnr],
        "delta_psnr_t4": float(rollout_psnr[3] - random_psnr[3]),
        "delta_psnr_t1": float(rollout_psnr[0] - random_psnr[0]),
        "copy_psnr": [float(x) for x in copy_psnr],
        "copy_psnr_t4": float(copy_psnr[3]),
        "rollout_minus_copy_t4": float(rollout_psnr[3] - copy_psnr[3]),
        "real_tokens_psnr": [float(x) for x in real_tokens_psnr],
        "real_tokens_minus_copy_t4": float(real_tokens_psnr[3] - copy_psnr[3]),
        "token_change": {"real": float(arrays["real_changed"].mean()), "rollout": float(arrays["gen_changed"].mean())},
        "standard_error_t4": standard_errors_t4(per_clip),
        "action_nmi": normalized_mutual_info(lam_actions, true_effects.ravel()),
        "code_usage": [float(x) for x in usage],
        "temperature": world.temperature,
        "maskgit_steps": world.maskgit_steps,
        "keep_still_pixels": world.keep_still_pixels,
        "keep_threshold": world.keep_threshold,
        "bf16": world.bf16, "cuda_graphs": world.cuda_graphs, "device": str(world.device),
    }


def standard_errors_t4(per_clip: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Standard errors over clips of the t = 4 figures (None for one clip); the differences are taken
    clip by clip, since both sides score the same clips. per_clip: name -> PSNR (C, T-1)."""
    at4 = {k: v[:, 3] for k, v in per_clip.items()}
    samples = {"rollout_psnr": at4["rollout"], "copy_psnr": at4["copy"],
               "delta_psnr": at4["rollout"] - at4["random"], "rollout_minus_copy": at4["rollout"] - at4["copy"],
               "real_tokens_minus_copy": at4["real_tokens"] - at4["copy"]}
    n = len(at4["rollout"])
    return {k: float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else None for k, v in samples.items()}


def report_paths(out_path: str | Path) -> list[Path]:
    """The files a report writes: report.json, <stem>_grid.png and <stem>_psnr.png beside it."""
    out_path = Path(out_path)
    return [out_path, out_path.with_name(out_path.stem + "_grid.png"), out_path.with_name(out_path.stem + "_psnr.png")]


def check_report_paths(out_path: str | Path, overwrite: bool = False) -> None:
    """Refuses, before any work, to replace a file the report would write, unless `overwrite`."""
    for path in report_paths(out_path):
        refuse_to_replace(path, overwrite)


def write_report(report: dict, arrays: dict, out_path: str | Path, grid_clips: int = 4) -> list[Path]:
    """Writes the report's files (report_paths), each atomically. Returns their paths."""
    paths = report_paths(out_path)
    json_path, grid_path, plot_path = paths
    write_text_atomic(json_path, json.dumps(report, indent=2))
    save_png(comparison_grid(arrays["clips"][:grid_clips], arrays["gen"][:grid_clips]), grid_path)
    save_png(psnr_plot(report), plot_path)
    return paths


def comparison_grid(clips: np.ndarray, generated: np.ndarray) -> np.ndarray:
    """clips (C, T, H, W, 3), generated (C, T-1, H, W, 3) -> one image: per clip a real row over a generated row."""
    rows = []
    for real, gen in zip(clips, generated):
        rows.append(np.concatenate(list(real), axis=1))
        rows.append(np.concatenate([real[0]] + list(gen), axis=1))
    return np.concatenate(rows, axis=0)


def psnr_plot(report: dict, size=(480, 320)) -> np.ndarray:
    """A line plot of PSNR against t: LAM actions, random actions, copy of the first frame."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    series = {"LAM actions": (report["rollout_psnr"], (200, 40, 40)), "random actions": (report["random_action_psnr"], (40, 40, 200)),
              "copy frame 0": (report["copy_psnr"], (120, 120, 120))}
    values = [v for s, _ in series.values() for v in s]
    lo, hi = np.floor(min(values)) - 1, np.ceil(max(values)) + 1
    w, h, m = size[0], size[1], 40
    n = len(report["rollout_psnr"])
    draw.rectangle([m, 10, w - 10, h - m], outline="black")
    draw.text((m, h - m + 8), "t = 1", fill="black")
    draw.text((w - 60, h - m + 8), f"t = {n}", fill="black")
    draw.text((4, 10), f"{hi:.0f} dB", fill="black")
    draw.text((4, h - m - 10), f"{lo:.0f} dB", fill="black")
    for j, (name, (ys, colour)) in enumerate(series.items()):
        pts = [(m + (w - 10 - m) * i / max(1, n - 1), h - m - (h - m - 10) * (y - lo) / (hi - lo)) for i, y in enumerate(ys)]
        draw.line(pts, fill=colour, width=2)
        draw.text((m + 10, 16 + 14 * j), name, fill=colour)
    return np.asarray(image)

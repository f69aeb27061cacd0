"""Does a world keep the user's picture and answer the keys on it? (`genie-play eval --prompts DIR`)

For every image in DIR the world restarts from it and holds each latent code for 8 steps, once per seed;
all codes step together, one world each. Figures (means over codes and seeds unless named otherwise):

- kept PSNR at step t: the generated frame t against the prompt, the best PSNR over integer shifts of up
  to 4 px in x and y on the overlapping region (genie_play.metrics.shifted_psnr), so a picture that
  scrolled still counts as kept. Reported at t = 1 and t = 8, and for every t.
- spread between codes at step 8: the mean absolute pixel difference (0..255) between the frames of two
  different codes from the same seed, over every pair of codes; spread between seeds: between the frames
  of the same code from two seeds. Their ratio says how much more the key decides than chance does
  (1: the keys decide nothing). For a set of prompts it is the ratio of the two means.
- scene shift of each code: the displacement (dx, dy) in px of the scene from the prompt to the frame at
  step 8, by phase correlation (genie_play.labels.scene_shift): + = the scene moved right / down. The
  camera follows the player in CoinRun, so a hero walking right shows as the scene moving left.
- consistent codes: codes whose horizontal scene shift has the same sign on at least 80% of the prompts
  (a shift within 0.5 px of 0 has no sign).
- a hero that the world keeps on screen while the camera moves the level (World.heroes: a hero stamp, or a
  game frame's player) is scored apart: kept PSNR, spreads and scene shifts are measured on the level, the
  hero taken out (genie_play.levels.Hero.taken_out) of the prompt and of every frame, and `hero_stays` says
  whether every frame shows each hero whole where the prompt has it.

Prompts are grouped by kind: the sub-folder of DIR an image is in, else its name up to the first '-' or
'_' (sketch-*.png, photo-*.png). A strip PNG per prompt shows seed 0: a row per code, steps 0..8.
"""

import json
import re
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from genie_play.atomic import refuse_to_replace, write_text_atomic
from genie_play.errors import GenieError
from genie_play.images import is_saved_drawing, load_image
from genie_play.labels import frame_change, scene_shift
from genie_play.levels import Hero, without_heroes
from genie_play.media import save_png
from genie_play.metrics import shifted_psnr

STEPS = 8
SEEDS = 2
MAX_SHIFT = 4             # px: kept PSNR forgives a scroll this large in x and y
CONSISTENT_SHARE = 0.8    # a code is consistent when its shift on an axis has one sign on this share of prompts
DEAD_ZONE_PX = 0.5        # |dx| (|dy|) at step 8 within this counts as no shift on that axis
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class PromptEvalSettings:
    seed: int = 0                     # the seeds are seed, seed + 1, ...
    temperature: float | None = None  # None: the weights' own play setting
    maskgit_steps: int | None = None
    keep_still_pixels: bool | None = None
    bf16: bool | None = None          # None: on CUDA only
    cuda_graphs: bool = True          # CUDA only
    drawn: bool = False               # play every image as a drawing made in the app (else only those it saved)


@dataclass
class Prompt:
    path: Path
    name: str   # its path inside DIR, without the suffix
    kind: str   # its sub-folder, else its name's prefix


def prompt_kind(relative: Path) -> str:
    """The sub-folder an image is in, else its name up to the first '-' or '_'."""
    if len(relative.parts) > 1:
        return relative.parts[0]
    return re.split(r"[-_]", relative.stem, maxsplit=1)[0] or relative.stem


def find_prompts(folder: str | Path, exclude: Path | None = None) -> list[Prompt]:
    """Every image under `folder` (sorted; hidden files and anything under `exclude` left out)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GenieError(f"{folder}: not a folder of prompt images")
    prompts = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file()
                or any(part.startswith(".") for part in relative.parts)
                or (exclude is not None and path.resolve().is_relative_to(exclude.resolve()))):
            continue
        prompts.append(Prompt(path, relative.with_suffix("").as_posix(), prompt_kind(relative)))
    if not prompts:
        raise GenieError(f"{folder}: no prompt images in it ({', '.join(IMAGE_SUFFIXES)})")
    names = [p.name for p in prompts]
    for prompt in prompts:  # a.png beside a.jpg: keep the strips apart
        if names.count(prompt.name) > 1:
            prompt.name += "_" + prompt.path.suffix.lower().lstrip(".")
    return prompts


# -- files --------------------------------------------------------------------------------------------------
def strips_folder(out_path: str | Path) -> Path:
    out_path = Path(out_path)
    return out_path.with_name(out_path.stem + "_strips")


def prompt_report_paths(out_path: str | Path, prompts: list[Prompt]) -> list[Path]:
    """The report (JSON) and a strip PNG per prompt, in <stem>_strips/ beside it."""
    folder = strips_folder(out_path)
    return [Path(out_path)] + [folder / f"{prompt.name}.png" for prompt in prompts]


def check_prompt_report_paths(out_path: str | Path, prompts: list[Prompt], overwrite: bool = False) -> None:
    """Refuses, before any work, to replace a file the report would write, unless `overwrite`."""
    folder = strips_folder(out_path)
    if folder.exists() and not folder.is_dir():
        raise GenieError(f"{folder}: is a file, and the strips need a folder there")
    for path in prompt_report_paths(out_path, prompts):
        refuse_to_replace(path, overwrite)


def write_prompt_report(report: dict, strips: dict[str, np.ndarray], out_path: str | Path,
                        prompts: list[Prompt]) -> list[Path]:
    """Writes the strips, then the report, each atomically. strips: prompt name -> (A*H, 9*W, 3) uint8."""
    json_path, *strip_paths = prompt_report_paths(out_path, prompts)
    path = json_path
    try:
        for prompt, path in zip(prompts, strip_paths):
            save_png(strips[prompt.name], path)
        path = json_path
        write_text_atomic(json_path, json.dumps(report, indent=2))
    except OSError as error:
        raise GenieError(f"{path}: cannot write ({error.strerror or error})") from None
    return [json_path, *strip_paths]


# -- rollouts and scores --------------------------------------------------------------------------------
def hold_each_code(world, image: np.ndarray, seeds: list[int], steps: int = STEPS, drawn: bool | None = None) -> np.ndarray:
    """Every code held `steps` steps from `image` (H, W, 3) uint8, world b holding code b, once per seed
    -> frames (S, A, steps + 1, H, W, 3) uint8, step 0 being the prompt as shown. drawn: as World.reset's."""
    codes = np.arange(world.num_actions)
    runs = []
    for seed in seeds:
        world.seed = seed  # reset() seeds the sampler with it
        world.reset(image, drawn=drawn)
        frames = [np.array(world.frames)]
        for _ in range(steps):
            frames.append(np.array(world.step_batch(codes)))
        runs.append(np.stack(frames, axis=1))  # (A, steps + 1, H, W, 3)
    return np.stack(runs)


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute pixel difference, 0..255, of two uint8 arrays of the same shape (labels.frame_change on 0..255)."""
    return 255.0 * frame_change(a, b)


def score_prompt(frames: np.ndarray, prompt: np.ndarray, max_shift: int = MAX_SHIFT,
                 heroes: list[Hero] = ()) -> dict:
    """frames (S, A, T + 1, H, W, 3) uint8 from hold_each_code, prompt (H, W, 3) uint8 -> the figures of one prompt.
    heroes: the heroes the world kept on screen (World.heroes), scored apart from the level."""
    hero_figures = {}
    if heroes:
        shown = frames.reshape(-1, *frames.shape[-3:])
        stays = all(hero.shown_in(frame) for frame in shown for hero in heroes)
        hero_figures = {"heroes": [[hero.left, hero.top] for hero in heroes], "hero_stays": stays}
        frames = np.stack([without_heroes(frame, heroes) for frame in shown]).reshape(frames.shape)
        prompt = without_heroes(prompt, heroes)
    seeds, codes = frames.shape[:2]
    kept = shifted_psnr(frames[:, :, 1:], prompt, max_shift)  # (S, A, T)
    last = frames[:, :, -1]  # (S, A, H, W, 3)
    spread_codes = np.mean([mean_abs_difference(last[s, i], last[s, j])
                            for s in range(seeds) for i, j in combinations(range(codes), 2)])
    spread_seeds = np.mean([mean_abs_difference(last[s, a], last[t, a])
                            for s, t in combinations(range(seeds), 2) for a in range(codes)])
    shifts = np.array([[scene_shift(prompt, last[s, a]) for a in range(codes)] for s in range(seeds)])  # (S, A, 2)
    return {
        "kept_psnr": [round(float(x), 3) for x in kept.mean(axis=(0, 1))],  # t = 1..T
        "kept_psnr_t1": round(float(kept[:, :, 0].mean()), 3),
        "kept_psnr_t8": round(float(kept[:, :, -1].mean()), 3),
        "kept_psnr_t8_per_code": [round(float(x), 3) for x in kept[:, :, -1].mean(axis=0)],
        "spread_codes_t8": round(float(spread_codes), 3),
        "spread_seeds_t8": round(float(spread_seeds), 3),
        "spread_ratio_t8": ratio(spread_codes, spread_seeds),
        "scene_shift_t8": [[round(float(dx), 2), round(float(dy), 2)] for dx, dy in shifts.mean(axis=0)],  # (A, 2)
        **hero_figures,
    }


def ratio(numerator: float, denominator: float) -> float | None:
    return round(float(numerator / denominator), 3) if denominator > 0 else None


def one_way(shifts: np.ndarray) -> tuple[str, float, float]:
    """shifts (P,) px: one code's scene shift on one axis at step 8 over the prompts -> (the sign most of them
    move: "+", "-", or "0" where none moves, the share of prompts moving that way, the share within DEAD_ZONE_PX)."""
    signs = np.where(shifts > DEAD_ZONE_PX, 1, np.where(shifts < -DEAD_ZONE_PX, -1, 0))
    share, sign = max((float(np.mean(signs > 0)), "+"), (float(np.mean(signs < 0)), "-"))
    return (sign if share > 0 else "0"), share, float(np.mean(signs == 0))


def summarize(rows: list[dict]) -> dict:
    """The figures of a set of prompts (rows from score_prompt)."""
    shifts = np.array([row["scene_shift_t8"] for row in rows])  # (P, A, 2)
    codes = []
    for code in range(shifts.shape[1]):
        (sign, share, still), (sign_dy, share_dy, _) = (one_way(shifts[:, code, axis]) for axis in (0, 1))
        codes.append({"code": code, "scene_dx": round(float(shifts[:, code, 0].mean()), 2),
                      "scene_dy": round(float(shifts[:, code, 1].mean()), 2),
                      "sign": sign, "same_sign_share": round(share, 3), "consistent": share >= CONSISTENT_SHARE,
                      "still_share": round(still, 3),
                      "sign_dy": sign_dy, "same_sign_share_dy": round(share_dy, 3),
                      "consistent_dy": share_dy >= CONSISTENT_SHARE})
    spread_codes = float(np.mean([row["spread_codes_t8"] for row in rows]))
    spread_seeds = float(np.mean([row["spread_seeds_t8"] for row in rows]))
    return {
        "prompts": len(rows),
        "kept_psnr_t1": round(float(np.mean([row["kept_psnr_t1"] for row in rows])), 3),
        "kept_psnr_t8": round(float(np.mean([row["kept_psnr_t8"] for row in rows])), 3),
        "spread_codes_t8": round(spread_codes, 3),
        "spread_seeds_t8": round(spread_seeds, 3),
        "spread_ratio_t8": ratio(spread_codes, spread_seeds),
        "consistent_codes": sum(code["consistent"] for code in codes),
        # codes that do one horizontal thing on CONSISTENT_SHARE of the prompts, "no horizontal shift" included
        "consistent_or_still_codes": sum(code["consistent"] or code["still_share"] >= CONSISTENT_SHARE for code in codes),
        "consistent_codes_dy": sum(code["consistent_dy"] for code in codes),  # one vertical way (+ down) instead
        "prompts_with_heroes": sum("heroes" in row for row in rows),
        "heroes_stayed": sum(bool(row.get("hero_stays")) for row in rows),
        "codes": codes,
    }


def strip(frames: np.ndarray) -> np.ndarray:
    """frames (A, T + 1, H, W, 3) -> one image (A*H, (T + 1)*W, 3): a row per code, steps left to right."""
    return np.concatenate([np.concatenate(list(row), axis=1) for row in frames], axis=0)


def open_prompt_world(weights_dir, settings: PromptEvalSettings, device: str):
    """A world of one batch entry per latent code, with the weights' play settings unless overridden."""
    from genie_play.checkpoint import describe
    from genie_play.world import BUNDLED_WEIGHTS, load_world, weights_files

    num_actions = int(describe(weights_files(weights_dir or BUNDLED_WEIGHTS)["dynamics"])["config"]["num_actions"])
    overrides = {key: value for key, value in (("temperature", settings.temperature),
                                               ("maskgit_steps", settings.maskgit_steps),
                                               ("keep_still_pixels", settings.keep_still_pixels)) if value is not None}
    return load_world(weights_dir, device=device, seed=settings.seed, batch=num_actions, with_lam=False,
                      bf16=settings.bf16, cuda_graphs=settings.cuda_graphs, **overrides)


def evaluate_prompts(weights_dir, prompts: list[Prompt], settings: PromptEvalSettings = PromptEvalSettings(),
                     device: str = "auto", progress=None) -> tuple[dict, dict[str, np.ndarray]]:
    """-> (report, strips: prompt name -> (A*H, 9*W, 3) uint8). progress(done, total) after each prompt."""
    world = open_prompt_world(weights_dir, settings, device)
    images = [load_image(prompt.path, world.image_size) for prompt in prompts]  # every bad file before any work
    seeds = [settings.seed + i for i in range(SEEDS)]
    rows, strips = [], {}
    for done, (prompt, image) in enumerate(zip(prompts, images), 1):
        drawn = settings.drawn or is_saved_drawing(prompt.path)
        frames = hold_each_code(world, image, seeds, drawn=drawn or None)  # None: a hero stamp makes it a drawing
        rows.append({"name": prompt.name, "kind": prompt.kind, "drawn": drawn,
                     **score_prompt(frames, image, heroes=world.heroes[0])})  # every world plays the same prompt
        strips[prompt.name] = strip(frames[0])
        if progress:
            progress(done, len(prompts))
    kinds = sorted({row["kind"] for row in rows})
    report = {
        **summarize(rows),
        "kinds": {kind: summarize([row for row in rows if row["kind"] == kind]) for kind in kinds},
        "per_prompt": rows,
        "steps": STEPS, "seeds": seeds, "max_shift_px": MAX_SHIFT, "codes_count": world.num_actions,
        "code_labels": list(world.code_labels) if world.code_labels else None,
        "temperature": world.temperature, "maskgit_steps": world.maskgit_steps,
        "keep_still_pixels": world.keep_still_pixels, "keep_threshold": world.keep_threshold,
        "bf16": world.bf16, "cuda_graphs": world.cuda_graphs, "device": str(world.device),
        "drawn": settings.drawn,
    }
    return report, strips


def summary_lines(report: dict) -> list[str]:
    """What `eval --prompts` prints: a line per prompt, per kind and for all, then each code's shift."""
    def figures(row: dict) -> str:
        spread_ratio = "-" if row["spread_ratio_t8"] is None else f"{row['spread_ratio_t8']:.2f}"
        return (f"kept@1 {row['kept_psnr_t1']:6.2f} dB  kept@8 {row['kept_psnr_t8']:6.2f} dB  "
                f"spread codes {row['spread_codes_t8']:6.2f}  seeds {row['spread_seeds_t8']:6.2f}  ratio {spread_ratio}")

    width = max(len(row["name"]) for row in report["per_prompt"])
    lines = [f"{row['name']:<{width}}  {figures(row)}" for row in report["per_prompt"]]
    for name, summary in [*report["kinds"].items(), ("all", report)]:
        lines.append(f"{name} ({summary['prompts']} prompts): {figures(summary)}  "
                     f"consistent codes {summary['consistent_codes']}/{len(summary['codes'])} "
                     f"(with still ones {summary['consistent_or_still_codes']}), "
                     f"one vertical way {summary['consistent_codes_dy']}"
                     + (f", hero on screen where the prompt has it in every frame {summary['heroes_stayed']}/"
                        f"{summary['prompts_with_heroes']}" if summary["prompts_with_heroes"] else ""))
    labels = report.get("code_labels") or []
    for code in report["codes"]:
        label = f" {labels[code['code']]}" if code["code"] < len(labels) else ""
        lines.append(f"code {code['code']}{label}: scene shift dx {code['scene_dx']:+.2f} dy {code['scene_dy']:+.2f} px, "
                     f"sign {code['sign']} on {code['same_sign_share']:.0%} of prompts, "
                     f"dy sign {code['sign_dy']} on {code['same_sign_share_dy']:.0%}")
    return lines

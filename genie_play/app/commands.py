"""CLI commands of the player: play, sketch, render, label, mimic. Thin: parse, call library code, print.

`register(app)` adds them to a typer app (genie_play.cli calls it).
"""

import re
import sys
from pathlib import Path

import numpy as np
import typer

import genie_play
from genie_play import validate
from genie_play.atomic import refuse_to_replace
from genie_play.errors import GenieError, exit_on_genie_error
from genie_play.validate import MAX_SCALE, MAX_SEED, path_text, png_path

DEFAULT_PROMPT = Path(genie_play.__file__).resolve().parent.parent / "assets" / "prompt.png"
ASSETS = DEFAULT_PROMPT.parent
RENDER_FRAME_MS = 100
CLIP_HELP = "an animated GIF, a folder of frame images, or a `collect` shard (.npz)"
INTEGER = re.compile(r"-?[0-9]+")

WeightsOption = typer.Option(None, "--weights", parser=path_text, help="weights folder (default: the bundled weights/)")
DeviceOption = typer.Option("auto", "--device", callback=validate.device_name, help="auto, cpu or cuda")
SeedOption = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="sampling seed")
CameraOption = typer.Option(True, "--camera/--no-camera", help="move the view with the weights' camera table "
                            "(code_motion in play.json), when they have one, on pictures their camera gate "
                            "(gate.safetensors) judges to scroll sideways")
DrawingOption = typer.Option(False, "--drawing", help="play --image as a drawing: the camera moves it sideways "
                             "and up and down whatever the camera gate says (a PNG the sketch screen saved is "
                             "one already)")
TpsOption = typer.Option(15.0, "--tps", min=0.0, max=1000.0,
                         help="steps a second while a key is held (Procgen's own player runs its games at 15); "
                              "0: as fast as the model runs")


def open_world(weights: Path | None, device: str, seed: int, camera: bool = True):
    from genie_play.world import load_world  # lazy: keeps `--help` fast (no torch import)

    return load_world(weights, device=device, seed=seed, **({} if camera else {"code_motion": None}))


def drawn_flag(drawing: bool, image: Path | None) -> bool | None:
    """World.reset's `drawn` for --drawing: True, or None (the world decides: a saved sketch is a drawing)."""
    if drawing and image is None:
        raise GenieError("--drawing plays the --image as a drawing; give --image")
    return True if drawing else None


def default_prompt(size: int = 64):
    """assets/prompt.png when the repo has it, else the built-in starter level (size, size, 3)."""
    from genie_play.levels import starter_level

    return DEFAULT_PROMPT if DEFAULT_PROMPT.exists() else starter_level(size)


def label_prompts(count: int, size: int = 64) -> list:
    """`count` prompts: the images in assets/prompts/ first (test-level frames, then sketches), then generated
    platformer sketches. Not the rest of assets/: plots and screenshots are no prompts."""
    from genie_play.levels import random_level

    folder = ASSETS / "prompts"
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")) if folder.is_dir() else []
    prompts: list = images[:count]
    prompts += [random_level(seed, size) for seed in range(count - len(prompts))]
    return prompts


def parse_actions(text: str, num_actions: int, names: list[str] | None = None) -> list[int]:
    """"3,3,1" -> [3, 3, 1], each in 0..num_actions-1; with the codes' `names`, "right,right,jump" too (any case;
    "jump 2" may be typed "jump2")."""
    by_name = {}
    for code, name in enumerate(names or []):
        by_name[name.casefold()] = by_name[name.replace(" ", "").casefold()] = code
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise typer.BadParameter("no actions given", param_hint="--actions")
    if not all(parts):  # "right,,left": a code left out by mistake, not one to skip
        raise typer.BadParameter(f"{text!r} has an empty entry", param_hint="--actions")
    if len(parts) > validate.MAX_RENDER_CODES:
        raise typer.BadParameter(f"{len(parts)} codes; at most {validate.MAX_RENDER_CODES}", param_hint="--actions")
    unknown = [part for part in parts if not INTEGER.fullmatch(part) and part.casefold() not in by_name]
    if unknown:
        known = f" or labels ({', '.join(names)})" if names else ""
        raise typer.BadParameter(f"{unknown[0]!r}: expected comma-separated codes like 3,3,1{known}", param_hint="--actions")
    actions = [int(part) if INTEGER.fullmatch(part) else by_name[part.casefold()] for part in parts]
    bad = [a for a in actions if not 0 <= a < num_actions]
    if bad:
        raise typer.BadParameter(f"codes must be in 0..{num_actions - 1}, got {bad}", param_hint="--actions")
    return actions


def play(
    image: Path | None = typer.Option(None, "--image", parser=path_text, help="prompt image (default: assets/prompt.png)"),
    weights: Path | None = WeightsOption,
    device: str = DeviceOption,
    seed: int = SeedOption,
    scale: int = typer.Option(8, "--scale", min=1, max=MAX_SCALE, help="window pixels per frame pixel"),
    clip: Path | None = typer.Option(None, "--clip", parser=path_text,
                                     help=f"start with a ghost replay of this clip ({CLIP_HELP}); "
                                     "default prompt: its first frame"),
    camera: bool = CameraOption,
    drawing: bool = DrawingOption,
    tps: float = TpsOption,
):
    """Play a world in a window: mapped keys step the world; H shows every key."""
    from genie_play.data.clips import load_clip

    from .app import App

    drawn = drawn_flag(drawing, image)
    world = open_world(weights, device, seed, camera)
    source = load_clip(clip, size=world.image_size) if clip is not None else None  # bad clips fail before the window
    if image is not None:
        prompt = image
    else:
        prompt = source.frames[0] if source is not None else default_prompt(world.image_size)
    world.reset(prompt, drawn=drawn)  # a bad image fails here, with a one-line error, before any window opens
    App(world, prompt, scale=scale, clip=source, steps_per_second=tps, prompt_drawn=drawn).run()


def sketch(
    weights: Path | None = WeightsOption,
    device: str = DeviceOption,
    seed: int = SeedOption,
    out: Path | None = typer.Option(None, "--out", parser=png_path,
                                    help="PNG to save the sketch to (S; S again updates it, after N a new "
                                    "drawing gets a numbered name); never overwrites an existing file"),
    trace: Path | None = typer.Option(None, "--trace", parser=path_text, help="image shown under the canvas to trace over"),
    scale: int = typer.Option(8, "--scale", min=1, max=MAX_SCALE, help="window pixels per canvas pixel"),
    camera: bool = CameraOption,
    tps: float = TpsOption,
):
    """Sketch a level, then press Enter to play it."""
    from genie_play.images import load_image

    from .app import App

    if out is not None:
        validate.check_output_file(out)
    world = open_world(weights, device, seed, camera)
    trace_pixels = load_image(trace, size=world.image_size) if trace is not None else None
    app = App(world, default_prompt(world.image_size), scale=scale, start="sketch", sketch_out=out, steps_per_second=tps)
    app.sketch.trace = trace_pixels
    app.run()


def render(
    image: Path | None = typer.Option(None, "--image", parser=path_text, help="prompt image (default: assets/prompt.png)"),
    actions: str = typer.Option(..., "--actions", help="latent codes, comma-separated: numbers (3,3,1) or the codes' "
                                "labels (right,right,jump)"),
    out: Path = typer.Option(..., "--out", parser=path_text, help="clip.gif (animated) or strip.png (frames side by side)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace --out when it exists"),
    weights: Path | None = WeightsOption,
    device: str = DeviceOption,
    seed: int = SeedOption,
    scale: int = typer.Option(4, "--scale", min=1, max=MAX_SCALE, help="output pixels per frame pixel"),
    camera: bool = CameraOption,
    drawing: bool = DrawingOption,
):
    """Generate frames for a list of codes, without a window, and write a GIF (or PNG strip)."""
    from genie_play.labels import code_names

    from .recorder import save_gif, save_strip

    if out.suffix.lower() not in (".gif", ".png"):
        raise typer.BadParameter(f"{out}: use a .gif or .png file name", param_hint="--out")
    refuse_to_replace(out, overwrite)  # checked again when writing; this one saves the wait
    validate.check_output_file(out)
    drawn = drawn_flag(drawing, image)
    world = open_world(weights, device, seed, camera)
    codes = parse_actions(actions, world.num_actions, code_names(world))
    validate.check_output_pixels(len(codes) + 1, world.image_size, world.image_size, scale, str(out))
    prompt = image if image is not None else default_prompt(world.image_size)
    first = np.array(world.reset(prompt, drawn=drawn))  # (H, W, 3)
    frames = [first] + [np.array(world.step(code)) for code in codes]  # (H, W, 3) each
    refuse_to_replace(out, overwrite)
    try:
        if out.suffix.lower() == ".gif":
            save_gif(frames, out, RENDER_FRAME_MS, scale)
        else:
            save_strip(frames, out, scale)
    except OSError as error:
        raise GenieError(f"{out}: cannot write ({error.strerror or error})") from None
    typer.echo(f"wrote {out} ({len(frames)} frames)")


def label(
    weights: Path | None = WeightsOption,
    device: str = DeviceOption,
    seed: int = SeedOption,
    prompts: int = typer.Option(4, "--prompts", min=1, max=validate.MAX_LABEL_PROMPTS, help="prompt images to average over"),
    steps: int = typer.Option(4, "--steps", min=1, max=validate.MAX_LABEL_STEPS, help="steps of each code per prompt"),
):
    """Measure what each latent code does (scene motion by phase correlation) and name it."""
    from genie_play.labels import format_label_table, label_codes, save_labels, with_distinct_labels

    from .paths import labels_path

    world = open_world(weights, device, seed)
    rows = with_distinct_labels(label_codes(world, label_prompts(prompts, world.image_size), steps))
    typer.echo(format_label_table(rows))
    cache = labels_path(world.weights_id)
    try:
        save_labels(cache, world.weights_id, rows)
    except OSError as error:
        typer.echo(f"warning: labels not cached at {cache} ({error.strerror or error})", err=True)
        return
    typer.echo(f"labels cached in {cache}", err=True)


def format_codes(codes, names: list[str]) -> str:
    """The inferred sequence as a table (step, code, label) plus a line `render --actions` accepts."""
    lines = [f"{'step':>4}  {'code':>4}  label"]
    lines += [f"{t:>4}  {int(c):>4}  {names[int(c)]}" for t, c in enumerate(codes, start=1)]
    lines.append("codes: " + ",".join(str(int(c)) for c in codes))
    return "\n".join(lines)


def mimic(
    video: Path = typer.Option(..., "--video", parser=path_text, help=f"source clip: {CLIP_HELP}"),
    out: Path = typer.Option(..., "--out", parser=path_text, help="side-by-side GIF: the source clip | the replay"),
    image: Path | None = typer.Option(None, "--image", parser=path_text,
                                      help="prompt to replay from (default: the clip's first frame)"),
    env: int = typer.Option(0, "--env", min=0, help=".npz shards: which recorded environment"),
    start: int = typer.Option(0, "--start", min=0, help="first frame of the clip to use"),
    frames: int | None = typer.Option(None, "--frames", min=2, max=validate.MAX_CLIP_FRAMES,
                                      help="frames to use (default: all; 32 for a .npz shard)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace --out when it exists"),
    weights: Path | None = WeightsOption,
    device: str = DeviceOption,
    seed: int = SeedOption,
    scale: int = typer.Option(2, "--scale", min=1, max=MAX_SCALE, help="output pixels per frame pixel"),
):
    """Read the latent actions of a clip with the LAM and replay them in a world from a new prompt."""
    from genie_play.consistency import agreement, scroll_signs
    from genie_play.data.clips import load_clip
    from genie_play.images import load_image
    from genie_play.labels import code_names
    from genie_play.media import save_new_gif
    from genie_play.mimic import infer_codes, replay, side_by_side, step_captions

    if out.suffix.lower() != ".gif":
        raise typer.BadParameter(f"{out}: use a .gif file name", param_hint="--out")
    refuse_to_replace(out, overwrite)  # checked again when writing; this one saves the wait
    validate.check_output_file(out)
    world = open_world(weights, device, seed)
    prompt = load_image(image, size=world.image_size) if image is not None else None  # a bad prompt fails first
    clip = load_clip(video, size=world.image_size, env=env, start=start, frames=frames)
    if env and (video.is_dir() or video.suffix.lower() != ".npz"):
        typer.echo(f"note: --env picks an environment of a .npz shard; {video} has one, so --env {env} was not used",
                   err=True)
    validate.check_output_pixels(len(clip), world.image_size, 2 * world.image_size, scale, str(out))
    codes = infer_codes(world, clip.frames)
    names = code_names(world)
    typer.echo(f"{clip.name}: {len(clip)} frames -> {len(codes)} latent codes")
    if clip.episode_starts:
        typer.echo(f"note: a new episode starts at clip frame(s) {', '.join(map(str, clip.episode_starts))}", err=True)
    typer.echo(format_codes(codes, names))
    generated = replay(world, codes, prompt if prompt is not None else clip.frames[0])
    same = agreement(scroll_signs(clip.frames), scroll_signs(generated))
    typer.echo(f"horizontal scroll agrees with the clip on {same['all']:.0%} of steps"
               + (f" ({same['moving']:.0%} of the {same['moving_steps']} where the clip scrolls)" if same["moving_steps"] else ""))
    captions = step_captions(codes, names, "prompt" if image is not None else "replay")
    save_new_gif(side_by_side(clip.frames, generated, captions, scale), out, RENDER_FRAME_MS, overwrite)
    typer.echo(f"wrote {out} ({len(generated)} frames: clip | replay)")


COMMANDS = {"play": play, "sketch": sketch, "render": render, "label": label, "mimic": mimic}


def register(app: typer.Typer) -> None:
    """Add play, sketch, render, label and mimic to a typer app."""
    for name, command in COMMANDS.items():
        app.command(name)(exit_on_genie_error(command))


def main() -> None:
    """Run these commands on their own (the full CLI is genie_play.cli)."""
    standalone = typer.Typer(add_completion=False, no_args_is_help=True)
    register(standalone)
    standalone(prog_name="genie-play")


if __name__ == "__main__":
    sys.exit(main())

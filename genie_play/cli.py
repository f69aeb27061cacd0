"""The `genie-play` command line. Commands are thin: parse, call library code, print."""

import contextlib
import json
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

import genie_play
from genie_play import validate
from genie_play.errors import GenieError, exit_on_genie_error
from genie_play.validate import MAX_SEED, path_text

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Play worlds made from one image (a small Genie).")


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"genie-play {genie_play.__version__}")
        raise typer.Exit()


@app.callback()
def main_options(version: bool = typer.Option(False, "--version", is_eager=True, callback=show_version,
                                              help="print the version and exit")):
    """Play worlds made from one image (a small Genie)."""


def register_app_commands() -> None:
    from genie_play.app.commands import register

    register(app)


register_app_commands()  # first, so that --help lists play and sketch before the pipeline commands


class LazyProgress:
    """A rich progress bar that appears with the first progress, so an error raised before any work
    prints alone, as one line. Use `with bar:` around the work and pass `bar.update` as the callback."""

    def __init__(self, description: str):
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                            TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=False)
        self.task = self.bar.add_task(description, total=None, info="")
        self.started = False

    def update(self, done, total, metrics=None) -> None:
        if not self.started:
            self.bar.start()
            self.started = True
        info = ""
        if metrics:
            info = "  ".join(f"{k} {v:.4g}" for k, v in metrics.items() if k in ("loss", "psnr", "samples_per_s", "masked_acc", "codes_used"))
        self.bar.update(self.task, completed=done, total=total, info=info)

    def __enter__(self) -> "LazyProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self.started:
            self.bar.stop()


def progress_bar(description: str):
    """A progress bar and its update(done, total, metrics=None) callback."""
    bar = LazyProgress(description)
    return bar, bar.update


@app.command()
@exit_on_genie_error
def info(path: Path = typer.Argument(..., parser=path_text, help="a .safetensors checkpoint")):
    """Print a checkpoint's kind, config, parameter count and provenance."""
    from genie_play.checkpoint import count_parameters, describe, load_model

    desc = describe(path)
    model = load_model(path)
    typer.echo(f"{path}: {desc['kind']}, {count_parameters(model):,} parameters")
    typer.echo("config: " + json.dumps(desc["config"]))
    typer.echo("provenance: " + json.dumps(desc["provenance"]))


def parse_levels(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise GenieError(f"--levels {text!r}: expected A:B, e.g. 0:1000") from None
    return a, b


@app.command()
@exit_on_genie_error
def collect(
    out_dir: Path = typer.Argument(..., parser=path_text, help="folder for the shards (a subfolder per split)"),
    game: str = typer.Option("coinrun", help="any Procgen game"),
    levels: str = typer.Option("0:1000", help=f"level range A:B, levels A to B-1 (0 <= A < B <= {validate.MAX_LEVEL + 1}; "
                                              "keep train/val/test disjoint)"),
    steps: int = typer.Option(64000, min=1, max=validate.MAX_COLLECT_STEPS,
                              help="frames to record, rounded up to whole shards (envs x shard steps each)"),
    split: str = typer.Option("train", callback=validate.split_name, help="train, val or test (a plain name)"),
    policy: str = typer.Option("explore", help="explore (held, biased actions) or uniform"),
    workers: int = typer.Option(2, min=1, max=validate.MAX_WORKERS, help="processes"),
    envs: int = typer.Option(16, min=1, max=validate.MAX_ENVS, help="environments per shard"),
    shard_steps: int = typer.Option(500, min=1, max=validate.MAX_SHARD_STEPS, help="steps each environment records per shard "
                                    f"(envs x shard steps: at most {validate.MAX_SHARD_FRAMES} frames)"),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="seed of the environments and the policy"),
    frame_skip: int = typer.Option(1, min=1, max=validate.MAX_FRAME_SKIP,
                                   help="game ticks per recorded frame (the action is held between frames)"),
    variant: str = typer.Option("default", help="Procgen render variant: default, plain (no background), themed "
                                "(plain, one tile theme) or mono (flat-coloured blocks: sketch-like)"),
):
    """Record Procgen episodes into shards (resumable: finished shards are skipped)."""
    from genie_play.data.collect import collect as run_collect, shards_for, summarize_coverage

    level_range = parse_levels(levels)
    validate.check_shard_size(envs, shard_steps)
    validate.check_output_folder(out_dir)  # before any recording
    bar, update = progress_bar(f"collect {game} {split}")
    with bar:
        stats = run_collect(out_dir, game, level_range, steps, split, policy, workers, envs, shard_steps, seed,
                            update, frame_skip, variant)
    shards = shards_for(steps, envs, shard_steps)
    if shards * envs * shard_steps != steps:
        typer.echo(f"recorded {shards * envs * shard_steps} frames: --steps {steps} rounded up to {shards} "
                   f"shard{'s' if shards > 1 else ''} of {envs} environment{'s' if envs > 1 else ''} x {shard_steps} steps")
    typer.echo("coverage: " + json.dumps(summarize_coverage(stats)))


def file_size(size: int) -> str:
    """Bytes as MB, or as kB under a tenth of a MB, where 0.0 MB would say nothing."""
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def game_names(text: str | None) -> list[str] | None:
    """'coinrun, ninja' -> ['coinrun', 'ninja']; None or empty -> None."""
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    return names or None


@contextlib.contextmanager
def resumable_on_interrupt(out: Path):
    """Ctrl-C during training: a line saying how to go on, exit code 130."""
    try:
        yield
    except KeyboardInterrupt:
        typer.echo(f"interrupted: the same command with --resume goes on from the last checkpoint in {out}", err=True)
        raise typer.Exit(130) from None


@app.command("train")
@exit_on_genie_error
def train_cmd(
    stage: str = typer.Argument(..., help="tokenizer, lam, dynamics, or all: the three in turn on one --max-minutes budget "
                                          "(30% / 10% / 60%), --init then being a weights folder; or gate: the camera "
                                          "gate (needs --still-games)"),
    data: Path = typer.Option(..., parser=path_text, help="folder written by `genie-play collect`"),
    out: Path = typer.Option(..., parser=path_text, help="folder for checkpoints and metrics"),
    preset: str = typer.Option("cpu", help="size preset: tiny, cpu or gpu; also cpu-p4, gpu-p4, cpu-p4c, gpu-p4c, cpu-refiner and gpu-refiner (tokenizer), cpu-mirror and gpu-mirror (lam), cpu-plain, cpu-group2 and gpu-group2 (dynamics); tiny, cpu or gpu for the gate (tiny-vertical, cpu-vertical, gpu-vertical: it also answers whether the camera moves a view up and down)"),
    max_steps: int = typer.Option(None, min=1, max=validate.MAX_TRAIN_STEPS, help="override the preset's steps"),
    batch_size: int = typer.Option(None, min=1, max=validate.MAX_TRAIN_BATCH, help="override the preset's batch size"),
    resume: bool = typer.Option(False, help="continue from the checkpoint in --out"),
    device: str = typer.Option("auto", callback=validate.device_name, help="auto, cpu or cuda"),
    tokenizer: Path = typer.Option(None, parser=path_text,
                                   help="dynamics: tokenizer checkpoint (default: --out/tokenizer.safetensors)"),
    lam: Path = typer.Option(None, parser=path_text, help="dynamics: LAM checkpoint (default: --out/lam.safetensors)"),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="seed of the weights' initialisation and the data order"),
    threads: int = typer.Option(None, min=1, max=validate.MAX_THREADS, help="CPU threads (default: all cores)"),
    max_minutes: float = typer.Option(None, callback=validate.positive_finite,
                                      help="stop after this much wall time, > 0 (the LR schedule ends with it)"),
    init: Path = typer.Option(None, parser=path_text,
                              help="start from this checkpoint's weights (same model size), fresh optimizer"),
    lr: float = typer.Option(None, callback=validate.learning_rate,
                             help=f"override the preset's peak learning rate (> 0, <= {validate.MAX_LR:g})"),
    only: str = typer.Option(None, help="train only the parameters whose names start with this, the rest frozen "
                                        "(action_emb: teach a dynamics another LAM's codes)"),
    still_games: str = typer.Option(None, help="gate: comma-separated games whose view does not scroll sideways "
                                               "(the camera stays off on frames like theirs)"),
    photos: Path = typer.Option(None, parser=path_text, help="gate: a folder of photos (.jpg, .jpeg, .png); crops of "
                                                             "them join the random pictures, e.g. assets/photos"),
):
    """Train one stage, or all three. Under `torchrun --nproc_per_node=K` it trains with DistributedDataParallel."""
    from genie_play.train.presets import PRESETS
    from genie_play.train.stage import train_all, train_stage

    if stage not in (*PRESETS, "all"):
        raise GenieError(f"unknown stage {stage!r} (choose {', '.join(PRESETS)} or all)")
    validate.check_output_folder(out)  # before any training
    if stage == "all":
        if not max_minutes:
            raise GenieError("train all: give the time budget of the three stages with --max-minutes")
        if tokenizer or lam or batch_size or lr or only or still_games or photos:
            raise GenieError("train all: --tokenizer, --lam, --batch-size, --lr, --only, --still-games and --photos apply "
                             "to one stage; train stages one by one")
        with resumable_on_interrupt(out), contextlib.ExitStack() as bars:
            def progress_for(name):
                bars.close()  # the last stage's bar ends before the next one starts, so they print in order
                return bars.enter_context(progress_bar(f"train {name}")[0]).update
            results = train_all(data, out, max_minutes, preset, resume, device, seed, threads, init, max_steps, progress_for)
        for name, metrics in results.items():
            typer.echo(f"{name}: " + (json.dumps(metrics) if metrics else "finished before, skipped"))
        return
    fresh = resume and not (Path(out) / f"{stage}.safetensors").exists()
    bar, update = progress_bar(f"train {stage}")
    with resumable_on_interrupt(out), bar:
        metrics = train_stage(stage, data, out, preset, max_steps, batch_size, resume, device, tokenizer, lam, seed, threads,
                              max_minutes, init, lr, update, only, game_names(still_games), photos)
    if fresh:  # said after the run, so that a user error stays a single line
        typer.echo(f"note: {Path(out) / f'{stage}.safetensors'} was not there to resume, so this run started fresh", err=True)
    typer.echo("final: " + json.dumps(metrics))


@app.command("eval")
@exit_on_genie_error
def eval_cmd(
    weights: Path = typer.Option(None, parser=path_text, help="weights folder (default: the bundled weights/)"),
    data: Path = typer.Option(None, parser=path_text, help="folder written by `genie-play collect` (uses its test split)"),
    prompts: Path = typer.Option(None, parser=path_text,
                                 help="instead of --data: a folder of images; each code is held 8 steps from each "
                                      "(two seeds): kept PSNR, spread between codes and seeds, scene shifts, strips "
                                      "(--clips, --length, --batch and --split are for --data)"),
    out: Path = typer.Option(Path("report.json"), parser=path_text,
                             help="report path; the grid and plot PNGs (--prompts: a <stem>_strips/ folder) go beside it"),
    overwrite: bool = typer.Option(False, help="replace a report (and its PNGs) already there"),
    clips: int = typer.Option(512, min=1, max=validate.MAX_EVAL_CLIPS,
                              help="held-out clips (512: the model card's figures, seed 0; about 12 min on 1 CPU core)"),
    length: int = typer.Option(16, min=5, max=validate.MAX_EVAL_LENGTH, help="frames a clip (t = 0 is the prompt)"),
    batch: int = typer.Option(32, min=1, max=validate.MAX_EVAL_BATCH, help="clips generated together"),
    split: str = typer.Option("test", callback=validate.split_name, help="which split of --data"),
    temperature: float = typer.Option(None, callback=validate.temperature,
                                      help=f"sampling temperature, 0 (argmax) to {validate.MAX_TEMPERATURE:g} "
                                           "(default: the weights' setting)"),
    maskgit_steps: int = typer.Option(None, min=1, help="MaskGIT steps, at most the tokens of a frame "
                                                        "(default: the weights' setting)"),
    keep_still_pixels: bool = typer.Option(None, "--keep-still-pixels/--decoded-frames",
                                           help="score frames as played, where patches whose token stayed keep their pixels, or "
                                                "the tokenizer's decoding of every frame (default: the weights' setting)"),
    device: str = typer.Option("auto", callback=validate.device_name, help="auto, cpu or cuda"),
    bf16: bool = typer.Option(None, "--bf16/--fp32", help="bf16 autocast (default: on CUDA only)"),
    cuda_graphs: bool = typer.Option(True, help="replay CUDA graphs once the KV cache is full (CUDA only)"),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="seed of the clips drawn and of sampling"),
    drawings: bool = typer.Option(False, help="--prompts: play every image as a drawing made in the app, as the sketch "
                                              "screen does (the camera moves it on both axes whatever its gate says); "
                                              "without it only the PNGs the sketch screen saved"),
):
    """Held-out metrics: tokenizer PSNR/SSIM, rollout PSNR with the LAM's codes, copy-frame-0 floor, ΔtPSNR
    (LAM codes against random codes), action NMI, code usage. Definitions: docs/metrics.md.
    With --prompts: how well a world keeps each image and answers the keys on it (genie_play/prompt_eval.py)."""
    from genie_play.evaluate import EvalSettings, check_report_paths, evaluate, write_report

    if (data is None) == (prompts is None):
        raise GenieError("eval: give --data (held-out levels) or --prompts (a folder of images), one of them")
    if drawings and prompts is None:
        raise GenieError("eval: --drawings plays the images of --prompts as drawings; give --prompts")
    if prompts is not None:
        from genie_play.prompt_eval import PromptEvalSettings

        settings = PromptEvalSettings(seed, temperature, maskgit_steps, keep_still_pixels, bf16, cuda_graphs, drawings)
        return eval_prompts(weights, prompts, out, overwrite, settings, device)
    check_report_paths(out, overwrite)  # before minutes of work
    validate.check_output_file(out)
    validate.check_eval_size(clips, length)
    settings = EvalSettings(clips, length, min(batch, clips), seed, temperature, maskgit_steps, split, keep_still_pixels,
                            bf16, cuda_graphs)
    bar, update = progress_bar("eval")
    with bar:
        report, arrays = evaluate(weights, data, settings, device, update)
    paths = write_report(report, arrays, out)
    for key in ("clips", "tokenizer_psnr", "tokenizer_ssim", "action_nmi"):
        typer.echo(f"{key}: {report[key]:.4g}" if isinstance(report[key], float) else f"{key}: {report[key]}")
    se = report["standard_error_t4"]
    for key, se_key in (("rollout_psnr_t4", "rollout_psnr"), ("copy_psnr_t4", "copy_psnr"),
                        ("rollout_minus_copy_t4", "rollout_minus_copy"), ("delta_psnr_t4", "delta_psnr"),
                        ("real_tokens_minus_copy_t4", "real_tokens_minus_copy")):
        typer.echo(f"{key}: {report[key]:.4g}" + (f" ± {se[se_key]:.2g} (standard error)" if se[se_key] is not None else ""))
    change = report["token_change"]
    typer.echo(f"token_change: real {change['real']:.1%} a step, rollout {change['rollout']:.1%}")
    typer.echo("code_usage: " + " ".join(f"{u:.3f}" for u in report["code_usage"]))
    typer.echo("code_effects: " + ", ".join(f"{row['code']} {row['effect'] or 'unused'} ({row['share']:.0%})" for row in report["code_effects"]))
    for game, effects in report["action_effects"].items():
        typer.echo(f"action_nmi classes ({game}): {', '.join(effects)}")
    skip = report["frame_skip"]
    if skip["data"] != skip["dynamics"]:
        typer.echo(f"warning: the test data has {skip['data']} game ticks a frame, the dynamics trained on "
                   f"{skip['dynamics']}: record test data with `collect --frame-skip {skip['dynamics']}`", err=True)
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


def eval_prompts(weights: Path | None, folder: Path, out: Path, overwrite: bool, settings, device: str) -> None:
    """`eval --prompts`: every code held on every image of `folder`; prints the figures, writes the report."""
    from genie_play.prompt_eval import (check_prompt_report_paths, evaluate_prompts, find_prompts, strips_folder,
                                        summary_lines, write_prompt_report)

    found = find_prompts(folder, exclude=strips_folder(out))
    check_prompt_report_paths(out, found, overwrite)  # before the work
    validate.check_output_file(out)
    bar, update = progress_bar("eval prompts")
    with bar:
        report, strips = evaluate_prompts(weights, found, settings, device, update)
    paths = write_prompt_report(report, strips, out, found)
    for line in summary_lines(report):
        typer.echo(line)
    typer.echo(f"wrote {paths[0]} and {len(paths) - 1} strips in {strips_folder(out)}")


@app.command()
@exit_on_genie_error
def export(
    src: Path = typer.Argument(..., parser=path_text, help="training output folder"),
    dst: Path = typer.Argument(..., parser=path_text, help="weights folder to write (not the training folder itself)"),
    dtype: str = typer.Option("float16", help="float16, bfloat16 or float32"),
    overwrite: bool = typer.Option(False, help="replace checkpoints already in DST"),
):
    """Copy trained checkpoints into a weights folder: weights only, stored small."""
    import torch

    from genie_play.checkpoint import export_weights

    if dtype not in ("float16", "bfloat16", "float32"):
        raise GenieError(f"--dtype {dtype}: choose float16, bfloat16 or float32")
    validate.check_output_folder(dst)
    for kind, target in export_weights(src, dst, getattr(torch, dtype), overwrite).items():
        if target is None:
            typer.echo(f"skip {kind}: {src / f'{kind}.safetensors'} not found")
        else:
            typer.echo(f"wrote {target} ({file_size(target.stat().st_size)})")


@app.command()
@exit_on_genie_error
def motion(
    data: Path = typer.Option(..., parser=path_text, help="recorded play (collect's output folder)"),
    weights: Path = typer.Option(None, parser=path_text, help="weights folder whose LAM reads the codes "
                                                               "(default: the bundled weights/)"),
    split: str = typer.Option("train", callback=validate.split_name, help="the data split to measure on"),
    clips: int = typer.Option(2048, min=1, max=validate.MAX_EVAL_CLIPS * 4, help="random clips of 16 frames"),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="which clips"),
    device: str = typer.Option("auto", callback=validate.device_name, help="auto, cpu or cuda"),
    axes: str = typer.Option("x", help="x: the camera moves the view sideways only (the dynamics moves it up "
                                        "and down itself); xy: both ways"),
    games: str = typer.Option(None, help="comma-separated Procgen games: measure on their episodes only "
                                         "(default: every game in the data)"),
    save: bool = typer.Option(False, help="write the table into WEIGHTS/play.json as code_motion, the "
                                          "camera motion the world then plays with (other settings kept)"),
    labels: bool = typer.Option(False, help="with --save, also name each code by its motion (both axes) and "
                                            "write the names as code_labels, replacing the ones there"),
):
    """Measure how far each latent code moves the scene in recorded play: the camera motion a world adds."""
    from genie_play.camera import measure_code_motion, save_code_motion
    from genie_play.labels import MOTION_LABEL_PX
    from genie_play.world import BUNDLED_WEIGHTS

    if axes not in ("x", "xy"):
        raise GenieError(f"--axes {axes}: choose x or xy")
    if labels and not save:
        raise GenieError("motion: --labels writes the names into play.json, so it needs --save")
    game_list = game_names(games)
    only = f" --games {','.join(game_list)}" if game_list else ""
    bar, update = progress_bar("clips")
    with bar:
        result = measure_code_motion(weights, data, split, clips, seed, device, axes, game_list, progress=update)
    rows = zip(result["scene_motion"], result["code_motion"], result["share"], result["code_labels"])
    for code, ((dx, dy), camera, share, name) in enumerate(rows):
        typer.echo(f"code {code}: scene dx {dx:+.3f} dy {dy:+.3f} px a step ({share:.1%} of transitions): {name}; "
                   f"camera {camera[0]:+.3f}, {camera[1]:+.3f}")
    if save:
        of_games = f", games {', '.join(game_list)}" if game_list else ""
        source = (f"mean scene shift of each LAM code over {result['transitions']} transitions of {data} "
                  f"(split {split}, seed {seed}, axes {axes}{of_games}): "
                  f"genie-play motion --data {data} --clips {clips} --seed {seed} --axes {axes}{only}")
        names, names_source = None, ""
        if labels:
            names = result["code_labels"]
            names_source = (f"what each code does to the view in recorded play: its mean scene shift on both axes "
                            f"over {result['transitions']} transitions of {data} (split {split}, seed {seed}{of_games}), named "
                            f"where it passes {MOTION_LABEL_PX} px a step: genie-play motion --data {data} --clips "
                            f"{clips} --seed {seed}{only} --save --labels")
        path = save_code_motion(weights or BUNDLED_WEIGHTS, result["code_motion"], source, names, names_source)
        typer.echo(f"wrote {path}")


@app.command()
@exit_on_genie_error
def bench(
    weights: Path = typer.Option(None, parser=path_text, help="weights folder (default: the bundled weights/)"),
    device: str = typer.Option("auto", callback=validate.device_name, help="auto, cpu or cuda"),
    steps: int = typer.Option(100, min=1, max=validate.MAX_BENCH_STEPS, help="timed interactive steps"),
    maskgit_steps: int = typer.Option(None, min=1, help="MaskGIT steps, at most the tokens of a frame "
                                                        "(default: the weights' setting)"),
    batches: str = typer.Option("1,8,64", parser=validate.batch_sizes,
                                help=f"batch sizes for throughput, each 1..{validate.MAX_BENCH_BATCH}"),
    bf16: bool = typer.Option(None, "--bf16/--fp32", help="bf16 autocast (default: on CUDA only)"),
    cuda_graphs: bool = typer.Option(True, help="replay CUDA graphs once the KV cache is full (CUDA only)"),
    json_out: bool = typer.Option(False, "--json", help="print JSON only"),
):
    """Latency of one interactive step (p50/p95), batched frames/s, memory, FLOPs and the FLOP floor."""
    from genie_play.bench import run_benchmark

    kwargs = {"maskgit_steps": maskgit_steps} if maskgit_steps else {}
    kwargs.update(bf16=bf16, cuda_graphs=cuda_graphs)
    result = run_benchmark(weights, device, steps, batches=batches, **kwargs)  # batches: parsed into a tuple of ints
    if json_out:
        typer.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        typer.echo(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


def main():
    app()


if __name__ == "__main__":
    sys.exit(main())

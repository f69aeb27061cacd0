"""The `genie-play` command line. Commands are thin: parse, call library code, print."""

import json
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from genie_play.errors import GenieError, exit_on_genie_error

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Play worlds made from one image (a small Genie).")


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
def info(path: Path = typer.Argument(..., help="a .safetensors checkpoint")):
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
    out_dir: Path = typer.Argument(..., help="folder for the shards (a subfolder per split)"),
    game: str = typer.Option("coinrun", help="any Procgen game"),
    levels: str = typer.Option("0:1000", help="level range A:B (keep train/val/test disjoint)"),
    steps: int = typer.Option(64000, help="frames to record"),
    split: str = typer.Option("train", help="train, val or test"),
    policy: str = typer.Option("explore", help="explore (held, biased actions) or uniform"),
    workers: int = typer.Option(2, help="processes"),
    envs: int = typer.Option(16, help="environments per shard"),
    shard_steps: int = typer.Option(500, help="steps each environment records per shard"),
    seed: int = 0,
    frame_skip: int = typer.Option(1, help="game ticks per recorded frame (the action is held between frames)"),
):
    """Record Procgen episodes into shards (resumable: finished shards are skipped)."""
    from genie_play.data.collect import collect as run_collect, summarize_coverage

    bar, update = progress_bar(f"collect {game} {split}")
    with bar:
        stats = run_collect(out_dir, game, parse_levels(levels), steps, split, policy, workers, envs, shard_steps, seed,
                            update, frame_skip)
    typer.echo("coverage: " + json.dumps(summarize_coverage(stats)))


@app.command("train")
@exit_on_genie_error
def train_cmd(
    stage: str = typer.Argument(..., help="tokenizer, lam or dynamics"),
    data: Path = typer.Option(..., help="folder written by `genie-play collect`"),
    out: Path = typer.Option(..., help="folder for checkpoints and metrics"),
    preset: str = typer.Option("cpu", help="size preset: tiny, cpu or gpu"),
    max_steps: int = typer.Option(None, help="override the preset's steps"),
    batch_size: int = typer.Option(None, help="override the preset's batch size"),
    resume: bool = typer.Option(False, help="continue from the checkpoint in --out"),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
    tokenizer: Path = typer.Option(None, help="dynamics: tokenizer checkpoint (default: --out/tokenizer.safetensors)"),
    lam: Path = typer.Option(None, help="dynamics: LAM checkpoint (default: --out/lam.safetensors)"),
    seed: int = 0,
    threads: int = typer.Option(None, help="CPU threads (default: all cores)"),
    max_minutes: float = typer.Option(None, help="stop after this much wall time (the LR schedule ends with it)"),
    init: Path = typer.Option(None, help="start from this checkpoint's weights (same model size), fresh optimizer"),
    lr: float = typer.Option(None, help="override the preset's peak learning rate"),
):
    """Train one stage. Under `torchrun --nproc_per_node=K` it trains with DistributedDataParallel."""
    from genie_play.train.stage import train_stage

    bar, update = progress_bar(f"train {stage}")
    with bar:
        metrics = train_stage(stage, data, out, preset, max_steps, batch_size, resume, device, tokenizer, lam, seed, threads,
                              max_minutes, init, lr, update)
    typer.echo("final: " + json.dumps(metrics))


@app.command("eval")
@exit_on_genie_error
def eval_cmd(
    weights: Path = typer.Option(None, help="weights folder (default: the bundled weights/)"),
    data: Path = typer.Option(..., help="folder written by `genie-play collect` (uses its test split)"),
    out: Path = typer.Option(Path("report.json"), help="report path; the grid and plot PNGs go beside it"),
    overwrite: bool = typer.Option(False, help="replace a report (and its PNGs) already there"),
    clips: int = typer.Option(512, help="held-out clips (512: the model card's figures, seed 0; about 12 min on 1 CPU core)"),
    length: int = typer.Option(16, help="frames a clip (t = 0 is the prompt)"),
    batch: int = typer.Option(32, help="clips generated together"),
    split: str = typer.Option("test", help="which split of --data"),
    temperature: float = typer.Option(None, help="sampling temperature (default: the weights' setting)"),
    maskgit_steps: int = typer.Option(None, help="MaskGIT steps (default: the weights' setting)"),
    keep_still_pixels: bool = typer.Option(None, "--keep-still-pixels/--decoded-frames",
                                           help="score frames as played, where patches whose token stayed keep their pixels, or "
                                                "the tokenizer's decoding of every frame (default: the weights' setting)"),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
    bf16: bool = typer.Option(None, "--bf16/--fp32", help="bf16 autocast (default: on CUDA only)"),
    cuda_graphs: bool = typer.Option(True, help="replay CUDA graphs once the KV cache is full (CUDA only)"),
    seed: int = 0,
):
    """Held-out metrics of GUIDE §3: tokenizer PSNR/SSIM, rollout PSNR, ΔtPSNR, action NMI, code usage."""
    from genie_play.evaluate import EvalSettings, check_report_paths, evaluate, write_report

    check_report_paths(out, overwrite)  # before minutes of work
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
                        ("rollout_minus_copy_t4", "rollout_minus_copy"), ("delta_psnr_t4", "delta_psnr")):
        typer.echo(f"{key}: {report[key]:.4g}" + (f" ± {se[se_key]:.2g} (standard error)" if se[se_key] is not None else ""))
    typer.echo("code_usage: " + " ".join(f"{u:.3f}" for u in report["code_usage"]))
    for game, effects in report["action_effects"].items():
        typer.echo(f"action_nmi classes ({game}): {', '.join(effects)}")
    skip = report["frame_skip"]
    if skip["data"] != skip["dynamics"]:
        typer.echo(f"warning: the test data has {skip['data']} game ticks a frame, the dynamics trained on "
                   f"{skip['dynamics']}: record test data with `collect --frame-skip {skip['dynamics']}`", err=True)
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


@app.command()
@exit_on_genie_error
def export(
    src: Path = typer.Argument(..., help="training output folder"),
    dst: Path = typer.Argument(..., help="weights folder to write"),
    dtype: str = typer.Option("float16", help="float16, bfloat16 or float32"),
    overwrite: bool = typer.Option(False, help="replace checkpoints already in DST"),
):
    """Copy trained checkpoints into a weights folder: weights only, stored small."""
    import torch

    from genie_play.checkpoint import export_weights

    if dtype not in ("float16", "bfloat16", "float32"):
        raise GenieError(f"--dtype {dtype}: choose float16, bfloat16 or float32")
    for kind, target in export_weights(src, dst, getattr(torch, dtype), overwrite).items():
        if target is None:
            typer.echo(f"skip {kind}: {src / f'{kind}.safetensors'} not found")
        else:
            typer.echo(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")


@app.command()
@exit_on_genie_error
def bench(
    weights: Path = typer.Option(None, help="weights folder (default: the bundled weights/)"),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
    steps: int = typer.Option(100, help="timed interactive steps"),
    maskgit_steps: int = typer.Option(None, help="MaskGIT steps (default: the weights' setting)"),
    batches: str = typer.Option("1,8,64", help="batch sizes for throughput"),
    bf16: bool = typer.Option(None, "--bf16/--fp32", help="bf16 autocast (default: on CUDA only)"),
    cuda_graphs: bool = typer.Option(True, help="replay CUDA graphs once the KV cache is full (CUDA only)"),
    json_out: bool = typer.Option(False, "--json", help="print JSON only"),
):
    """Latency of one interactive step (p50/p95), batched frames/s, memory, FLOPs and the FLOP floor."""
    from genie_play.bench import run_benchmark

    kwargs = {"maskgit_steps": maskgit_steps} if maskgit_steps else {}
    kwargs.update(bf16=bf16, cuda_graphs=cuda_graphs)
    result = run_benchmark(weights, device, steps, batches=tuple(int(b) for b in batches.split(",")), **kwargs)
    if json_out:
        typer.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        typer.echo(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


def register_app_commands() -> None:
    from genie_play.app.commands import register

    register(app)


register_app_commands()


def main():
    app()


if __name__ == "__main__":
    sys.exit(main())

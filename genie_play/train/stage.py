"""Entry point shared by the CLI and torchrun: build a stage's run from a preset and train it."""

import dataclasses
import os
from pathlib import Path

import torch

from genie_play.checkpoint import describe
from genie_play.device import resolve_device
from genie_play.errors import GenieError
from genie_play.train.distributed import init_distributed, local_device, shutdown
from genie_play.train.loop import refuse_to_overwrite, train
from genie_play.train.presets import preset
from genie_play.train.stages import dynamics_run, gate_run, lam_run, tokenizer_run


def train_stage(stage: str, data_dir: Path, out_dir: Path, preset_name: str = "cpu", max_steps: int | None = None,
                batch_size: int | None = None, resume: bool = False, device: str = "auto",
                tokenizer: Path | None = None, lam: Path | None = None, seed: int = 0, threads: int | None = None,
                max_minutes: float | None = None, init: Path | None = None, lr: float | None = None,
                progress=None, only: str | None = None, still_games: list[str] | None = None,
                photos: Path | None = None) -> dict:
    """still_games (gate only): the games whose view does not scroll sideways; photos (gate only): a folder of
    photos to crop training pictures from."""
    try:
        model_cfg, loop_cfg = preset(stage, preset_name)
    except ValueError as e:
        raise GenieError(str(e)) from None
    if still_games and stage != "gate":
        raise GenieError(f"--still-games is for the gate, not the {stage}")
    if photos and stage != "gate":
        raise GenieError(f"--photos is for the gate, not the {stage}")
    if stage == "gate" and not still_games:
        raise GenieError("train gate needs --still-games: the games whose view does not scroll sideways")
    overrides = {"max_steps": max_steps, "batch_size": batch_size, "max_minutes": max_minutes, "lr": lr, "only": only}
    changes = {k: v for k, v in overrides.items() if v is not None}
    refuse_to_overwrite(Path(out_dir) / f"{stage}.safetensors", resume)  # before the data loads and pre-tokenising
    loop_cfg = dataclasses.replace(loop_cfg, **changes)
    loop_cfg = dataclasses.replace(loop_cfg, warmup=min(loop_cfg.warmup, max(1, loop_cfg.max_steps // 10)))
    torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    dev = local_device(resolve_device(device))
    info = init_distributed(dev)
    torch.manual_seed(seed + info.rank)
    out_dir = Path(out_dir)
    if stage == "tokenizer":
        run = tokenizer_run(model_cfg, Path(data_dir), dev)
    elif stage == "lam":
        run = lam_run(model_cfg, Path(data_dir), dev)
    elif stage == "dynamics":
        tokenizer = Path(tokenizer or out_dir / "tokenizer.safetensors")
        lam = Path(lam or out_dir / "lam.safetensors")
        run = dynamics_run(model_cfg, Path(data_dir), dev, tokenizer, lam, out_dir, progress)
    elif stage == "gate":
        run = gate_run(model_cfg, Path(data_dir), dev, still_games, photos)
    else:
        raise GenieError(f"unknown stage {stage!r} (choose tokenizer, lam, dynamics or gate)")
    run.provenance.update(preset=preset_name, batch_size=loop_cfg.batch_size, max_steps=loop_cfg.max_steps,
                          only=loop_cfg.only, world_size=info.world_size, device=str(dev))
    try:
        return train(run, loop_cfg, out_dir, dev, info, resume=resume, progress=progress, seed=seed, init=init)
    finally:
        shutdown(info)


STAGES = ("tokenizer", "lam", "dynamics")
# How `train all` shares its time budget: the dynamics model needs the most, the LAM the least.
BUDGET_SHARES = {"tokenizer": 0.3, "lam": 0.1, "dynamics": 0.6}


def stage_finished(checkpoint: Path) -> bool:
    """Whether a stage's checkpoint says its run ended (on its steps or its time budget)."""
    return checkpoint.exists() and bool(describe(checkpoint)["provenance"].get("finished"))


def train_all(data_dir: Path, out_dir: Path, max_minutes: float, preset_name: str = "cpu", resume: bool = False,
              device: str = "auto", seed: int = 0, threads: int | None = None, init: Path | None = None,
              max_steps: int | None = None, progress_for=None) -> dict[str, dict]:
    """The three stages one after another on one time budget (BUDGET_SHARES of `max_minutes` each), into
    one folder. With `resume`, a finished stage is skipped and a stopped one continues within its share.
    `init`: a weights folder whose checkpoints each stage starts from. progress_for(stage) -> a callback.
    Returns each stage's last metrics ({} for a stage skipped as finished)."""
    out_dir = Path(out_dir)
    results = {}
    for stage in STAGES:
        if resume and stage_finished(out_dir / f"{stage}.safetensors"):
            results[stage] = {}
            continue
        start_from = Path(init) / f"{stage}.safetensors" if init else None
        results[stage] = train_stage(stage, data_dir, out_dir, preset_name, max_steps=max_steps, resume=resume,
                                     device=device, seed=seed, threads=threads,
                                     max_minutes=max_minutes * BUDGET_SHARES[stage], init=start_from,
                                     progress=progress_for(stage) if progress_for else None)
    return results

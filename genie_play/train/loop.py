"""One training loop for every stage: AdamW with warm-up + cosine schedule, bf16 autocast, periodic atomic
checkpoints that carry the optimizer state (resume after any kill), a JSONL metrics log and a progress bar."""

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from genie_play.checkpoint import load_model, save_checkpoint
from genie_play.errors import GenieError
from genie_play.train.distributed import DistInfo, all_reduce_mean, wrap


@dataclass
class LoopConfig:
    max_steps: int
    batch_size: int
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: int = 100
    bf16: bool = True
    checkpoint_every: int = 200
    log_every: int = 20
    grad_clip: float = 1.0
    max_minutes: float | None = None  # stop (and finish the schedule) when this much wall time has passed
    only: str | None = None  # train only the parameters whose names start with this; the rest stays frozen


def lr_at(step: int, cfg: LoopConfig, time_fraction: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to 10% over the steps or the time budget, whichever ends first."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = max((step - cfg.warmup) / max(1, cfg.max_steps - cfg.warmup), time_fraction)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def optimizer_tensors(opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for idx, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            out[f"opt.{idx}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return out


def restore_optimizer(opt: torch.optim.Optimizer, extra: dict[str, torch.Tensor], device) -> None:
    state: dict[int, dict] = {}
    for name, value in extra.items():
        if name.startswith("opt."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value.to(device) if key != "step" else value
    sd = opt.state_dict()
    sd["state"] = state
    opt.load_state_dict(sd)


@dataclass
class Run:
    """What a stage hands the loop."""

    name: str  # stage name; checkpoint is out_dir / f"{name}.safetensors"
    model: torch.nn.Module
    loss_fn: Callable  # (model, batch) -> (loss tensor, metrics dict of floats)
    next_batch: Callable  # batch_size -> batch (already on the device)
    reseed: Callable  # seed -> None: makes the data stream depend on (seed, rank, step) for resume
    provenance: dict


def train(run: Run, cfg: LoopConfig, out_dir: Path, device: torch.device, info: DistInfo = DistInfo(),
          resume: bool = False, progress=None, seed: int = 0, init: Path | None = None) -> dict:
    """Trains run.model in place; returns the last logged metrics. `init`: start from that checkpoint's
    weights (same kind and config) with a fresh optimizer and schedule, e.g. to train shipped weights on."""
    out_dir = Path(out_dir)
    ckpt = out_dir / f"{run.name}.safetensors"
    log_path = out_dir / f"{run.name}.metrics.jsonl"
    model = run.model.to(device)
    opt = torch.optim.AdamW(trainable_parameters(model, cfg.only, run.name), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.95))
    start, spent_s = starting_step(run, model, opt, ckpt, resume, init, info, device)
    run.reseed(seed * 1_000_003 + info.rank * 7919 + start)
    net = wrap(model, info, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16)
    metrics, t0, samples = {}, time.time(), 0
    budget_t0 = t0 - spent_s  # --max-minutes counts the time earlier runs of this checkpoint already took
    budget_s = cfg.max_minutes * 60 if cfg.max_minutes else None
    model.train()
    for step in range(start, cfg.max_steps):
        time_fraction = (time.time() - budget_t0) / budget_s if budget_s else 0.0
        out_of_time = time_fraction >= 1.0
        if budget_s and info.world_size > 1:
            out_of_time = all_reduce_mean(float(out_of_time), info) > 0
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg, time_fraction)
        loss, m = optimizer_step(run, net, opt, cfg, autocast)
        samples += cfg.batch_size * info.world_size
        done = step + 1
        last = done == cfg.max_steps or out_of_time
        if done % cfg.log_every == 0 or last:
            elapsed = time.time() - t0
            metrics = {k: all_reduce_mean(float(v), info) for k, v in m.items()}
            metrics.update(step=done, loss=all_reduce_mean(float(loss.detach()), info), lr=group["lr"],
                           samples_per_s=samples / max(elapsed, 1e-9), time=time.time())
            if info.is_main:
                append_jsonl(log_path, metrics)
        if progress and info.is_main:
            progress(done, cfg.max_steps, metrics)
        if info.is_main and (done % cfg.checkpoint_every == 0 or last):
            prov = dict(run.provenance, step=done, metrics=metrics, finished=last)
            extra = {**optimizer_tensors(opt), "step": torch.tensor([done]),
                     "elapsed_s": torch.tensor([time.time() - budget_t0], dtype=torch.float64)}
            save_checkpoint(ckpt, model, prov, extra=extra)
        if out_of_time:
            break
    model.eval()
    return metrics


def trainable_parameters(model, only: str | None, kind: str) -> list[torch.nn.Parameter]:
    """model's parameters to train: all, or (with `only`) those whose names start with it, the others frozen."""
    if only is None:
        return list(model.parameters())
    names = [name for name, _ in model.named_parameters()]
    if not any(name.startswith(only) for name in names):
        prefixes = sorted({name.split(".")[0] for name in names})
        raise GenieError(f"--only {only}: the {kind} model has no parameters of that name (it has {', '.join(prefixes)})")
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith(only))
    return [param for param in model.parameters() if param.requires_grad]


def refuse_to_overwrite(ckpt: Path, resume: bool) -> None:
    """A run's checkpoint is only continued (--resume), never silently replaced."""
    if ckpt.exists() and not resume:
        raise GenieError(f"{ckpt}: exists already; pass --resume to continue it or choose another --out")


def starting_step(run: Run, model, opt, ckpt: Path, resume: bool, init: Path | None, info: DistInfo, device) -> tuple[int, float]:
    """Loads what the run starts from (its own checkpoint with --resume, or --init weights) and returns the
    step to start at and the training seconds already spent. Refuses to overwrite a checkpoint silently."""
    start, spent_s = 0, 0.0
    if resume and ckpt.exists():
        loaded, prov, extra = load_model(ckpt, with_extra=True, device=device)
        model.load_state_dict(loaded.state_dict())
        restore_optimizer(opt, extra, device)
        start = int(extra["step"].item()) if "step" in extra else int(prov.get("step", 0))
        spent_s = float(extra["elapsed_s"].item()) if "elapsed_s" in extra else 0.0
    else:
        if info.is_main:
            refuse_to_overwrite(ckpt, resume)
        if init is not None:
            load_initial_weights(model, init, run.name)
            run.provenance["init"] = str(init)
    if info.is_main:  # temp files of a save that a kill interrupted (atomic_path names them .<name>.<random>.tmp)
        for stale in ckpt.parent.glob(f".{ckpt.name}.*.tmp"):
            stale.unlink(missing_ok=True)
    return start, spent_s


# Config fields that only add modules: --init from a checkpoint without them starts those modules fresh.
ADDED_MODULES = {"copy_head": "copy_gate.", "refiner_channels": "refiner.", "vertical": "vertical_head."}
# Config fields that change how the weights are used, not which weights there are: --init may change them.
WEIGHT_FREE_FIELDS = ("mirror",)


def load_initial_weights(model, init: Path, kind: str) -> None:
    """Loads `init`'s weights into `model` (same config, except for fields of ADDED_MODULES that `init` lacks
    and WEIGHT_FREE_FIELDS). A WEIGHT_FREE_FIELDS switch that `init` has on stays on: its weights were trained
    to be used that way."""
    start_from = load_model(init, kind=kind)
    theirs, ours = dataclasses.asdict(start_from.config), dataclasses.asdict(model.config)
    switched_on = {field: True for field in WEIGHT_FREE_FIELDS if theirs.get(field)}
    if switched_on:
        model.config = dataclasses.replace(model.config, **switched_on)
        ours.update(switched_on)
    added = [field for field in ADDED_MODULES if ours.get(field) and not theirs.get(field)]
    theirs.update({field: ours[field] for field in (*added, *WEIGHT_FREE_FIELDS) if field in ours})
    if theirs != ours:
        raise GenieError(f"{init}: its {kind} config differs from the preset's; --init needs the same model size")
    missing, unexpected = model.load_state_dict(start_from.state_dict(), strict=False)
    fresh = tuple(ADDED_MODULES[field] for field in added)
    if unexpected or any(not key.startswith(fresh) for key in missing):
        raise GenieError(f"{init}: its weights do not fit the {kind} model (missing {missing[:3]}, unexpected {unexpected[:3]})")


def optimizer_step(run: Run, net, opt: torch.optim.Optimizer, cfg: LoopConfig, autocast):
    """One batch: forward under autocast, backward, clip, step. -> (loss, metrics of the batch)."""
    batch = run.next_batch(cfg.batch_size)
    with autocast:
        loss, metrics = run.loss_fn(net, batch)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
    opt.step()
    return loss, metrics


def append_jsonl(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())

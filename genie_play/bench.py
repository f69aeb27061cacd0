"""Speed of the engine on this machine: interactive step latency (dynamics sampling and decoding apart),
prompt encoding, batched throughput, peak memory, FLOPs of one step and its distance from the FLOP floor."""

import platform
import resource
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from genie_play.world import World, load_world


def matmul_peak_gflops(device: torch.device, dtype=torch.float32, n: int = 1024, repeats: int = 20) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n ** 3 * repeats / (time.perf_counter() - t) / 1e9


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_flops(world: World) -> int:
    """FLOPs of one interactive step (the MaskGIT passes and the decode; the cache push is settled before),
    counted by torch on the eager path (a graph replay hides its kernels from the counter)."""
    world.settle()
    graphs, world.cuda_graphs = world.cuda_graphs, False
    try:
        with FlopCounterMode(display=False) as counter:
            world.step(0)
    finally:
        world.cuda_graphs = graphs
    world.undo()
    return int(counter.get_total_flops())


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples) * 1000, q))


def interactive_latency(world: World, steps: int, rng: np.random.Generator) -> dict:
    """Key press to frame, as the player sees it: the cache update of the previous frame (settle) runs
    while the frame is on screen, so it is timed apart; sustained_fps counts both (a held key)."""
    total, dyn, dec, settle = [], [], [], []
    for _ in range(steps):
        t = time.perf_counter()
        world.step(int(rng.integers(world.num_actions)))
        total.append(time.perf_counter() - t)
        dyn.append(world.last_timing["dynamics_ms"] / 1000)
        dec.append(world.last_timing["decode_ms"] / 1000)
        t = time.perf_counter()
        world.settle()
        sync(world.device)
        settle.append(time.perf_counter() - t)
    return {
        "p50_ms": percentile_ms(total, 50), "p95_ms": percentile_ms(total, 95),
        "dynamics_p50_ms": percentile_ms(dyn, 50), "decode_p50_ms": percentile_ms(dec, 50),
        "settle_p50_ms": percentile_ms(settle, 50),
        "sustained_fps": steps / (sum(total) + sum(settle)),
    }


def batched_fps(weights_dir, device: str, batch: int, steps: int, prompt: np.ndarray, **world_kwargs) -> float:
    """Frames/s of `batch` worlds stepped together, each step's cache push included, once the cache is full."""
    world = load_world(weights_dir, device=device, batch=batch, with_lam=False, undo_depth=0, **world_kwargs)
    world.reset(prompt)
    actions = np.arange(batch) % world.num_actions
    for _ in range(world.dynamics.config.window + 2):  # past the first full cache (and the graph capture)
        world.step_batch(actions)
    t = time.perf_counter()
    for _ in range(steps):
        world.step_batch(actions)
    return batch * steps / (time.perf_counter() - t)


def peak_memory_mb(device: torch.device) -> dict:
    out = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2 ** 20
    return out


def run_benchmark(weights_dir=None, device: str = "auto", steps: int = 100, prompt: np.ndarray | None = None,
                  batches=(1, 8, 64), warmup: int = 20, **world_kwargs) -> dict:
    """warmup steps run first: at least the dynamics window, so that timing starts in the steady state."""
    world = load_world(weights_dir, device=device, with_lam=False, **world_kwargs)
    dev = world.device
    if prompt is None:
        prompt = np.full((world.image_size, world.image_size, 3), 128, np.uint8)
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    world.reset(prompt)
    sync(dev)
    encode_ms = (time.perf_counter() - t) * 1000
    for _ in range(warmup):
        world.step(int(rng.integers(world.num_actions)))
    latency = interactive_latency(world, steps, rng)
    flops = step_flops(world)
    peak = matmul_peak_gflops(dev)
    floor_ms = flops / (peak * 1e9) * 1000
    result = {
        "device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "maskgit_steps": world.maskgit_steps, "temperature": world.temperature,
        "bf16": world.bf16, "cuda_graphs": world.cuda_graphs,
        "prompt_encode_ms": encode_ms, **latency,
        "step_gflops": flops / 1e9, "matmul_peak_gflops": peak, "flop_floor_ms": floor_ms,
        "latency_over_floor": latency["p50_ms"] / floor_ms,
    }
    result["batched_fps"] = {str(b): batched_fps(weights_dir, device, b, max(10, steps // max(1, b // 4)), prompt, **world_kwargs) for b in batches}
    result.update(peak_memory_mb(dev))
    return result

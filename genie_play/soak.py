"""Long-session check: step a World many times without a window and watch resident memory.

The world keeps only a window of KV cache and a bounded undo history, so resident memory (RSS) should
stay flat however long a session runs. `soak` steps with random latent actions, with an occasional
undo and reset (to a new prompt or the last one) so those paths run too, and samples RSS at step 100
(the baseline, after warm-up allocations) and every `report_every` steps.

    python -m genie_play.soak --steps 10000            # exit 1 when RSS grew more than --limit-mb
"""

import argparse
import json
import sys
import time

import numpy as np

UNDO_CHANCE = 0.03
RESET_CHANCE = 0.002
BASELINE_STEP = 100
SAMPLE_EVERY = 10  # RSS is also sampled between reports, so rss_max_mb misses no short peak
DEFAULT_LIMIT_MB = 50.0
PROC_STATUS = "/proc/self/status"


def rss_mb() -> float:
    """Resident memory of this process in MB: VmRSS from /proc, else the peak RSS from resource."""
    try:
        with open(PROC_STATUS) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def soak(weights_dir=None, steps: int = 10000, device: str = "auto", maskgit_steps: int | None = None,
         report_every: int = 500, progress=None, seed: int = 0, threads: int | None = None) -> dict:
    """Runs `steps` operations on a World (mostly steps with random actions, some undos and resets).

    progress(sample) is called at step 100, every `report_every` steps and at the end, with
    sample = {"step", "rss_mb", "growth_mb", "ms_per_step"}. Returns {rss_at_100_mb, rss_max_mb,
    growth_mb, steps, seconds, ms_per_step} and a few extras (rss_start_mb, rss_end_mb, undos, resets,
    device, maskgit_steps, threads). growth_mb is the highest RSS from step 100 on, less the RSS at step 100.
    threads: torch CPU threads (default: torch's own choice); 1 is fastest on a CPU busy with other work.
    """
    import torch

    from genie_play.levels import random_level, starter_level
    from genie_play.world import load_world

    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    report_every = max(1, int(report_every))
    if threads:
        torch.set_num_threads(threads)
    kwargs = {"maskgit_steps": maskgit_steps} if maskgit_steps else {}
    world = load_world(weights_dir, device=device, seed=seed, with_lam=False, **kwargs)
    rng = np.random.default_rng(seed)
    rss_start = rss_mb()
    world.reset(starter_level(world.image_size))
    baseline_step = min(BASELINE_STEP, steps)
    baseline = rss_max = None
    undos = resets = 0
    start = time.perf_counter()

    def sample(step: int, report: bool) -> None:
        nonlocal baseline, rss_max
        rss = rss_mb()
        if step == baseline_step:
            baseline = rss_max = rss
        elif baseline is not None:
            rss_max = max(rss_max, rss)
        if report and progress is not None:
            elapsed = time.perf_counter() - start
            progress({"step": step, "rss_mb": rss, "growth_mb": rss - baseline if baseline is not None else 0.0,
                      "ms_per_step": elapsed * 1000 / step})

    for step in range(1, steps + 1):
        roll = rng.random()
        if roll < RESET_CHANCE:
            resets += 1
            world.reset(random_level(int(rng.integers(1 << 30)), world.image_size) if rng.random() < 0.5 else None)
        elif roll < RESET_CHANCE + UNDO_CHANCE:
            undos += 1
            world.undo()
        else:
            world.step(int(rng.integers(world.num_actions)))
        report = step == baseline_step or step % report_every == 0 or step == steps
        if report or step % SAMPLE_EVERY == 0:
            sample(step, report)
    seconds = time.perf_counter() - start
    rss_end = rss_mb()
    rss_max = max(rss_max, rss_end)
    return {
        "rss_at_100_mb": round(baseline, 2), "rss_max_mb": round(rss_max, 2),
        "growth_mb": round(rss_max - baseline, 2), "steps": steps, "seconds": round(seconds, 2),
        "ms_per_step": round(seconds * 1000 / steps, 2),
        "rss_start_mb": round(rss_start, 2), "rss_end_mb": round(rss_end, 2), "undos": undos, "resets": resets,
        "device": str(world.device), "maskgit_steps": world.maskgit_steps, "threads": torch.get_num_threads(),
    }


def print_sample(sample: dict) -> None:
    print(f"step {sample['step']:>6}  rss {sample['rss_mb']:8.1f} MB  growth {sample['growth_mb']:+7.1f} MB  "
          f"{sample['ms_per_step']:6.1f} ms/step", flush=True)


def main(argv=None) -> int:
    from genie_play.errors import GenieError

    parser = argparse.ArgumentParser(prog="python -m genie_play.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10000, help="operations to run (default 10000)")
    parser.add_argument("--weights", default=None, help="weights folder (default: the bundled weights/)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--maskgit-steps", type=int, default=None, help="MaskGIT steps (default: the weights' setting)")
    parser.add_argument("--report-every", type=int, default=500, help="print a sample every N steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--limit-mb", type=float, default=DEFAULT_LIMIT_MB,
                        help="exit 1 when RSS grew more than this from step 100 (default 50)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON only")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    try:
        result = soak(args.weights, args.steps, args.device, args.maskgit_steps, args.report_every,
                      None if args.json else print_sample, args.seed, args.threads)
    except GenieError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    passed = result["growth_mb"] <= args.limit_mb
    if args.json:
        print(json.dumps({**result, "limit_mb": args.limit_mb, "passed": passed}))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
        print(f"{'PASS' if passed else 'FAIL'}: RSS grew {result['growth_mb']:.1f} MB after step 100 "
              f"(limit {args.limit_mb:g} MB)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

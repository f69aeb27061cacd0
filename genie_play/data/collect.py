"""Recording Procgen episodes into shards, in parallel processes, resumably."""

import contextlib
import hashlib
import io
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genie_play.data.shards import read_shard, write_shard
from genie_play.errors import DataError, GenieError
from genie_play.validate import check_level_range, check_split

PROCGEN_GAMES = (
    "bigfish", "bossfight", "caveflyer", "chaser", "climber", "coinrun", "dodgeball", "fruitbot",
    "heist", "jumper", "leaper", "maze", "miner", "ninja", "plunder", "starpilot",
)
NUM_PROCGEN_ACTIONS = 15
# Procgen action ids: 0 left+down, 1 left, 2 left+up, 3 down, 4 no-op, 5 up, 6 right+down, 7 right, 8 right+up.
# The explore policy favours moving on (right, jump-right) but keeps every effect common.
EXPLORE_ACTIONS = np.array([7, 8, 5, 4, 1, 2])
EXPLORE_WEIGHTS = np.array([0.30, 0.25, 0.10, 0.13, 0.11, 0.11])
POLICIES = ("explore", "uniform")
# Procgen's render variants, by name: constructor options of ProcgenGym3Env. "mono" draws every sprite and
# tile as a flat-coloured block on a plain background, which looks like a sketch.
VARIANTS = {
    "default": {},
    "plain": {"use_backgrounds": False},
    "themed": {"use_backgrounds": False, "restrict_themes": True},
    "mono": {"use_backgrounds": False, "use_monochrome_assets": True},
}


@dataclass
class CollectJob:
    out_path: str
    game: str
    start_level: int
    num_levels: int
    num_envs: int
    steps: int
    seed: int
    policy: str
    split: str
    frame_skip: int = 1
    variant: str = "default"


def check_policy(kind: str) -> None:
    if kind not in POLICIES:
        raise DataError(f"unknown policy {kind!r} (choose {' or '.join(POLICIES)})")


class Policy:
    """'uniform': a fresh uniform action every step. 'explore': held actions (1-8 steps), biased to move on, 25% uniform."""

    def __init__(self, kind: str, num_envs: int, rng: np.random.Generator):
        check_policy(kind)
        self.kind, self.rng = kind, rng
        self.current = rng.integers(0, NUM_PROCGEN_ACTIONS, num_envs)
        self.left = np.zeros(num_envs, dtype=np.int64)

    def __call__(self) -> np.ndarray:
        n = len(self.current)
        if self.kind == "uniform":
            return self.rng.integers(0, NUM_PROCGEN_ACTIONS, n)
        renew = self.left <= 0
        k = int(renew.sum())
        if k:
            biased = self.rng.choice(EXPLORE_ACTIONS, size=k, p=EXPLORE_WEIGHTS)
            uniform = self.rng.integers(0, NUM_PROCGEN_ACTIONS, k)
            self.current[renew] = np.where(self.rng.random(k) < 0.25, uniform, biased)
            self.left[renew] = self.rng.integers(1, 9, k)
        self.left -= 1
        return self.current.copy()


def procgen_env_class():
    """Procgen's gym3 environment, imported only here (only collection needs procgen). procgen imports gym,
    whose import prints a notice about gym itself to stderr; we never use gym's API, so the notice is muted."""
    with contextlib.redirect_stderr(io.StringIO()):
        from procgen import ProcgenGym3Env
    return ProcgenGym3Env


def record(job: CollectJob) -> dict:
    """Runs one shard's environments and writes it. Returns its coverage stats."""
    env = procgen_env_class()(
        num=job.num_envs, env_name=job.game, start_level=job.start_level, num_levels=job.num_levels,
        distribution_mode="hard", rand_seed=job.seed, **VARIANTS[job.variant],
    )
    policy = Policy(job.policy, job.num_envs, np.random.default_rng(job.seed))
    E, S = job.num_envs, job.steps
    frames = np.empty((E, S, 64, 64, 3), np.uint8)
    actions = np.empty((E, S), np.int64)
    first = np.empty((E, S), bool)
    level = np.empty((E, S), np.int64)
    rewards = np.zeros((E, S), np.float32)
    new_episode = np.zeros(E, bool)
    for s in range(S):
        _, obs, is_first = env.observe()
        frames[:, s], first[:, s] = obs["rgb"], is_first | new_episode
        level[:, s] = [info.get("level_seed", -1) for info in env.get_info()]
        actions[:, s] = policy()
        rewards[:, s], new_episode = hold_action(env, actions[:, s], job.frame_skip)
    stats = coverage_stats(first, rewards)
    meta = {"game": job.game, "levels": [job.start_level, job.start_level + job.num_levels], "split": job.split,
            "policy": job.policy, "seed": job.seed, "frame_skip": job.frame_skip, "variant": job.variant,
            "options": VARIANTS[job.variant], "coverage": stats}
    write_shard(job.out_path, {"frames": frames, "actions": actions, "first": first, "level": level}, meta)
    return stats


def hold_action(env, action: np.ndarray, ticks: int) -> tuple[np.ndarray, np.ndarray]:
    """Plays `action` (E,) for `ticks` game ticks. Returns the reward summed over them (E,) and whether an
    episode restarted on a tick before the last (E,) bool: the next recorded frame then starts an episode."""
    reward = np.zeros(len(action), np.float32)
    restarted = np.zeros(len(action), bool)
    for tick in range(ticks):
        env.act(action)
        r, _, is_first = env.observe()
        reward += r
        if tick < ticks - 1:
            restarted |= is_first
    return reward, restarted


def coverage_stats(first: np.ndarray, rewards: np.ndarray) -> dict:
    """How far the policy gets: episode lengths and the fraction of episodes that reach the coin."""
    E, S = first.shape
    starts = [np.flatnonzero(first[e]) for e in range(E)]
    lengths = [int(b - a) for st in starts for a, b in zip(st[:-1], st[1:])]
    episodes = sum(max(len(st) - 1, 0) for st in starts)
    wins = int((rewards > 0).sum())
    return {
        "episodes": episodes,
        "mean_episode_length": float(np.mean(lengths)) if lengths else float(S),
        "coin_rate": wins / max(episodes, 1),
    }


def shard_seed(seed: int, start: int, shard: int) -> int:
    """The seed of one shard's environments and policy, from the user's seed, the first level and the shard
    number: hashed into 31 bits, as procgen's 32-bit seed needs, whatever the level range or seed."""
    digest = hashlib.sha256(f"{seed}:{start}:{shard}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFF_FFFF


def shards_for(steps: int, num_envs: int, steps_per_shard: int) -> int:
    """How many shards of num_envs x steps_per_shard frames hold at least `steps` frames."""
    return max(1, -(-steps // (num_envs * steps_per_shard)))


def plan_jobs(out_dir: Path, game: str, levels: tuple[int, int], steps: int, split: str, policy: str,
              num_envs: int = 16, steps_per_shard: int = 500, seed: int = 0,
              frame_skip: int = 1, variant: str = "default") -> list[CollectJob]:
    if game not in PROCGEN_GAMES:
        raise DataError(f"unknown game {game!r} (choose one of {', '.join(PROCGEN_GAMES)})")
    if variant not in VARIANTS:
        raise DataError(f"unknown variant {variant!r} (choose one of {', '.join(VARIANTS)})")
    start, stop = levels
    try:
        check_level_range(start, stop)
        check_split(split)
    except GenieError as error:
        raise DataError(str(error)) from None
    check_policy(policy)
    if frame_skip < 1:
        raise DataError(f"bad frame skip {frame_skip} (need >= 1)")
    for name, value in (("frames to record", steps), ("environments a shard", num_envs), ("steps a shard", steps_per_shard)):
        if value < 1:
            raise DataError(f"bad number of {name}: {value} (need >= 1)")
    n_shards = shards_for(steps, num_envs, steps_per_shard)
    skip = f"-skip{frame_skip}" if frame_skip > 1 else ""
    look = f"-{variant}" if variant != "default" else ""
    return [
        CollectJob(str(out_dir / split / f"{game}{look}-{start}-{stop}-{policy}{skip}-{i:05d}.npz"), game, start,
                   stop - start, num_envs, steps_per_shard, shard_seed(seed, start, i), policy, split, frame_skip, variant)
        for i in range(n_shards)
    ]


def collect(out_dir: str | Path, game: str, levels: tuple[int, int], steps: int, split: str = "train",
            policy: str = "explore", workers: int = 2, num_envs: int = 16, steps_per_shard: int = 500,
            seed: int = 0, progress=None, frame_skip: int = 1, variant: str = "default") -> list[dict]:
    """Records at least `steps` frames, one every `frame_skip` game ticks (the action held between them), in
    one of Procgen's render VARIANTS; shards already on disk are skipped. Returns every shard's coverage."""
    jobs = plan_jobs(Path(out_dir), game, levels, steps, split, policy, num_envs, steps_per_shard, seed, frame_skip,
                     variant)
    todo = [j for j in jobs if not Path(j.out_path).exists()]
    done = [read_shard(j.out_path)[1]["coverage"] for j in jobs if Path(j.out_path).exists()]
    if progress:
        progress(len(done), len(jobs))
    if workers <= 1:
        for job in todo:
            done.append(record(job))
            if progress:
                progress(len(done), len(jobs))
        return done
    with ProcessPoolExecutor(workers) as pool:
        for fut in as_completed([pool.submit(record, j) for j in todo]):
            done.append(fut.result())
            if progress:
                progress(len(done), len(jobs))
    return done


def summarize_coverage(stats: list[dict]) -> dict:
    episodes = sum(s["episodes"] for s in stats)
    return {
        "episodes": episodes,
        "mean_episode_length": round(float(np.mean([s["mean_episode_length"] for s in stats])), 2) if stats else 0.0,
        "coin_rate": round(float(sum(s["coin_rate"] * s["episodes"] for s in stats) / max(episodes, 1)), 4),
    }

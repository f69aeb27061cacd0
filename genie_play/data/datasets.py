"""In-memory samplers over recorded shards: random frames, random clips inside one episode, token clips."""

from pathlib import Path

import numpy as np

from genie_play.data.shards import list_shards, read_shard
from genie_play.errors import DataError


class Recording:
    """All shards of one split, concatenated: frames (E, S, H, W, 3) uint8, actions/first/level (E, S)."""

    def __init__(self, data_dir: str | Path, split: str, max_shards: int | None = None,
                 games: list[str] | None = None):
        """games: keep only the episodes of these Procgen games (None: every game in the split)."""
        paths = list_shards(data_dir, split)[:max_shards]
        shards = [read_shard(p) for p in paths]
        loaded = [arrays for arrays, _ in shards]
        steps = min(a["frames"].shape[1] for a in loaded)
        self.paths = paths
        self.arrays = {k: np.concatenate([a[k][:, :steps] for a in loaded]) for k in loaded[0]}

        def per_environment(key: str, default: str) -> np.ndarray:
            """(E,) str: each environment's entry `key` of its shard's meta."""
            return np.concatenate([[meta.get(key, default)] * len(a["frames"]) for a, (_, meta) in zip(loaded, shards)])

        self.games = per_environment("game", "unknown")  # the Procgen game of each environment's episodes
        self.variants = per_environment("variant", "default")  # the render variant (collect's VARIANTS)
        self.frame_skip = common_frame_skip(paths, [meta for _, meta in shards])
        if games:
            self._keep_games(games, f"{data_dir} ({split})")

    def check_games(self, games: list[str], where: str) -> None:
        """Raises DataError naming the games asked for that the split lacks and the games it holds."""
        present = set(self.games.tolist())
        missing = [game for game in games if game not in present]
        if missing:  # a misspelt game would otherwise just measure less
            raise DataError(f"{where}: no episodes of {', '.join(missing)}; it holds {', '.join(sorted(present))}")

    def _keep_games(self, games: list[str], where: str) -> None:
        self.check_games(games, where)
        keep = np.isin(self.games, games)
        self.arrays = {k: v[keep] for k, v in self.arrays.items()}
        self.games, self.variants = self.games[keep], self.variants[keep]

    @property
    def frames(self) -> np.ndarray:
        return self.arrays["frames"]

    @property
    def num_frames(self) -> int:
        return self.frames.shape[0] * self.frames.shape[1]


def common_frame_skip(paths: list[Path], metas: list[dict]) -> int:
    """The game ticks per recorded frame, which every shard of a split must share (1 in shards older than the option)."""
    skips = {int(meta.get("frame_skip", 1)) for meta in metas}
    if len(skips) > 1:
        raise DataError(f"{paths[0].parent}: shards recorded with different frame skips {sorted(skips)} "
                        "(keep one frame skip per data folder)")
    return skips.pop()


def clip_starts(first: np.ndarray, length: int) -> np.ndarray:
    """first (E, S) bool -> (K, 2) int64 (env, step) of every window of `length` frames inside one episode."""
    E, S = first.shape
    if S < length:
        return np.zeros((0, 2), np.int64)
    boundary = first[:, 1:].astype(np.int64)  # a new episode starting inside the window breaks it
    csum = np.concatenate([np.zeros((E, 1), np.int64), np.cumsum(boundary, axis=1)], axis=1)
    inside = csum[:, length - 1 :] - csum[:, : S - length + 1] == 0  # (E, S-length+1)
    return np.argwhere(inside).astype(np.int64)


class ClipSampler:
    """Random clips of `length` consecutive frames from one episode."""

    def __init__(self, recording: Recording, length: int, seed: int = 0):
        self.recording, self.length = recording, length
        self.starts = clip_starts(recording.arrays["first"], length)
        if len(self.starts) == 0:
            raise DataError(f"no clip of {length} frames inside one episode in {recording.paths[0].parent}")
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def index(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        pick = self.starts[self.rng.integers(0, len(self.starts), batch)]
        return pick[:, :1], pick[:, 1:] + np.arange(self.length)  # (B, 1), (B, T)

    def sample(self, batch: int, key: str = "frames") -> np.ndarray:
        """-> (B, T, ...) of the array `key`: frames (B, T, H, W, 3) uint8 by default."""
        e, s = self.index(batch)
        return self.recording.arrays[key][e, s]


class FrameSampler:
    def __init__(self, recording: Recording, seed: int = 0):
        self.frames = recording.frames.reshape(-1, *recording.frames.shape[2:])
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int) -> np.ndarray:
        """-> (B, H, W, 3) uint8."""
        return self.frames[self.rng.integers(0, len(self.frames), batch)]


class TokenClipSampler:
    """Random clips of pre-computed tokens (E, S, N) and LAM actions (E, S) (action from step s to s+1)."""

    def __init__(self, tokens: np.ndarray, actions: np.ndarray, first: np.ndarray, length: int, seed: int = 0):
        self.tokens, self.actions, self.length = tokens, actions, length
        self.starts = clip_starts(first, length)
        if len(self.starts) == 0:
            raise DataError(f"no clip of {length} frames inside one episode in the token data")
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """-> tokens (B, T, N) int64, actions (B, T-1) int64."""
        pick = self.starts[self.rng.integers(0, len(self.starts), batch)]
        e, s = pick[:, :1], pick[:, 1:] + np.arange(self.length)
        return self.tokens[e, s].astype(np.int64), self.actions[e, s[:, :-1]].astype(np.int64)

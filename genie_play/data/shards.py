"""Episode shards: LZMA-compressed .npz files (loaded with allow_pickle=False).

A shard holds E parallel environments recorded for S steps:
  frames (E, S, 64, 64, 3) uint8 -- observation before the action of that step
  actions (E, S) int64           -- Procgen action taken after the frame (evaluation only)
  first (E, S) bool              -- the frame starts a new episode
  level (E, S) int64             -- Procgen level seed of the frame
and a JSON string `meta` (game, level range, split, policy).
"""

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from genie_play.atomic import atomic_path
from genie_play.errors import DataError

SHARD_KEYS = ("frames", "actions", "first", "level")


def write_shard(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_LZMA) as zf:
        for key in SHARD_KEYS:
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            zf.writestr(f"{key}.npy", buf.getvalue())
        buf = io.BytesIO()
        np.save(buf, np.array(json.dumps(meta)), allow_pickle=False)
        zf.writestr("meta.npy", buf.getvalue())


def read_shard(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {key: z[key] for key in SHARD_KEYS}
            meta = json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable genie_play shard ({e})") from None
    return arrays, meta


def list_shards(data_dir: str | Path, split: str | None = None) -> list[Path]:
    """Shards under data_dir, optionally only those of one split ('train', 'val', 'test')."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"{root}: data folder not found")
    paths = sorted(root.rglob("*.npz"))
    if split is not None:
        paths = [p for p in paths if p.parent.name == split]
    if not paths:
        raise DataError(f"{root}: no shards{' of split ' + split if split else ''} found (run `genie-play collect` first)")
    return paths

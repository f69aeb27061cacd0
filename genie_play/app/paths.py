"""Where the player writes its files: numbered output names that never overwrite, and backups.

The config folder, keymap and label-cache paths live in genie_play.paths (the CLI and the library use them
too); they are re-exported here for the app.
"""

import os
from pathlib import Path

from genie_play.paths import CONFIG_ENV, config_dir, keymap_path, labels_path, safe_file_stem  # noqa: F401


def numbered_path(folder: str | os.PathLike, stem: str, suffix: str) -> Path:
    """The first `folder/stem-NNNN.suffix` that does not exist yet (never overwrites)."""
    folder = Path(folder)
    number = 1
    while (candidate := folder / f"{stem}-{number:04d}{suffix}").exists():
        number += 1
    return candidate


def free_path(path: str | os.PathLike) -> Path:
    """`path` itself when free, else `stem-NNNN.suffix` beside it."""
    path = Path(path)
    if not path.exists():
        return path
    return numbered_path(path.parent, path.stem, path.suffix)


def backup_path(path: str | os.PathLike) -> Path:
    """`name.bak`, or `name.bak.N` when older backups exist, so no backup is overwritten."""
    path = Path(path)
    candidate = path.with_name(path.name + ".bak")
    number = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak.{number}")
        number += 1
    return candidate

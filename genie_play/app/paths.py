"""Where the player keeps its files: config dir, keymaps, label cache, numbered output names."""

import os
import re
from pathlib import Path

CONFIG_ENV = "GENIE_PLAY_CONFIG_DIR"


def config_dir() -> Path:
    """$GENIE_PLAY_CONFIG_DIR, else $XDG_CONFIG_HOME/genie_play, else ~/.config/genie_play."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "genie_play"


def safe_file_stem(name: str) -> str:
    """A weights id made safe to use as a file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "default"


def keymap_path(weights_id: str) -> Path:
    return config_dir() / "keymaps" / f"{safe_file_stem(weights_id)}.json"


def labels_path(weights_id: str) -> Path:
    return config_dir() / "labels" / f"{safe_file_stem(weights_id)}.json"


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

"""Where genie_play keeps its per-user files: the config folder, keymaps and the label cache."""

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

"""Latent code <-> key bindings as plain data, stored as human-editable JSON per weights id.

Keys are pygame key *names* ("left", "space", "a"), so a keymap file reads like
{"codes": {"0": "left", "1": "right", "2": null, ...}}. Pure logic: no window needed.
"""

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (only its key-name tables are used here)

from genie_play.atomic import write_text_atomic  # noqa: E402
from genie_play.errors import KeymapError  # noqa: E402

from .paths import backup_path, keymap_path  # noqa: E402

FORMAT_VERSION = 1

# Keys the play screen uses for its own controls; a latent code can never be bound to them.
RESERVED_KEYS = {
    "return": "reset", "r": "reset", "backspace": "undo", "z": "undo",
    "[": "temperature -", "]": "temperature +", "-": "MaskGIT steps -", "=": "MaskGIT steps +",
    "p": "pause", "f12": "screenshot", "s": "screenshot", "g": "record GIF",
    "k": "keymap screen", "d": "sketch screen", "h": "help", "f1": "help", "tab": "HUD",
    "o": "ghost replay of a clip", "escape": "back / quit",
}

# Where a code goes by default when its label is known.
KEY_FOR_LABEL = {
    "left": "left", "right": "right", "jump": "up", "up": "up", "down": "down",
    "still": "space", "jump-left": "q", "jump-right": "e",
}
FALLBACK_KEYS = ["left", "right", "up", "down", "space", "a", "w", "e", "q", "x", "c", "v",
                 "1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]


def canonical_key_name(name: str) -> str:
    """pygame's own spelling of a key name ("Left" -> "left"); KeymapError when unknown."""
    with warnings.catch_warnings():  # pygame warns that init() was not called; names still work
        warnings.simplefilter("ignore")
        try:
            canonical = pygame.key.name(pygame.key.key_code(name))
        except ValueError:
            canonical = ""
    if not canonical:  # a control character has a key code but no name: nothing a player could press or read
        raise KeymapError(f"unknown key name {name!r}")
    return canonical


def key_name_of(key_code: int) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pygame.key.name(key_code)


@dataclass
class BindResult:
    code: int
    key: str
    moved_from: int | None = None  # the code that lost this key, now unbound


@dataclass
class Keymap:
    num_actions: int
    keys: dict[int, str | None] = field(default_factory=dict)  # code -> key name or None

    def __post_init__(self):
        for code in range(self.num_actions):
            self.keys.setdefault(code, None)

    def key_for_code(self, code: int) -> str | None:
        return self.keys.get(code)

    def code_for_key(self, key: str) -> int | None:
        for code, bound in self.keys.items():
            if bound == key:
                return code
        return None

    def bind(self, code: int, key: str) -> BindResult:
        """Bind `key` to `code`; a key already on another code moves here (that code is unbound)."""
        if not 0 <= code < self.num_actions:
            raise KeymapError(f"code {code} is out of range 0..{self.num_actions - 1}")
        key = canonical_key_name(key)
        if key in RESERVED_KEYS:
            raise KeymapError(f"key {key!r} is reserved for {RESERVED_KEYS[key]}")
        previous = self.code_for_key(key)
        moved_from = previous if previous is not None and previous != code else None
        if moved_from is not None:
            self.keys[moved_from] = None
        self.keys[code] = key
        return BindResult(code, key, moved_from)

    def unbind(self, code: int) -> None:
        self.keys[code] = None

    def unbound_codes(self) -> list[int]:
        return [code for code in range(self.num_actions) if self.keys[code] is None]

    def to_json(self) -> str:
        codes = {str(code): self.keys[code] for code in range(self.num_actions)}
        return json.dumps({"version": FORMAT_VERSION, "codes": codes}, indent=2) + "\n"


def default_keymap(num_actions: int, labels: list[str] | None = None) -> Keymap:
    """Codes with a known label get the natural key (left -> Left arrow, jump -> Up...);
    the rest take the first free keys of FALLBACK_KEYS."""
    keymap = Keymap(num_actions)
    used: set[str] = set()
    for code, label in enumerate((labels or [])[:num_actions]):
        key = KEY_FOR_LABEL.get(label)
        if key is not None and key not in used:
            keymap.keys[code] = key
            used.add(key)
    spare = (key for key in FALLBACK_KEYS if key not in used)
    for code in range(num_actions):
        if keymap.keys[code] is None:
            keymap.keys[code] = next(spare, None)
    return keymap


def keymap_from_json(text: str, num_actions: int) -> Keymap:
    """Parse and validate a keymap file's text; KeymapError names the first problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise KeymapError(f"not valid JSON ({error.msg} at line {error.lineno})") from None
    except RecursionError:  # absurdly nested JSON
        raise KeymapError("not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict) or not isinstance(data.get("codes"), dict):
        raise KeymapError('expected an object with a "codes" object')
    keymap = Keymap(num_actions)
    code_of_key: dict[str, int] = {}
    for code_text, key in data["codes"].items():
        code = _parse_code(code_text, num_actions)
        if key is None:
            continue
        if not isinstance(key, str):
            raise KeymapError(f"code {code}: key must be a name or null, got {key!r}")
        key = canonical_key_name(key)
        if key in RESERVED_KEYS:
            raise KeymapError(f"code {code}: key {key!r} is reserved for {RESERVED_KEYS[key]}")
        if key in code_of_key:
            raise KeymapError(f"key {key!r} is bound to two codes ({code_of_key[key]} and {code})")
        code_of_key[key] = code
        keymap.keys[code] = key
    return keymap


def _parse_code(code_text: str, num_actions: int) -> int:
    try:
        code = int(code_text)
    except ValueError:
        raise KeymapError(f"code {code_text!r} is not an integer") from None
    if not 0 <= code < num_actions:
        raise KeymapError(f"code {code} is out of range 0..{num_actions - 1}")
    return code


@dataclass
class LoadedKeymap:
    keymap: Keymap
    warning: str | None = None  # one line, set when the file was corrupt and defaults are used


class KeymapStore:
    """Loads and saves the keymap of one weights set in the config dir."""

    def __init__(self, weights_id: str, num_actions: int, labels: list[str] | None = None,
                 path: Path | None = None):
        self.path = Path(path) if path is not None else keymap_path(weights_id)
        self.num_actions = num_actions
        self.labels = labels

    def defaults(self) -> Keymap:
        return default_keymap(self.num_actions, self.labels)

    def load(self) -> LoadedKeymap:
        """The saved keymap, or defaults; a corrupt file is moved to a .bak and reported."""
        if not self.path.exists():
            return LoadedKeymap(self.defaults())
        try:
            return LoadedKeymap(keymap_from_json(self.path.read_text(encoding="utf-8"), self.num_actions))
        except (KeymapError, UnicodeDecodeError, OSError) as error:
            return LoadedKeymap(self.defaults(), self._set_aside(error))

    def save(self, keymap: Keymap) -> None:
        """Atomic write; raises OSError when the config dir cannot be written."""
        write_text_atomic(self.path, keymap.to_json())

    def _set_aside(self, error: Exception) -> str:
        reason = str(error) if isinstance(error, KeymapError) else f"cannot read it ({error})"
        try:
            backup = backup_path(self.path)
            os.replace(self.path, backup)
            kept = f"moved to {backup.name}"
        except OSError as move_error:
            kept = f"could not move it aside: {move_error.strerror}"
        return f"keymap {self.path}: {reason}; {kept}; using default keys"

"""Keymap logic: defaults, binding with conflicts, JSON round trip, store, corrupt files."""

import json
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pytest  # noqa: E402

from genie_play.app.keymap import (RESERVED_KEYS, Keymap, KeymapStore, default_keymap,  # noqa: E402
                                   keymap_from_json)
from genie_play.app.paths import keymap_path  # noqa: E402
from genie_play.errors import KeymapError  # noqa: E402


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def test_defaults_without_labels_bind_every_code_to_a_distinct_key():
    keymap = default_keymap(8)
    keys = [keymap.key_for_code(code) for code in range(8)]
    assert keys[:4] == ["left", "right", "up", "down"]
    assert None not in keys and len(set(keys)) == 8
    assert not set(keys) & set(RESERVED_KEYS)


def test_defaults_follow_labels():
    labels = ["still", "jump", "right", "left", "jump-right", "jump-left", "left", "other"]
    keymap = default_keymap(8, labels)
    assert keymap.code_for_key("left") == 3       # the first "left" gets the arrow
    assert keymap.code_for_key("right") == 2
    assert keymap.code_for_key("up") == 1
    assert keymap.code_for_key("space") == 0
    assert keymap.code_for_key("e") == 4
    assert keymap.code_for_key("q") == 5
    keys = [keymap.key_for_code(code) for code in range(8)]
    assert None not in keys and len(set(keys)) == 8  # the second "left" and "other" get spare keys


def test_bind_moves_a_key_that_was_on_another_code():
    keymap = default_keymap(8)
    result = keymap.bind(5, "Left")
    assert (result.code, result.key, result.moved_from) == (5, "left", 0)
    assert keymap.code_for_key("left") == 5
    assert keymap.key_for_code(0) is None
    assert keymap.unbound_codes() == [0]


def test_bind_same_key_again_is_not_a_conflict():
    keymap = default_keymap(8)
    assert keymap.bind(0, "left").moved_from is None


@pytest.mark.parametrize("key", ["r", "escape", "tab", "k"])
def test_reserved_keys_cannot_be_bound(key):
    with pytest.raises(KeymapError, match="reserved"):
        default_keymap(8).bind(0, key)


def test_unknown_key_and_bad_code_are_refused():
    keymap = default_keymap(8)
    with pytest.raises(KeymapError, match="unknown key"):
        keymap.bind(0, "no-such-key")
    with pytest.raises(KeymapError, match="out of range"):
        keymap.bind(8, "x")


def test_json_round_trip():
    keymap = default_keymap(8)
    keymap.bind(2, "x")
    keymap.unbind(3)
    again = keymap_from_json(keymap.to_json(), 8)
    assert again.keys == keymap.keys


def test_store_saves_and_loads(config_dir):
    store = KeymapStore("weights-abc", 8)
    keymap = store.load().keymap
    keymap.bind(7, "j")
    store.save(keymap)
    assert store.path == keymap_path("weights-abc") == config_dir / "keymaps" / "weights-abc.json"
    assert json.loads(store.path.read_text())["codes"]["7"] == "j"
    loaded = KeymapStore("weights-abc", 8).load()
    assert loaded.warning is None
    assert loaded.keymap.keys == keymap.keys


def test_missing_file_gives_defaults_without_warning():
    loaded = KeymapStore("never-saved", 8).load()
    assert loaded.warning is None
    assert loaded.keymap.keys == default_keymap(8).keys


CORRUPT_FILES = {
    "bad json": ("{not json", "not valid JSON"),
    "wrong shape": ('["left"]', '"codes"'),
    "unknown key": ('{"codes": {"0": "left", "1": "blorp"}}', "unknown key name 'blorp'"),
    "nameless key": ('{"codes": {"0": "\\u001f"}}', "unknown key name '\\x1f'"),
    "code out of range": ('{"codes": {"9": "left"}}', "code 9 is out of range"),
    "code not a number": ('{"codes": {"zero": "left"}}', "not an integer"),
    "key on two codes": ('{"codes": {"0": "left", "3": "left"}}', "bound to two codes"),
    "reserved key": ('{"codes": {"0": "r"}}', "reserved"),
    "key not a string": ('{"codes": {"0": 5}}', "key must be a name"),
}


@pytest.mark.parametrize("name", list(CORRUPT_FILES))
def test_corrupt_file_is_reported_backed_up_and_replaced_by_defaults(name):
    text, reason = CORRUPT_FILES[name]
    store = KeymapStore("w1", 8)
    store.path.parent.mkdir(parents=True)
    store.path.write_text(text)
    loaded = store.load()
    assert loaded.keymap.keys == default_keymap(8).keys
    assert reason in loaded.warning
    assert str(store.path) in loaded.warning and "\n" not in loaded.warning
    backup = store.path.with_name("w1.json.bak")
    assert backup.read_text() == text
    assert not store.path.exists()


def test_backups_are_numbered_not_overwritten():
    store = KeymapStore("w2", 8)
    store.path.parent.mkdir(parents=True)
    for attempt in range(3):
        store.path.write_text(f"broken {attempt}")
        assert store.load().warning
    names = sorted(p.name for p in store.path.parent.iterdir())
    assert names == ["w2.json.bak", "w2.json.bak.1", "w2.json.bak.2"]
    assert (store.path.parent / "w2.json.bak").read_text() == "broken 0"


def test_weights_id_is_made_safe_for_a_file_name(config_dir):
    assert keymap_path("../evil/id").parent == config_dir / "keymaps"


def test_xdg_config_home_is_used_without_override(monkeypatch, tmp_path):
    monkeypatch.delenv("GENIE_PLAY_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert keymap_path("w") == tmp_path / "xdg" / "genie_play" / "keymaps" / "w.json"


def test_keymap_needs_no_display():
    import pygame

    assert Keymap(2, {0: "a"}).key_for_code(0) == "a"
    assert not pygame.display.get_init()

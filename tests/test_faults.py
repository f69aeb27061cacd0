"""Faults and bad input not covered elsewhere: devices, bad weights through load_world and the CLI,
play.json values, keymap files (property-based), recording into a full disk or read-only folder,
and a short soak on tiny weights (the long one is `python -m genie_play.soak`)."""

import errno
import json
import os
import pickle
import string
import struct

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from conftest import make_dynamics, make_tokenizer, random_frames, tiny_tokenizer_config  # noqa: E402
from genie_play import atomic, soak as soak_module  # noqa: E402
from genie_play.app import keymap as keymap_module  # noqa: E402
from genie_play.app.keymap import (RESERVED_KEYS, Keymap, KeymapStore, canonical_key_name,  # noqa: E402
                                   default_keymap, keymap_from_json)
from genie_play.app.recorder import GifRecorder, save_gif, save_png  # noqa: E402
from genie_play.checkpoint import save_checkpoint  # noqa: E402
from genie_play.cli import app as cli_app  # noqa: E402
from genie_play.device import resolve_device  # noqa: E402
from genie_play.errors import CheckpointError, GenieError, KeymapError  # noqa: E402
from genie_play.models import LAMConfig, LatentActionModel, Tokenizer, TokenizerConfig  # noqa: E402
from genie_play.soak import rss_mb, soak  # noqa: E402
from genie_play.world import load_world  # noqa: E402


def one_line(message: str, *fragments) -> str:
    assert "\n" not in message.rstrip("\n"), message
    for fragment in fragments:
        assert fragment in message, message
    return message


def run_cli(*args):
    return CliRunner().invoke(cli_app, [str(a) for a in args])


def assert_cli_error(result, *fragments):
    """Exit 2, exactly one `error: ...` line on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    one_line(result.stderr, *fragments)


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.fixture
def one_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


@pytest.fixture
def prompt_png(tmp_path):
    path = tmp_path / "prompt.png"
    Image.fromarray(random_frames(seed=3).numpy()).save(path)
    return path


# --- devices -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cuda", "CUDA", "cuda:0", "cuda:1"])
def test_cuda_without_cuda_is_a_clear_error(no_cuda, name):
    with pytest.raises(GenieError) as info:
        resolve_device(name)
    one_line(str(info.value), f"--device {name.lower()}", "CUDA is not available", "--device cpu")


@pytest.mark.parametrize("name", ["auto", "AUTO", None, ""])
def test_auto_falls_back_to_cpu(no_cuda, name):
    assert resolve_device(name) == torch.device("cpu")


def test_auto_picks_cuda_when_present(one_gpu):
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cuda:0") == torch.device("cuda:0")


@pytest.mark.parametrize("name", ["gpu", "tpu", "mps", "cpu0"])
def test_unknown_device_is_a_clear_error(name):
    with pytest.raises(GenieError) as info:
        resolve_device(name)
    one_line(str(info.value), f"--device {name}", "unknown device", "auto, cpu, cuda")


@pytest.mark.parametrize("name, fragment", [("cuda:x", "not a device name"), ("cudaa", "not a device name"),
                                            ("cuda:3", "has 1 CUDA device")])
def test_bad_cuda_device_names_are_clear_errors(one_gpu, name, fragment):
    with pytest.raises(GenieError) as info:
        resolve_device(name)
    one_line(str(info.value), f"--device {name}", fragment)


def test_load_world_on_cuda_without_cuda(no_cuda, tiny_weights):
    with pytest.raises(GenieError, match="CUDA is not available"):
        load_world(tiny_weights, device="cuda")


def test_load_world_auto_without_cuda_runs_on_cpu(no_cuda, tiny_weights):
    world = load_world(tiny_weights, device="auto")
    assert world.device == torch.device("cpu")
    world.reset(random_frames(seed=1).numpy())
    assert world.step(0).shape == (64, 64, 3)


def test_cli_render_on_cuda_without_cuda(no_cuda, tiny_weights, prompt_png, tmp_path):
    out = tmp_path / "clip.gif"
    result = run_cli("render", "--device", "cuda", "--weights", tiny_weights, "--image", prompt_png,
                     "--actions", "1,2", "--out", out)
    assert_cli_error(result, "--device cuda", "CUDA is not available")
    assert not out.exists()


@pytest.mark.parametrize("command", [["bench", "--steps", "1", "--batches", "1"], ["play"], ["label"]])
def test_cli_commands_on_cuda_without_cuda(no_cuda, tiny_weights, command):
    assert_cli_error(run_cli(*command, "--device", "cuda", "--weights", tiny_weights), "CUDA is not available")


def test_cli_unknown_device(tiny_weights):
    assert_cli_error(run_cli("bench", "--device", "gpu", "--weights", tiny_weights), "unknown device")


# --- bad weights through load_world and the CLI ------------------------------------------------------
def _truncated(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(5).integers(0, 256, 5000, dtype=np.uint8).tobytes())


def _absurd_header(path):
    path.write_bytes(struct.pack("<Q", 2 ** 63) + b"{}" * 8)


def _pickle_renamed(path):
    path.write_bytes(pickle.dumps({"state_dict": [1.0, 2.0]}, protocol=4))


def _empty(path):
    path.write_bytes(b"")


def _plain_safetensors(path):
    save_file({"w": torch.zeros(2)}, str(path))


def _a_folder(path):
    path.unlink()
    path.mkdir()


BAD_FILES = {
    "truncated": (_truncated, "truncated"),
    "random bytes": (_random_bytes, ""),
    "absurd header": (_absurd_header, "not a safetensors file"),
    "pickle renamed": (_pickle_renamed, "pickle"),
    "empty": (_empty, "not a safetensors file"),
    "plain safetensors": (_plain_safetensors, "not a genie_play checkpoint"),
    "folder": (_a_folder, "folder"),
}
BAD_CASES = [(kind, name) for kind in ("tokenizer", "dynamics", "lam") for name in BAD_FILES]


@pytest.mark.parametrize("kind, name", BAD_CASES)
def test_load_world_refuses_a_bad_checkpoint(tiny_weights, kind, name):
    path = tiny_weights / f"{kind}.safetensors"
    damage, fragment = BAD_FILES[name]
    damage(path)
    with pytest.raises(CheckpointError) as info:
        load_world(tiny_weights, device="cpu")
    one_line(str(info.value), str(path), fragment)


@pytest.mark.parametrize("kind, wrong", [("tokenizer", make_dynamics), ("dynamics", make_tokenizer), ("lam", make_tokenizer)])
def test_load_world_refuses_the_wrong_kind(tiny_weights, kind, wrong):
    path = tiny_weights / f"{kind}.safetensors"
    save_checkpoint(path, wrong())
    with pytest.raises(CheckpointError) as info:
        load_world(tiny_weights, device="cpu")
    one_line(str(info.value), str(path), f"expected a {kind}")


def _tokenizer_with(**change):
    return Tokenizer(TokenizerConfig(**{**tiny_tokenizer_config().__dict__, **change}))


MISFITS = {
    "vocabularies": ("tokenizer", lambda: _tokenizer_with(levels=[3, 3, 3]), "vocabularies 27 vs 18"),
    "tokens a frame": ("tokenizer", lambda: _tokenizer_with(patch=4), "256 vs 64 tokens a frame"),
    "LAM image size": ("lam", lambda: LatentActionModel(LAMConfig(image_size=32, channels=8, depth=1)), "images 32 vs 64"),
    "LAM actions": ("lam", lambda: LatentActionModel(LAMConfig(channels=8, depth=1, levels=[2, 2])), "4 vs 8 latent actions"),
}


@pytest.mark.parametrize("name", list(MISFITS))
def test_load_world_refuses_models_that_do_not_fit(tiny_weights, name):
    kind, make, fragment = MISFITS[name]
    save_checkpoint(tiny_weights / f"{kind}.safetensors", make())
    with pytest.raises(CheckpointError) as info:
        load_world(tiny_weights, device="cpu")
    one_line(str(info.value), "don't fit together", fragment)


@pytest.mark.parametrize("name", ["truncated", "pickle renamed", "absurd header", "random bytes"])
@pytest.mark.parametrize("command", ["play", "render"])
def test_cli_bad_weights_exit_2_with_one_line(tiny_weights, prompt_png, tmp_path, command, name):
    path = tiny_weights / "dynamics.safetensors"
    damage, fragment = BAD_FILES[name]
    damage(path)
    args = [command, "--weights", tiny_weights, "--device", "cpu", "--image", prompt_png]
    if command == "render":
        args += ["--actions", "1", "--out", tmp_path / "clip.gif"]
    assert_cli_error(run_cli(*args), str(path), fragment)
    assert not (tmp_path / "clip.gif").exists()


@pytest.mark.parametrize("command", ["play", "render"])
def test_cli_misfit_weights_and_missing_folder(tiny_weights, prompt_png, tmp_path, command):
    extra = ["--actions", "1", "--out", tmp_path / "clip.gif"] if command == "render" else []
    save_checkpoint(tiny_weights / "tokenizer.safetensors", _tokenizer_with(levels=[3, 3, 3]))
    assert_cli_error(run_cli(command, "--weights", tiny_weights, "--image", prompt_png, *extra), "don't fit together")
    missing = tmp_path / "no-weights-here"
    assert_cli_error(run_cli(command, "--weights", missing, "--image", prompt_png, *extra), str(missing), "not found")


# --- play.json (the weights' play settings) ----------------------------------------------------------
BAD_PLAY = {
    "not json": ("{temperature: 1", "unreadable play settings"),
    "not an object": ("[1, 2]", "must be a JSON object"),
    "nested too deeply": ("[" * 100_000, "unreadable play settings"),
    "temperature a string": ('{"temperature": "hot"}', "temperature must be a number"),
    "temperature negative": ('{"temperature": -1}', "temperature must be a number"),
    "temperature NaN": ('{"temperature": NaN}', "temperature must be a number"),
    "temperature bool": ('{"temperature": true}', "temperature must be a number"),
    "steps zero": ('{"maskgit_steps": 0}', "maskgit_steps must be an integer >= 1"),
    "steps a float": ('{"maskgit_steps": 2.5}', "maskgit_steps must be an integer >= 1"),
    "steps a string": ('{"maskgit_steps": "many"}', "maskgit_steps must be an integer >= 1"),
    "labels not a list": ('{"code_labels": "left"}', "code_labels must be a list"),
    "labels not names": ('{"code_labels": [1, 2]}', "code_labels must be a list"),
    "keep pixels a string": ('{"keep_still_pixels": "yes"}', "keep_still_pixels must be true or false"),
    "keep pixels a number": ('{"keep_still_pixels": 1}', "keep_still_pixels must be true or false"),
    "keep threshold zero": ('{"keep_threshold": 0}', "keep_threshold must be a number in (0, 1]"),
    "keep threshold over one": ('{"keep_threshold": 1.5}', "keep_threshold must be a number in (0, 1]"),
    "keep threshold a string": ('{"keep_threshold": "half"}', "keep_threshold must be a number in (0, 1]"),
    "labels too few": ('{"code_labels": ["a", "b"]}', "code_labels must be 8 non-empty names"),
    "labels too many": ('{"code_labels": ' + str([f"c{k}" for k in range(9)]).replace("'", '"') + '}',
                        "code_labels must be 8 non-empty names"),
    "labels empty": ('{"code_labels": ' + str([" "] * 8).replace("'", '"') + '}', "code_labels must be 8 non-empty names"),
    "camera motion huge": ('{"code_motion": ' + str([[1e19, 0]] * 8) + '}', "camera motion must be 8 pairs"),
    "camera motion past a frame": ('{"code_motion": ' + str([[0, 65]] * 8) + '}', "each within ±64"),
}


@pytest.mark.parametrize("name", list(BAD_PLAY))
def test_bad_play_settings_fail_at_load_not_at_the_first_step(tiny_weights, name):
    text, fragment = BAD_PLAY[name]
    (tiny_weights / "play.json").write_text(text)
    with pytest.raises(CheckpointError) as info:
        load_world(tiny_weights, device="cpu")
    one_line(str(info.value), str(tiny_weights / "play.json"), fragment)


def test_bad_play_settings_name_the_value_as_json(tiny_weights):
    (tiny_weights / "play.json").write_text('{"maskgit_steps": true}')
    with pytest.raises(CheckpointError, match="got true$"):
        load_world(tiny_weights, device="cpu")
    (tiny_weights / "play.json").write_text('{"code_motion": ' + str([[1e19, 0]] * 8) + '}')
    with pytest.raises(CheckpointError, match=r"got \[\[1e\+19, 0\], .*…$"):
        load_world(tiny_weights, device="cpu")


def test_play_settings_nulls_are_defaults_and_unknown_keys_are_ignored(tiny_weights):
    (tiny_weights / "play.json").write_text('{"temperature": null, "maskgit_steps": 2, "future_knob": 3}')
    world = load_world(tiny_weights, device="cpu")
    assert (world.temperature, world.maskgit_steps, world.code_labels, world.keep_still_pixels) == (1.0, 2, None, True)
    world.reset(random_frames(seed=2).numpy())
    world.step(1)


def test_play_settings_set_the_keep_threshold(tiny_weights):
    assert load_world(tiny_weights, device="cpu").keep_threshold is None
    (tiny_weights / "play.json").write_text('{"keep_threshold": 0.5}')
    assert load_world(tiny_weights, device="cpu").keep_threshold == 0.5


def test_play_settings_can_turn_off_keeping_still_pixels(tiny_weights):
    (tiny_weights / "play.json").write_text('{"keep_still_pixels": false}')
    assert load_world(tiny_weights, device="cpu").keep_still_pixels is False


def test_bad_play_settings_in_the_checkpoint_provenance(tiny_weights):
    path = tiny_weights / "dynamics.safetensors"
    save_checkpoint(path, make_dynamics(), provenance={"play": {"maskgit_steps": "four"}})
    with pytest.raises(CheckpointError, match="maskgit_steps must be an integer") as info:
        load_world(tiny_weights, device="cpu")
    one_line(str(info.value), str(path))
    save_checkpoint(path, make_dynamics(), provenance={"play": ["not", "a", "dict"]})
    with pytest.raises(CheckpointError, match="must be a JSON object"):
        load_world(tiny_weights, device="cpu")


def test_cli_bad_play_settings(tiny_weights, prompt_png, tmp_path):
    (tiny_weights / "play.json").write_text('{"maskgit_steps": "many"}')
    result = run_cli("render", "--weights", tiny_weights, "--image", prompt_png, "--actions", "1",
                     "--out", tmp_path / "c.gif")
    assert_cli_error(result, "play.json", "maskgit_steps")


# --- keymap files: property-based --------------------------------------------------------------------
FREE_KEYS = sorted({canonical_key_name(k) for k in
                    list(string.ascii_lowercase) + list(string.digits) + ["left", "right", "up", "down", "space"]
                    + [f"f{i}" for i in range(2, 12)]} - set(RESERVED_KEYS))
NUM_ACTIONS = 8
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
keymap_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_valid_keymap(keymap: Keymap, num_actions: int = NUM_ACTIONS):
    assert set(keymap.keys) == set(range(num_actions))
    bound = [k for k in keymap.keys.values() if k is not None]
    assert len(bound) == len(set(bound)), keymap.keys  # no key on two codes
    assert not set(bound) & set(RESERVED_KEYS)
    assert all(canonical_key_name(k) == k for k in bound)


def parse_or_keymap_error(text: str, num_actions: int = NUM_ACTIONS):
    """The parser's whole contract: a valid Keymap or a one-line KeymapError, nothing else."""
    try:
        keymap = keymap_from_json(text, num_actions)
    except KeymapError as error:
        one_line(str(error))
        return None
    assert_valid_keymap(keymap, num_actions)
    return keymap


@keymap_settings
@given(st.text(max_size=200))
def test_any_text_parses_or_is_a_keymap_error(text):
    parse_or_keymap_error(text)


@keymap_settings
@given(json_values)
def test_any_json_document_parses_or_is_a_keymap_error(value):
    parse_or_keymap_error(json.dumps(value))
    parse_or_keymap_error(json.dumps({"codes": value}))


@keymap_settings
@given(st.dictionaries(st.text(max_size=4) | st.integers(-3, 12).map(str),
                       st.none() | st.sampled_from(FREE_KEYS + sorted(RESERVED_KEYS) + ["Left", "SPACE", "nokey"])
                       | json_values, max_size=10),
       st.dictionaries(st.text(max_size=8).filter(lambda k: k != "codes"), json_values, max_size=3))
def test_any_codes_object_parses_or_is_a_keymap_error(codes, unknown_fields):
    keymap = parse_or_keymap_error(json.dumps({"version": 1, "codes": codes, **unknown_fields}))
    if keymap is not None:  # what was accepted is exactly what the file said (the last word on a code wins)
        expected = {}
        for code_text, key in codes.items():
            if key is not None:
                expected[int(code_text)] = canonical_key_name(key)
        assert keymap.keys == {code: expected.get(code) for code in range(NUM_ACTIONS)}


@keymap_settings
@given(st.lists(st.tuples(st.integers(0, NUM_ACTIONS - 1), st.sampled_from(FREE_KEYS) | st.none()), max_size=30))
def test_binds_keep_keys_unique_and_round_trip_through_json(operations):
    keymap = default_keymap(NUM_ACTIONS)
    for code, key in operations:
        if key is None:
            keymap.unbind(code)
        else:
            result = keymap.bind(code, key.upper() if len(key) > 1 else key)
            assert keymap.key_for_code(code) == key == result.key
            assert result.moved_from is None or keymap.key_for_code(result.moved_from) is None
        assert_valid_keymap(keymap)
    assert keymap_from_json(keymap.to_json(), NUM_ACTIONS).keys == keymap.keys


@keymap_settings
@given(st.integers().filter(lambda c: not 0 <= c < NUM_ACTIONS), st.sampled_from(FREE_KEYS))
def test_codes_out_of_range_are_refused(code, key):
    with pytest.raises(KeymapError, match=f"code {code} is out of range 0..{NUM_ACTIONS - 1}"):
        keymap_from_json(json.dumps({"codes": {str(code): key}}), NUM_ACTIONS)


@keymap_settings
@given(st.lists(st.integers(0, NUM_ACTIONS - 1), min_size=2, max_size=2, unique=True), st.sampled_from(FREE_KEYS),
       st.booleans())
def test_one_key_on_two_codes_is_refused(codes, key, change_case):
    other = key.upper() if change_case else key  # "Left" and "left" are the same key
    text = json.dumps({"codes": {str(codes[0]): key, str(codes[1]): other}})
    with pytest.raises(KeymapError, match="bound to two codes"):
        keymap_from_json(text, NUM_ACTIONS)


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.mark.parametrize("content", [b"\xff\xfe\x00bad utf-8", b"[" * 100_000, b"", b"\x00" * 64],
                         ids=["not utf-8", "nested too deeply", "empty", "NUL bytes"])
def test_unreadable_keymap_files_give_defaults_and_a_backup(config_dir, content):
    store = KeymapStore("w", NUM_ACTIONS)
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(content)
    loaded = store.load()
    assert loaded.keymap.keys == default_keymap(NUM_ACTIONS).keys
    one_line(loaded.warning, str(store.path), "using default keys")
    assert store.path.with_name("w.json.bak").read_bytes() == content


def test_keymap_path_that_is_a_folder_gives_defaults(config_dir):
    store = KeymapStore("w", NUM_ACTIONS)
    store.path.mkdir(parents=True)
    loaded = store.load()
    assert loaded.keymap.keys == default_keymap(NUM_ACTIONS).keys and "cannot read it" in loaded.warning


def test_keymap_that_cannot_be_moved_aside_still_loads_defaults(config_dir, monkeypatch):
    store = KeymapStore("w", NUM_ACTIONS)
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{broken")

    def read_only(*args):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(keymap_module.os, "replace", read_only)
    loaded = store.load()
    one_line(loaded.warning, "could not move it aside: Read-only file system", "using default keys")
    assert store.path.read_text() == "{broken"


def test_saving_a_keymap_into_a_read_only_config_dir_raises_oserror(config_dir, monkeypatch):
    store = KeymapStore("w", NUM_ACTIONS)
    monkeypatch.setattr(atomic.tempfile, "mkstemp", _raise(errno.EROFS, "Read-only file system"))
    with pytest.raises(OSError):
        store.save(default_keymap(NUM_ACTIONS))
    assert not store.path.exists()


# --- recording into a full disk or a read-only folder ------------------------------------------------
FRAMES = [random_frames(seed=s).numpy() for s in range(3)]


def _raise(code, text):
    def fail(*args, **kwargs):
        raise OSError(code, text)

    return fail


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("where", ["mkstemp", "fsync", "replace"])
@pytest.mark.parametrize("code, text", [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system"),
                                        (errno.EACCES, "Permission denied")])
def test_gif_that_cannot_be_written_leaves_nothing_behind(tmp_path, monkeypatch, where, code, text):
    module = atomic.tempfile if where == "mkstemp" else atomic.os
    monkeypatch.setattr(module, where, _raise(code, text))
    target = tmp_path / "rec" / "session-0001.gif"
    with pytest.raises(OSError) as info:
        save_gif(FRAMES, target, 50, scale=2)
    assert info.value.errno == code
    assert leftovers(tmp_path / "rec") == []  # no GIF, no temp file


def test_png_on_a_full_disk_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.os, "fsync", _raise(errno.ENOSPC, "No space left on device"))
    with pytest.raises(OSError):
        save_png(FRAMES[0], tmp_path / "shot.png", scale=2)
    assert leftovers(tmp_path) == []


def test_recorder_survives_a_failed_write_and_records_again(tmp_path, monkeypatch):
    recorder = GifRecorder(scale=1)
    recorder.start(FRAMES[0], 0.0)
    recorder.add(FRAMES[1], 0.1)
    with monkeypatch.context() as patch:
        patch.setattr(atomic.os, "fsync", _raise(errno.ENOSPC, "No space left on device"))
        with pytest.raises(OSError):
            recorder.stop(tmp_path / "a.gif", 0.2)
    assert not recorder.recording and recorder.frames == []  # frames dropped, memory freed
    recorder.start(FRAMES[2], 1.0)
    recorder.add(FRAMES[0], 1.1)
    assert recorder.stop(tmp_path / "b.gif", 1.2) == tmp_path / "b.gif"
    assert leftovers(tmp_path) == ["b.gif"]
    with Image.open(tmp_path / "b.gif") as gif:
        assert gif.n_frames == 2


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_recording_into_a_real_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            save_gif(FRAMES, folder / "session.gif")
        assert leftovers(folder) == []
    finally:
        folder.chmod(0o755)


# --- long sessions ------------------------------------------------------------------------------------
def test_rss_is_read_from_proc_or_resource(monkeypatch, tmp_path):
    assert 1 < rss_mb() < 100_000
    monkeypatch.setattr(soak_module, "PROC_STATUS", str(tmp_path / "no-proc-here"))
    assert 1 < rss_mb() < 100_000  # the peak RSS from resource


def test_short_soak_on_tiny_weights_keeps_memory_flat(tiny_weights, monkeypatch):
    monkeypatch.setattr(soak_module, "RESET_CHANCE", 0.02)  # more resets than a real soak, to run that path
    samples = []
    result = soak(tiny_weights, steps=300, device="cpu", report_every=100, progress=samples.append, seed=1)
    for key in ("rss_at_100_mb", "rss_max_mb", "growth_mb", "steps", "seconds", "ms_per_step"):
        assert key in result
    assert result["steps"] == 300 and result["device"] == "cpu" and result["maskgit_steps"] == 3
    assert result["undos"] > 0 and result["resets"] > 0
    assert [s["step"] for s in samples] == [100, 200, 300]
    assert result["rss_max_mb"] >= result["rss_at_100_mb"] > 0
    assert result["growth_mb"] < 20, result
    assert result["ms_per_step"] > 0 and result["seconds"] > 0


def test_soak_command_prints_samples_and_a_verdict(tiny_weights, capsys):
    code = soak_module.main(["--steps", "120", "--weights", str(tiny_weights), "--device", "cpu",
                             "--report-every", "60", "--threads", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("step ") >= 2 and "rss_at_100_mb:" in out and "PASS" in out
    assert soak_module.main(["--steps", "120", "--weights", str(tiny_weights), "--device", "cpu", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["passed"] is True and summary["steps"] == 120


def test_soak_command_reports_bad_input_in_one_line(no_cuda, tiny_weights, tmp_path, capsys):
    assert soak_module.main(["--steps", "10", "--weights", str(tiny_weights), "--device", "cuda"]) == 2
    one_line(capsys.readouterr().err, "error: --device cuda", "CUDA is not available")
    assert soak_module.main(["--steps", "10", "--weights", str(tmp_path / "nowhere")]) == 2
    one_line(capsys.readouterr().err, "weights folder not found")

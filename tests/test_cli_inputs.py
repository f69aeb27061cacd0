"""Odd command lines, one regression test per case: a value out of range is typer's usage box (exit 2), a
file or folder that cannot be used is one `error:` line (exit 2), before any work; the right result otherwise."""

import errno
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from conftest import make_dynamics, make_lam, make_tokenizer, random_frames, write_tiny_data
from fake_world import FakeWorld, fake_cli
from genie_play import validate
from genie_play.app import commands
from genie_play.checkpoint import describe, load_model, read_header, save_checkpoint
from genie_play.cli import app
from genie_play.data.collect import plan_jobs, shard_seed
from genie_play.errors import CheckpointError, GenieError
from genie_play.labels import distinct_labels, known_labels
from genie_play.train.stages import load_token_cache
from genie_play.world import World, load_world

BIG = 10 ** 12
HUGE = 10 ** 20


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def usage_error(result, option: str):
    """typer's usage box naming the option, exit 2, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Invalid value for" in result.stderr and option in result.stderr, result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def one_error_line(result, *fragments) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def must_not_run(*args, **kwargs):
    raise AssertionError("the work started although its output could not be written")


@pytest.fixture
def data(tmp_path):
    return write_tiny_data(tmp_path / "data")


@pytest.fixture
def prompt_png(tmp_path):
    path = tmp_path / "prompt.png"
    Image.fromarray(random_frames(seed=4).numpy()).save(path)
    return path


# --- collect: seeds and level ranges -------------------------------------------------------------
@pytest.mark.parametrize("levels, seed", [((900_000, 900_004), 0), ((0, 1000), 21475), ((2 ** 31 - 1, 2 ** 31), 7),
                                          ((0, 2 ** 31 - 1), 2 ** 31 - 1), ((271_182, 271_183), 0)])
def test_every_valid_level_range_and_seed_gives_procgen_32_bit_seeds(tmp_path, levels, seed):
    jobs = plan_jobs(tmp_path, "coinrun", levels, 50, "train", "explore", num_envs=1, steps_per_shard=10, seed=seed)
    assert len(jobs) == 5 and len({job.seed for job in jobs}) == 5
    assert all(0 <= job.seed < 2 ** 31 for job in jobs)
    assert shard_seed(seed, levels[0], 3) == jobs[3].seed  # the same command always records the same data


@pytest.mark.parametrize("levels", [(0, 2 ** 31), (5, 2 ** 31 + 1), (-1, 4), (3, 3)])
def test_level_ranges_beyond_procgen_are_one_line_errors(tmp_path, levels):
    with pytest.raises(GenieError, match="bad level range"):
        plan_jobs(tmp_path, "coinrun", levels, 10, "train", "explore", 1, 10)


@pytest.mark.parametrize("levels, seed", [("900000:900004", "0"), ("0:4", "21475"), ("2147483646:2147483648", "3")])
def test_collect_records_high_levels_and_seeds(tmp_path, levels, seed):
    pytest.importorskip("procgen")
    out = tmp_path / "d"
    result = run("collect", out, "--levels", levels, "--seed", seed, "--steps", 2, "--envs", 1, "--shard-steps", 2,
                 "--workers", 1)
    assert result.exit_code == 0, result.output
    assert len(list((out / "train").glob("*.npz"))) == 1


def test_collect_says_when_it_rounds_the_frames_up_to_whole_shards(tmp_path):
    pytest.importorskip("procgen")
    out = tmp_path / "d"
    result = run("collect", out, "--levels", "0:4", "--steps", 3, "--envs", 1, "--shard-steps", 2, "--workers", 1)
    assert result.exit_code == 0, result.output
    assert "recorded 4 frames: --steps 3 rounded up to 2 shards of 1 environment x 2 steps" in result.output
    assert len(list((out / "train").glob("*.npz"))) == 2
    exact = run("collect", tmp_path / "e", "--levels", "0:4", "--steps", 2, "--envs", 1, "--shard-steps", 2, "--workers", 1)
    assert exact.exit_code == 0 and "rounded up" not in exact.output


def test_train_names_every_stage_when_one_is_misspelt(tmp_path):
    one_error_line(run("train", "alll", "--data", tmp_path, "--out", tmp_path / "out"),
                   "unknown stage 'alll' (choose tokenizer, lam, dynamics, gate or all)")
    assert not (tmp_path / "out").exists()


# --- numbers out of range: typer's usage box, nothing done ------------------------------------------
COLLECT = ("collect", "OUT")
TRAIN = ("train", "tokenizer", "--preset", "tiny", "--data", "DATA", "--out", "OUT")
EVAL = ("eval", "--data", "DATA", "--out", "OUT/report.json")
BAD_NUMBERS = [
    (COLLECT, "--envs", 0), (COLLECT, "--envs", -2), (COLLECT, "--shard-steps", 0), (COLLECT, "--shard-steps", -3),
    (COLLECT, "--workers", BIG), (COLLECT, "--seed", -1), (COLLECT, "--steps", 0), (COLLECT, "--steps", -5),
    (COLLECT, "--steps", BIG), (COLLECT, "--frame-skip", 100_000),
    (TRAIN, "--batch-size", -4), (TRAIN, "--batch-size", 0), (TRAIN, "--batch-size", BIG), (TRAIN, "--lr", "nan"),
    (TRAIN, "--lr", -1), (TRAIN, "--lr", 0), (TRAIN, "--lr", "inf"), (TRAIN, "--threads", -1), (TRAIN, "--seed", -1),
    (TRAIN, "--seed", HUGE), (TRAIN, "--max-steps", 0), (TRAIN, "--max-steps", -1), (TRAIN, "--max-minutes", 0),
    (TRAIN, "--max-minutes", -1), (TRAIN, "--max-minutes", "nan"),
    (EVAL, "--clips", 0), (EVAL, "--clips", -1), (EVAL, "--clips", BIG), (EVAL, "--batch", 0), (EVAL, "--batch", -1),
    (EVAL, "--maskgit-steps", 0), (EVAL, "--maskgit-steps", -1), (EVAL, "--seed", -1), (EVAL, "--seed", HUGE),
    (EVAL, "--temperature", "nan"), (EVAL, "--temperature", -1),
    (("bench",), "--steps", 0), (("bench",), "--batches", 0), (("bench",), "--batches", ""),
    (("bench",), "--batches", "abc"), (("bench",), "--batches", "1,,2"), (("bench",), "--batches", BIG),
    (("bench",), "--batches", -1), (("bench",), "--maskgit-steps", 0),
    (("render", "--actions", "1", "--out", "OUT/c.gif"), "--scale", 10 ** 6),
    (("render", "--actions", "1", "--out", "OUT/c.gif"), "--seed", -1),
    (("mimic", "--video", "DATA", "--out", "OUT/m.gif"), "--scale", 10 ** 6),
    (("mimic", "--video", "DATA", "--out", "OUT/m.gif"), "--seed", HUGE),
    (("label",), "--prompts", BIG), (("label",), "--seed", -1), (("play",), "--seed", HUGE), (("play",), "--scale", BIG),
    (("sketch",), "--seed", -1),
]


@pytest.mark.parametrize("command, option, value", BAD_NUMBERS, ids=lambda x: str(x)[:20])
def test_numbers_out_of_range_are_usage_errors(tmp_path, data, command, option, value):
    out = tmp_path / "out"
    args = [str(data) if a == "DATA" else str(a).replace("OUT", str(out)) for a in command]
    usage_error(run(*args, option, value), option)
    assert not out.exists()


def wide_help(*args) -> str:
    return CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "250"}).stdout


def test_help_states_the_ranges():
    text = wide_help("collect")
    assert "--workers            <int range> [1<=x<=256]" in text
    assert "[0<=x<=2147483647]" in text and "at most 100000 frames" in text
    assert "(> 0, <= 1)" in wide_help("train") and "0 (argmax) to 10" in wide_help("eval")


# --- values that used to do the wrong thing with exit 0 -------------------------------------------
@pytest.mark.parametrize("split", ["../../escape", "", "a/b", "."])
def test_collect_split_is_a_plain_name(tmp_path, split):
    usage_error(run("collect", tmp_path / "d", "--split", split, "--steps", 2), "--split")
    assert list(tmp_path.iterdir()) == []


def test_collect_policy_error_is_one_line_before_any_progress(tmp_path):
    result = run("collect", tmp_path / "d", "--policy", "", "--steps", 2, "--envs", 1, "--shard-steps", 2)
    one_error_line(result, "unknown policy ''")
    assert result.stdout == ""


@pytest.mark.parametrize("clips, batch", [(3, 2), (5, 4)])
def test_eval_scores_every_clip_asked_for(tiny_weights, data, tmp_path, clips, batch):
    out = tmp_path / "r.json"
    result = run("eval", "--weights", tiny_weights, "--data", data, "--out", out, "--clips", clips, "--batch", batch,
                 "--length", 5, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["clips"] == clips


def test_render_refuses_to_replace_a_file_unless_overwrite(tiny_weights, prompt_png, tmp_path):
    out = tmp_path / "existing.gif"
    out.write_bytes(b"keep me")
    args = ("render", "--weights", tiny_weights, "--image", prompt_png, "--actions", "1", "--out", out, "--device", "cpu")
    one_error_line(run(*args), str(out), "--overwrite")
    assert out.read_bytes() == b"keep me"
    assert run(*args, "--overwrite").exit_code == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 2


@pytest.mark.parametrize("name", ["a.jpg", "", "sketch"])
def test_sketch_out_must_be_a_png_name(tiny_weights, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    usage_error(run("sketch", "--weights", tiny_weights, "--out", name), "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights"]


@pytest.fixture
def run_dir(tmp_path, data):
    out = tmp_path / "run"
    for stage in ("tokenizer", "lam"):
        assert run("train", stage, "--preset", "tiny", "--max-steps", 1, "--device", "cpu", "--threads", 1,
                   "--data", data, "--out", out).exit_code == 0
    return out


def test_export_never_replaces_training_checkpoints(run_dir, tmp_path):
    before = {p.name: p.read_bytes() for p in run_dir.glob("*.safetensors")}
    one_error_line(run("export", run_dir, run_dir, "--overwrite"), "training folder itself")
    other = tmp_path / "other"
    other.mkdir()
    (other / "lam.safetensors").write_bytes((run_dir / "lam.safetensors").read_bytes())
    one_error_line(run("export", run_dir, other, "--overwrite"), "training checkpoint")
    assert {p.name: p.read_bytes() for p in run_dir.glob("*.safetensors")} == before
    assert (other / "lam.safetensors").read_bytes() == before["lam.safetensors"]


# --- steps that could never end ------------------------------------------------------------------
def test_maskgit_steps_beyond_the_tokens_of_a_frame(tiny_weights, data, tmp_path):
    one_error_line(run("bench", "--weights", tiny_weights, "--device", "cpu", "--steps", 1, "--batches", 1,
                       "--maskgit-steps", 1_000_000), "--maskgit-steps 1000000", "64 tokens")
    result = run("eval", "--weights", tiny_weights, "--data", data, "--out", tmp_path / "r.json", "--clips", 1,
                 "--length", 5, "--device", "cpu", "--maskgit-steps", 1_000_000)
    one_error_line(result, "--maskgit-steps 1000000")
    assert not (tmp_path / "r.json").exists()
    (tiny_weights / "play.json").write_text('{"maskgit_steps": 1000000}')
    with pytest.raises(CheckpointError, match="play.json: maskgit_steps 1000000"):
        load_world(tiny_weights, device="cpu")


# --- unclear messages ------------------------------------------------------------------------------
def test_bench_negative_batch_names_the_option(tiny_weights):
    result = run("bench", "--weights", tiny_weights, "--batches", -1)
    usage_error(result, "--batches")
    assert "reset needs" not in result.output


@pytest.mark.parametrize("args, option", [(("info", ""), "path"), (TRAIN, "--data"), (EVAL, "--data"),
                                          (("render", "--actions", "1", "--out", ""), "--out"),
                                          (("play", "--image", ""), "--image")])
def test_an_empty_path_is_refused(tmp_path, data, args, option):
    args = ["" if a == "DATA" else str(a).replace("OUT", str(tmp_path / "out")) for a in args]
    usage_error(run(*args), option)


@pytest.mark.parametrize("command", [TRAIN, ("bench",), ("label",), ("play",)])
def test_an_empty_device_is_refused(tmp_path, data, command):
    args = [str(data) if a == "DATA" else str(a).replace("OUT", str(tmp_path / "out")) for a in command]
    usage_error(run(*args, "--device", ""), "--device")


@pytest.mark.parametrize("field, value", [("heads", "x"), ("dim", 10 ** 12), ("copy_head", 1), ("layers", -2)])
def test_an_edited_checkpoint_config_names_the_field(tmp_path, field, value):
    path = tmp_path / "dynamics.safetensors"
    save_checkpoint(path, make_dynamics())
    meta = read_header(path)
    config = json.loads(meta["config"])
    config[field] = value
    save_file(load_file(str(path)), str(path), metadata=dict(meta, config=json.dumps(config)))
    line = one_error_line(run("info", path), str(path), f"field {field}")
    assert "not all arguments" not in line


def test_mimic_reports_a_missing_prompt_before_reading_the_clip(monkeypatch, tmp_path):
    cli = fake_cli(monkeypatch, tmp_path, FakeWorld)
    result = cli("mimic", "--video", tmp_path, "--out", tmp_path / "m.gif", "--image", tmp_path / "missing.png")
    one_error_line(result, "missing.png")
    assert result.stdout == ""


# --- output that cannot be written: refused before the work -----------------------------------------
@pytest.fixture
def blocked(tmp_path):
    """A file where a folder should be."""
    path = tmp_path / "blocker"
    path.write_text("")
    return path


def destinations(data, weights, out):
    return {
        "eval": (("eval", "--weights", weights, "--data", data, "--out", out / "report.json", "--clips", 1,
                  "--length", 5), "genie_play.evaluate.evaluate"),
        "train": (("train", "tokenizer", "--preset", "tiny", "--data", data, "--out", out), "genie_play.train.stage.train_stage"),
        "collect": (("collect", out, "--steps", 2), "genie_play.data.collect.collect"),
        "export": (("export", weights, out), "genie_play.checkpoint.export_weights"),
    }


@pytest.mark.parametrize("command", ["eval", "train", "collect", "export"])
def test_an_output_under_a_file_is_refused_before_any_work(monkeypatch, tiny_weights, data, blocked, command):
    args, work = destinations(data, tiny_weights, blocked / "sub")[command]
    monkeypatch.setattr(work, must_not_run)
    one_error_line(run(*args), str(blocked), "is a file")


@pytest.mark.parametrize("code, text", [(errno.EROFS, "Read-only file system"), (errno.ENOSPC, "No space left on device"),
                                        (errno.EACCES, "Permission denied")])
@pytest.mark.parametrize("command", ["eval", "train", "collect", "export"])
def test_an_unwritable_output_is_refused_before_any_work(monkeypatch, tiny_weights, data, tmp_path, command, code, text):
    args, work = destinations(data, tiny_weights, tmp_path / "out")[command]
    monkeypatch.setattr(work, must_not_run)

    def cannot_write(*args, **kwargs):
        raise OSError(code, text)

    monkeypatch.setattr(validate.tempfile, "TemporaryFile", cannot_write)
    one_error_line(run(*args), str(tmp_path / "out"), text)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_a_real_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(GenieError, match="cannot write there"):
            validate.check_output_folder(folder / "sub")
    finally:
        folder.chmod(0o755)


def test_a_failed_final_write_names_the_file_in_one_line(monkeypatch, tiny_weights, data, tmp_path):
    from genie_play import atomic

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", disk_full)
    out = tmp_path / "r.json"
    result = run("eval", "--weights", tiny_weights, "--data", data, "--out", out, "--clips", 1, "--length", 5,
                 "--device", "cpu")
    one_error_line(result, f"{out}: No space left on device")
    result = run("train", "lam", "--preset", "tiny", "--max-steps", 1, "--device", "cpu", "--data", data,
                 "--out", tmp_path / "run")
    one_error_line(result, str(tmp_path / "run" / "lam.safetensors"), "No space left")


# --- the token cache of dynamics training ------------------------------------------------------------
@pytest.mark.parametrize("damage", ["empty", "garbage", "pickled", "wrong shapes"])
def test_a_damaged_token_cache_is_computed_again(tmp_path, data, damage):
    tok, lam, out = tmp_path / "tokenizer.safetensors", tmp_path / "lam.safetensors", tmp_path / "out"
    save_checkpoint(tok, make_tokenizer())
    save_checkpoint(lam, make_lam())
    tokens, actions, _ = load_token_cache(data, tok, lam, out, "cpu")
    (cache,) = out.glob("tokens-*.npz")
    if damage == "empty":
        cache.write_bytes(b"")
    elif damage == "garbage":
        cache.write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "pickled":
        np.savez(cache, tokens=np.array([{"a": 1}], dtype=object), actions=actions)
    else:
        np.savez(cache, tokens=tokens[:, :3], actions=actions)
    again, again_actions, _ = load_token_cache(data, tok, lam, out, "cpu")
    assert np.array_equal(again, tokens) and np.array_equal(again_actions, actions)
    with np.load(cache) as z:  # the cache was written again, whole
        assert np.array_equal(z["tokens"], tokens)


def test_train_dynamics_with_an_empty_token_cache(tmp_path, data):
    out = tmp_path / "run"
    save_checkpoint(out / "tokenizer.safetensors", make_tokenizer())
    save_checkpoint(out / "lam.safetensors", make_lam())
    load_token_cache(data, out / "tokenizer.safetensors", out / "lam.safetensors", out, "cpu")
    (cache,) = out.glob("tokens-*.npz")
    cache.write_bytes(b"")
    result = run("train", "dynamics", "--preset", "tiny", "--max-steps", 1, "--device", "cpu", "--threads", 1,
                 "--data", data, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "dynamics.safetensors").exists() and cache.stat().st_size > 0


def train_tokenizer_then_tiny_dynamics(tmp_path, data, tokenizer_preset: str):
    """One step of a tokenizer of `tokenizer_preset`, then one of a tiny dynamics on its tokens (the tiny LAM's
    codes). -> (run folder, the tokenizer's config, the dynamics' config)."""
    out = tmp_path / "run"
    result = run("train", "tokenizer", "--preset", tokenizer_preset, "--max-steps", 1, "--batch-size", 2, "--device",
                 "cpu", "--threads", 1, "--data", data, "--out", out)
    assert result.exit_code == 0, result.output
    save_checkpoint(out / "lam.safetensors", make_lam())
    result = run("train", "dynamics", "--preset", "tiny", "--max-steps", 1, "--device", "cpu", "--threads", 1,
                 "--data", data, "--out", out)
    assert result.exit_code == 0, result.output
    return out, describe(out / "tokenizer.safetensors")["config"], describe(out / "dynamics.safetensors")["config"]


def test_a_patch_4_tokenizer_with_12800_codes_gives_the_dynamics_that_vocabulary(tmp_path, data):
    _, tokenizer, dynamics = train_tokenizer_then_tiny_dynamics(tmp_path, data, "cpu-p4c")
    assert tokenizer["levels"] == [8, 8, 8, 5, 5]
    assert (dynamics["tokens_per_frame"], dynamics["vocab_size"]) == (256, 12800)


def test_a_patch_4_tokenizer_trains_and_gives_the_dynamics_16x16_tokens_a_frame(tmp_path, data):
    out, tokenizer, dynamics = train_tokenizer_then_tiny_dynamics(tmp_path, data, "cpu-p4")
    assert (tokenizer["patch"], tokenizer["levels"]) == (4, [8, 5, 5, 5])
    assert (dynamics["tokens_per_frame"], dynamics["vocab_size"]) == (256, 1000)
    # 2x2 tokens a position: the same tokens, a quarter of the positions, and a world that plays on it
    result = run("train", "dynamics", "--preset", "cpu-group2", "--max-steps", 1, "--batch-size", 1, "--device", "cpu",
                 "--threads", 1, "--data", data, "--out", tmp_path / "grouped", "--tokenizer", out / "tokenizer.safetensors",
                 "--lam", out / "lam.safetensors")
    assert result.exit_code == 0, result.output
    grouped = load_model(tmp_path / "grouped" / "dynamics.safetensors", "dynamics")
    assert (grouped.config.tokens_per_frame, grouped.config.group, grouped.pos_emb.shape[0]) == (256, 2, 64)
    world = World(load_model(out / "tokenizer.safetensors"), grouped, make_lam(), maskgit_steps=2)
    world.reset(np.zeros((64, 64, 3), np.uint8))
    assert world.step(3).shape == (64, 64, 3) and world.tokens.shape == (1, 256)


def test_a_refiner_trains_alone_on_a_tokenizer_whose_tokens_stay(tmp_path, data):
    base, out = tmp_path / "base", tmp_path / "refined"
    args = ("--max-steps", 2, "--batch-size", 2, "--device", "cpu", "--threads", 1, "--data", data)
    assert run("train", "tokenizer", "--preset", "cpu", "--out", base, *args).exit_code == 0
    result = run("train", "tokenizer", "--preset", "cpu-refiner", "--init", base / "tokenizer.safetensors",
                 "--only", "refiner", "--out", out, *args)
    assert result.exit_code == 0, result.output
    assert describe(out / "tokenizer.safetensors")["config"]["refiner_channels"] == 64
    before, after = load_file(base / "tokenizer.safetensors"), load_file(out / "tokenizer.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before if not k.startswith("extra."))  # same tokens
    assert after["refiner.out.weight"].abs().sum() > 0  # it started at zero and trained
    logged = [json.loads(line) for line in (out / "tokenizer.metrics.jsonl").read_text().splitlines()]
    assert "psnr_next" in logged[-1]


# --- labels, render, help ------------------------------------------------------------------------
def test_shared_labels_are_told_apart():
    shipped = ["right", "jump-right", "other", "other", "left", "jump", "still", "jump"]
    names = distinct_labels(shipped)
    assert names == ["right", "jump-right", "other", "other 2", "left", "jump", "still", "jump 2"]
    assert len({n.casefold() for n in distinct_labels(["a", "a", "a 2", "A"])}) == 4
    assert distinct_labels(["x", "y"]) == ["x", "y"]


def test_the_world_s_labels_are_distinct(tiny_weights):
    (tiny_weights / "play.json").write_text(json.dumps({"code_labels": ["jump"] * 4 + ["other"] * 4}))
    labels = known_labels(load_world(tiny_weights, device="cpu"))
    assert len(set(labels)) == 8 and labels[:2] == ["jump", "jump 2"]


@pytest.fixture
def labelled_cli(monkeypatch, tmp_path):
    labels = ["right", "jump-right", "other", "other", "left", "jump", "still", "jump"]
    return fake_cli(monkeypatch, tmp_path, lambda: FakeWorld(code_labels=labels))


def test_render_takes_code_labels(labelled_cli, prompt_png, tmp_path):
    result = labelled_cli("render", "--image", prompt_png, "--actions", "right, right,JUMP,jump 2,other2,3",
                          "--out", tmp_path / "c.gif")
    assert result.exit_code == 0, result.output
    assert labelled_cli.worlds[-1].actions == [0, 0, 5, 7, 3, 3]
    bad = labelled_cli("render", "--image", prompt_png, "--actions", "right,fly", "--out", tmp_path / "d.gif")
    message = " ".join(bad.stderr.replace("│", " ").split())  # the usage box, unwrapped
    assert bad.exit_code == 2 and "'fly'" in message and "jump 2" in message


def test_render_uses_the_bundled_prompt_by_default(labelled_cli, tmp_path):
    result = labelled_cli("render", "--actions", "1", "--out", tmp_path / "c.gif")
    assert result.exit_code == 0, result.output
    expected = FakeWorld()._load(commands.default_prompt())
    assert np.array_equal(labelled_cli.worlds[-1].resets[0], expected)


def test_help_lists_play_and_sketch_first_and_version_prints():
    text = wide_help()
    order = [name for name in ("play", "sketch", "collect", "train") if f" {name} " in text]
    assert order == ["play", "sketch", "collect", "train"]
    assert text.index(" play ") < text.index(" sketch ") < text.index(" info ") < text.index(" collect ")
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("genie-play ")

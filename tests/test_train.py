"""The training loop through `genie-play train` (tiny preset, a few steps): checkpoints and logs, refusing to
overwrite, --resume, surviving SIGKILL, the wall-time budget, two-process DDP on CPU, and export."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from typer.testing import CliRunner

from genie_play.checkpoint import describe, load_model
from genie_play.cli import app
from genie_play.data.collect import collect

pytest.importorskip("procgen")

REPO = Path(__file__).resolve().parent.parent
STAGES = ("tokenizer", "lam", "dynamics")
TINY_STEPS = 4  # the tiny preset's max_steps (checkpoint_every 2, log_every 1)


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def train(stage, data, out, *extra):
    return cli("train", stage, "--preset", "tiny", "--device", "cpu", "--threads", "1", "--data", data, "--out", out, *extra)


def log_steps(path: Path) -> list[int]:
    return [json.loads(line)["step"] for line in path.read_text().splitlines()]


def checkpoint_step(path: Path) -> int:
    _, provenance, extra = load_model(path, with_extra=True)
    assert int(extra["step"].item()) == provenance["step"]
    return provenance["step"]


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def subprocess_env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train") / "data"
    collect(root, "coinrun", (0, 20), 200, split="train", workers=1, num_envs=4, steps_per_shard=50)
    return root


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("train") / "out"
    for stage in STAGES:
        result = train(stage, data, out)
        assert result.exit_code == 0, result.output
    return out


def test_each_stage_writes_a_checkpoint_and_a_metrics_log(trained, data):
    for stage in STAGES:
        ckpt, log = trained / f"{stage}.safetensors", trained / f"{stage}.metrics.jsonl"
        assert ckpt.exists() and log.exists(), stage
        model, provenance, extra = load_model(ckpt, kind=stage, with_extra=True)
        assert provenance["step"] == TINY_STEPS and provenance["preset"] == "tiny"
        assert provenance["world_size"] == 1 and provenance["data"] == str(data)
        assert provenance["frame_skip"] == 1  # the data's game ticks a frame, for eval to compare
        assert any(k.startswith("opt.") for k in extra), "optimizer state is saved for resuming"
        records = [json.loads(line) for line in log.read_text().splitlines()]
        assert [r["step"] for r in records] == [1, 2, 3, 4]
        assert all(torch.isfinite(torch.tensor(r["loss"])) for r in records)
        assert {"loss", "lr", "samples_per_s", "time"} <= set(records[-1])
    assert describe(trained / "dynamics.safetensors")["provenance"]["tokenizer"]  # digest of the frozen tokenizer
    assert list(trained.glob("tokens-*.npz")), "dynamics caches the pre-computed tokens"
    assert temp_files(trained) == []


def test_the_token_cache_follows_the_data(trained, data, tmp_path, monkeypatch):
    import genie_play.train.stages as stages
    from genie_play.train.stages import load_token_cache

    out = tmp_path / "out"
    out.mkdir()
    tok, lam = trained / "tokenizer.safetensors", trained / "lam.safetensors"
    tokens, _, recording = load_token_cache(data, tok, lam, out, "cpu")
    assert tokens.shape[:2] == recording.frames.shape[:2]
    assert len(list(out.glob("tokens-*.npz"))) == 1
    with monkeypatch.context() as patched:
        patched.setattr(stages, "pretokenize", lambda *a, **k: pytest.fail("cached tokens were recomputed"))
        assert np.array_equal(load_token_cache(data, tok, lam, out, "cpu")[0], tokens)  # read back, not recomputed
    more = tmp_path / "more"
    collect(more, "coinrun", (0, 20), 300, split="train", workers=1, num_envs=4, steps_per_shard=50)
    tokens_more, _, recording_more = load_token_cache(more, tok, lam, out, "cpu")
    assert tokens_more.shape[:2] == recording_more.frames.shape[:2] != recording.frames.shape[:2]
    assert len(list(out.glob("tokens-*.npz"))) == 2


def test_training_into_an_existing_checkpoint_without_resume_is_refused(trained, data):
    ckpt, log = trained / "tokenizer.safetensors", trained / "tokenizer.metrics.jsonl"
    before = (ckpt.read_bytes(), log.read_text())
    result = train("tokenizer", data, trained, "--max-steps", 6)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), result.stderr
    assert str(ckpt) in err[0] and "--resume" in err[0]
    assert (ckpt.read_bytes(), log.read_text()) == before


@pytest.mark.parametrize("stage", ["tokenizer", "all"])
def test_ctrl_c_during_training_says_how_to_go_on(data, tmp_path, monkeypatch, stage):
    import genie_play.train.stage as stages

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(stages, "train_stage", interrupted)
    monkeypatch.setattr(stages, "train_all", interrupted)
    out = tmp_path / "out"
    result = train(stage, data, out, *(["--max-minutes", 1] if stage == "all" else []))
    assert result.exit_code == 130
    assert result.stderr.strip() == f"interrupted: the same command with --resume goes on from the last checkpoint in {out}"


def test_resume_continues_from_the_saved_step(data, tmp_path):
    out = tmp_path / "out"
    assert train("tokenizer", data, out).exit_code == 0
    ckpt = out / "tokenizer.safetensors"
    _, _, extra_before = load_model(ckpt, with_extra=True)
    result = train("tokenizer", data, out, "--resume", "--max-steps", 7)
    assert result.exit_code == 0, result.output
    assert log_steps(out / "tokenizer.metrics.jsonl") == [1, 2, 3, 4, 5, 6, 7]
    assert checkpoint_step(ckpt) == 7
    _, provenance, extra = load_model(ckpt, with_extra=True)
    assert provenance["max_steps"] == 7
    # the optimizer state came back too: AdamW's step count went on from 4, it did not restart at 0
    step_keys = [k for k in extra if k.startswith("opt.") and k.endswith(".step")]
    assert step_keys and all(extra_before[k].item() == 4 and extra[k].item() == 7 for k in step_keys)


def test_max_minutes_stops_early_with_a_checkpoint(data, tmp_path):
    out = tmp_path / "out"
    start = time.time()
    result = train("tokenizer", data, out, "--max-steps", 100000, "--max-minutes", 0.01)
    assert result.exit_code == 0, result.output
    assert time.time() - start < 60
    steps = log_steps(out / "tokenizer.metrics.jsonl")
    assert 1 <= steps[-1] < 100000
    assert checkpoint_step(out / "tokenizer.safetensors") == steps[-1]  # the stop itself is checkpointed
    last = json.loads((out / "tokenizer.metrics.jsonl").read_text().splitlines()[-1])
    if steps[-1] > 2:  # past warm-up the schedule has run to its end (10% of the peak)
        assert last["lr"] == pytest.approx(1e-4)


def test_max_minutes_is_one_budget_across_resumes(data, tmp_path):
    out = tmp_path / "out"
    assert train("tokenizer", data, out, "--max-steps", 100000, "--max-minutes", 0.01).exit_code == 0
    ckpt = out / "tokenizer.safetensors"
    stopped = checkpoint_step(ckpt)
    _, _, extra = load_model(ckpt, with_extra=True)
    assert 0.6 <= extra["elapsed_s"].item() < 60  # the 0.6 s budget it spent (plus the last step)
    # resumed with the same budget: it is spent, so the run takes one step at the schedule's end and stops
    result = train("tokenizer", data, out, "--resume", "--max-steps", 100000, "--max-minutes", 0.01)
    assert result.exit_code == 0, result.output
    assert checkpoint_step(ckpt) == stopped + 1
    last = json.loads((out / "tokenizer.metrics.jsonl").read_text().splitlines()[-1])
    assert last["lr"] == pytest.approx(1e-4)


def test_sigkill_leaves_a_loadable_checkpoint_and_resume_goes_on(data, tmp_path):
    out = tmp_path / "out"
    ckpt, log = out / "tokenizer.safetensors", out / "tokenizer.metrics.jsonl"
    errors = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "genie_play.cli", "train", "tokenizer", "--preset", "tiny", "--max-steps", "100000",
         "--data", str(data), "--out", str(out), "--device", "cpu", "--threads", "1"],
        cwd=REPO, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=errors)
    try:
        deadline = time.time() + 90
        while not (ckpt.exists() and log.exists() and len(log.read_text().splitlines()) >= 5):
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            assert time.time() < deadline, "no checkpoint and log lines within 90 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errors.close()

    saved = checkpoint_step(ckpt)  # loads: the kill never leaves a half-written checkpoint behind
    assert saved >= 2 and saved % 2 == 0  # checkpoint_every 2
    logged = log_steps(log)  # every line whole
    assert logged == list(range(1, len(logged) + 1)) and logged[-1] >= saved

    result = train("tokenizer", data, out, "--resume", "--max-steps", saved + 3)
    assert result.exit_code == 0, result.output
    assert checkpoint_step(ckpt) == saved + 3
    assert log_steps(log)[-1] == saved + 3
    assert temp_files(out) == []  # a temp file of a save the kill interrupted is cleared by the next run


def test_stale_checkpoint_temp_files_are_cleared_by_the_next_run(data, tmp_path):
    """What a SIGKILL during a save leaves: `.tokenizer.safetensors.<random>.tmp`. The next run of that stage
    removes it; temp files of other stages (maybe being written by another run) are left alone."""
    out = tmp_path / "out"
    assert train("tokenizer", data, out, "--max-steps", 2).exit_code == 0
    stale = out / ".tokenizer.safetensors.k1ll3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    other = out / ".lam.safetensors.busy00.tmp"
    other.write_bytes(b"another stage's save in progress")
    assert train("tokenizer", data, out, "--resume", "--max-steps", 4).exit_code == 0
    assert not stale.exists()
    assert other.exists()


def test_ddp_two_cpu_processes_write_one_checkpoint(data, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "genie_play.cli", "train", "tokenizer", "--preset", "tiny", "--max-steps", "4", "--device", "cpu",
           "--data", str(data), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["tokenizer.metrics.jsonl", "tokenizer.safetensors"]
    _, provenance, _ = load_model(out / "tokenizer.safetensors", kind="tokenizer", with_extra=True)
    assert provenance["world_size"] == 2 and provenance["step"] == 4
    assert log_steps(out / "tokenizer.metrics.jsonl") == [1, 2, 3, 4]  # only rank 0 writes


def test_export_writes_float16_weights_and_refuses_to_overwrite(trained, tmp_path):
    weights = tmp_path / "weights"
    result = cli("export", trained, weights)
    assert result.exit_code == 0, result.output
    assert " kB)" in result.output and "(0.0 MB)" not in result.output  # the tiny files' sizes say something
    for stage in STAGES:
        src, dst = trained / f"{stage}.safetensors", weights / f"{stage}.safetensors"
        with safe_open(str(dst), "pt") as f:
            keys = list(f.keys())
            dtypes = {f.get_slice(k).get_dtype() for k in keys}
        assert not [k for k in keys if k.startswith("extra.")], "no optimizer state in exported weights"
        assert "F32" not in dtypes and "F16" in dtypes, dtypes
        assert dst.stat().st_size < src.stat().st_size
        exported, provenance, _ = load_model(dst, kind=stage, with_extra=True)
        original = load_model(src, kind=stage)
        assert provenance == describe(src)["provenance"]
        for (name, a), b in zip(original.state_dict().items(), exported.state_dict().values()):
            if a.is_floating_point():
                torch.testing.assert_close(b, a.half().float(), rtol=0, atol=0, msg=name)

    before = {p.name: p.read_bytes() for p in weights.iterdir()}
    refused = cli("export", trained, weights)
    assert refused.exit_code == 2, refused.output
    err = refused.stderr.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0], refused.stderr
    assert {p.name: p.read_bytes() for p in weights.iterdir()} == before

    again = cli("export", trained, weights, "--overwrite", "--dtype", "float32")
    assert again.exit_code == 0, again.output
    with safe_open(str(weights / "tokenizer.safetensors"), "pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} <= {"F32", "I64", "I32", "BOOL"}


def test_checkpoints_get_ordinary_file_permissions(trained, tmp_path):
    """Weights are meant to be shipped and shared: the same mode as any file written here (0o666 & ~umask),
    not the 0o600 of a private temp file."""
    umask = os.umask(0)
    os.umask(umask)
    weights = tmp_path / "weights"
    assert cli("export", trained, weights).exit_code == 0
    for path in [*trained.glob("*.safetensors"), *weights.glob("*.safetensors")]:
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, f"{path}: {oct(path.stat().st_mode & 0o777)}"


def test_init_starts_from_given_weights_with_a_fresh_schedule(trained, data, tmp_path):
    source = trained / "tokenizer.safetensors"
    out = tmp_path / "init"
    result = train("tokenizer", data, out, "--max-steps", "1", "--lr", "1e-9", "--init", source)
    assert result.exit_code == 0, result.output
    before, after = load_model(source), load_model(out / "tokenizer.safetensors")
    for name, tensor in before.state_dict().items():  # lr 1e-9: one step barely moves the weights
        assert torch.allclose(tensor, after.state_dict()[name], atol=1e-5), name
    assert describe(out / "tokenizer.safetensors")["provenance"]["init"] == str(source)
    assert checkpoint_step(out / "tokenizer.safetensors") == 1


def test_only_trains_the_named_parameters_and_freezes_the_rest(trained, data, tmp_path):
    source = trained / "dynamics.safetensors"
    out = tmp_path / "only"
    result = train("dynamics", data, out, "--max-steps", "2", "--lr", "1e-2", "--init", source, "--only", "action_emb",
                   "--tokenizer", trained / "tokenizer.safetensors", "--lam", trained / "lam.safetensors")
    assert result.exit_code == 0, result.output
    before, after = load_model(source).state_dict(), load_model(out / "dynamics.safetensors").state_dict()
    assert not torch.equal(before["action_emb.weight"], after["action_emb.weight"])
    assert all(torch.equal(tensor, after[name]) for name, tensor in before.items() if not name.startswith("action_emb"))
    assert describe(out / "dynamics.safetensors")["provenance"]["only"] == "action_emb"


def test_only_with_a_name_the_model_lacks_is_one_line(trained, data, tmp_path):
    result = train("lam", data, tmp_path / "bad", "--max-steps", "1", "--only", "action_emb")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --only action_emb: the lam model has no parameters of that name (it has action_film, decoder, decoder_stem, encoder)"]


def test_init_from_another_model_size_is_refused(trained, data, tmp_path):
    result = train("tokenizer", data, tmp_path / "bad", "--max-steps", "1", "--preset", "cpu",
                   "--init", trained / "tokenizer.safetensors")
    assert result.exit_code == 2
    assert "--init needs the same model size" in result.output


def test_export_refuses_a_missing_or_empty_run_folder_in_one_line(tmp_path):
    missing = cli("export", tmp_path / "nowhere", tmp_path / "weights")
    assert missing.exit_code == 2 and missing.stderr.strip() == f"error: {tmp_path / 'nowhere'}: training output folder not found"
    (tmp_path / "empty").mkdir()
    empty = cli("export", tmp_path / "empty", tmp_path / "weights")
    assert empty.exit_code == 2 and len(empty.stderr.strip().splitlines()) == 1
    assert "no checkpoint to export" in empty.stderr and "dynamics.safetensors" in empty.stderr
    assert not (tmp_path / "weights").exists()


def test_export_refused_for_one_taken_file_writes_none_of_the_others(trained, tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "dynamics.safetensors").write_bytes(b"the user's own")
    refused = cli("export", trained, weights)
    assert refused.exit_code == 2 and "dynamics.safetensors: already exists" in refused.stderr
    assert sorted(p.name for p in weights.iterdir()) == ["dynamics.safetensors"]  # no tokenizer or lam written first
    assert (weights / "dynamics.safetensors").read_bytes() == b"the user's own"

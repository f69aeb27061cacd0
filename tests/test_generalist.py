"""The pieces of the generalist world: Procgen render variants in collect, colour augmentation, the dynamics'
copy path, --init into a model with a copy head, and `train all` on one time budget."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genie_play.checkpoint import describe, save_checkpoint
from genie_play.cli import app
from genie_play.data.augment import hue_rotation, recolour
from genie_play.data.shards import read_shard
from genie_play.errors import DataError, GenieError
from genie_play.models import Dynamics, LatentActionModel
from genie_play.train.loop import load_initial_weights
from genie_play.train.stages import mirror_some
from tests.conftest import make_dynamics, make_lam, random_frames, tiny_dynamics_config


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


# --- colour augmentation ---------------------------------------------------------------------
def test_recolour_keeps_shape_and_dtype_and_share_zero_is_identity():
    frames = random_frames(4, 3)  # (4, 3, 64, 64, 3)
    out = recolour(frames, torch.Generator().manual_seed(0), share=0.0)
    assert out.dtype == torch.uint8 and out.shape == frames.shape
    assert torch.equal(out, frames)


def test_recolour_is_deterministic_with_a_seed_and_changes_colours():
    frames = random_frames(8, 2)
    a = recolour(frames, torch.Generator().manual_seed(3), share=1.0)
    b = recolour(frames, torch.Generator().manual_seed(3), share=1.0)
    assert torch.equal(a, b)
    assert (a.float() - frames.float()).abs().mean() > 10


def test_recolour_uses_one_transform_for_every_frame_of_a_clip():
    frame = random_frames(1)[0]
    clip = torch.stack([frame, frame, frame])[None]  # (1, 3, 64, 64, 3): three equal frames
    out = recolour(clip, torch.Generator().manual_seed(1), share=1.0)[0]
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])


def test_hue_rotation_keeps_grey_grey_and_is_orthonormal():
    rot = hue_rotation(torch.tensor([0.0, 1.0, 2.5]))
    grey = torch.ones(3)
    assert torch.allclose(rot @ grey, grey.expand(3, 3), atol=1e-5)
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3).expand(3, 3, 3), atol=1e-5)


# --- the copy path ------------------------------------------------------------------------------
def copy_dynamics(gate_bias: float = 0.0) -> Dynamics:
    torch.manual_seed(0)
    model = Dynamics(dataclasses.replace(tiny_dynamics_config(), copy_head=True)).eval()
    with torch.no_grad():
        model.copy_gate.bias.fill_(gate_bias)
    return model


def test_copy_path_with_a_strong_gate_predicts_the_previous_token_whatever_it_is():
    model = copy_dynamics(gate_bias=30.0)
    V, N = model.config.vocab_size, model.config.tokens_per_frame
    tokens = torch.randint(0, V, (2, 3, N))
    logits = model(tokens, torch.randint(0, 8, (2, 2)))  # (B, T, N, V)
    assert torch.equal(logits[:, 1:].argmax(-1), tokens[:, :-1])


def test_copy_path_cached_frame_logits_equal_the_full_forward():
    model = copy_dynamics(gate_bias=1.0)
    V, N = model.config.vocab_size, model.config.tokens_per_frame
    tokens, actions = torch.randint(0, V, (2, 3, N)), torch.randint(0, 8, (2, 2))
    full = model(tokens, actions)
    cache = model.new_cache(2)
    model.push_frame(tokens[:, 0], torch.full((2,), model.config.no_action), cache)
    cached = model.frame_logits(tokens[:, 1], actions[:, 0], cache, previous=tokens[:, 0])
    assert torch.allclose(cached, full[:, 1], atol=1e-4)
    with pytest.raises(ValueError, match="previous frame"):
        model.frame_logits(tokens[:, 1], actions[:, 0], cache)


def test_copy_path_of_a_training_frame_reads_the_clean_previous_frame_not_the_masked_input():
    model = copy_dynamics(gate_bias=30.0)
    V, N = model.config.vocab_size, model.config.tokens_per_frame
    clean = torch.randint(0, V, (1, 3, N))
    masked = torch.full_like(clean, model.config.mask_id)
    logits = model(masked, torch.zeros(1, 2, dtype=torch.long), clean=clean)
    assert torch.equal(logits[:, 1:].argmax(-1), clean[:, :-1])


def test_init_from_weights_without_a_copy_head_starts_the_gate_fresh(tmp_path):
    plain = make_dynamics()
    save_checkpoint(tmp_path / "dynamics.safetensors", plain)
    model = copy_dynamics()
    load_initial_weights(model, tmp_path / "dynamics.safetensors", "dynamics")
    assert torch.equal(model.head.weight, plain.head.weight)
    bigger = Dynamics(dataclasses.replace(tiny_dynamics_config(layers=3), copy_head=True))
    with pytest.raises(GenieError, match="config differs"):
        load_initial_weights(bigger, tmp_path / "dynamics.safetensors", "dynamics")


def test_init_a_mirror_lam_from_a_plain_one_keeps_every_weight(tmp_path):
    plain = make_lam(context=0)
    save_checkpoint(tmp_path / "lam.safetensors", plain)
    mirror = LatentActionModel(dataclasses.replace(plain.config, mirror=True))
    load_initial_weights(mirror, tmp_path / "lam.safetensors", "lam")
    assert all(torch.equal(a, b) for a, b in zip(mirror.state_dict().values(), plain.state_dict().values()))
    assert mirror.config.mirror
    save_checkpoint(tmp_path / "mirror.safetensors", mirror)
    continued = make_lam(context=0)  # a plain preset continuing a mirror LAM keeps it a mirror LAM
    load_initial_weights(continued, tmp_path / "mirror.safetensors", "lam")
    assert continued.config.mirror and not make_lam(context=0).config.mirror


def test_mirror_some_flips_whole_clips_and_follows_its_seed():
    clips = np.random.default_rng(0).integers(0, 256, (16, 3, 4, 5, 3), dtype=np.uint8)
    out = mirror_some(clips, np.random.default_rng(7))
    again = mirror_some(clips, np.random.default_rng(7))
    assert np.array_equal(out, again)
    flipped = [i for i in range(16) if not np.array_equal(out[i], clips[i])]
    assert 0 < len(flipped) < 16
    assert all(np.array_equal(out[i], clips[i, :, :, ::-1]) for i in flipped)


# --- collect variants and train all ------------------------------------------------------------
pytest.importorskip("procgen")


def test_collect_records_a_render_variant_in_the_shard_and_its_name(tmp_path):
    from genie_play.data.collect import VARIANTS, collect

    collect(tmp_path, "coinrun", (0, 5), 16, workers=1, num_envs=2, steps_per_shard=8, variant="mono")
    (path,) = (tmp_path / "train").glob("*.npz")
    assert "-mono-" in path.name
    _, meta = read_shard(path)
    assert meta["variant"] == "mono" and meta["options"] == VARIANTS["mono"]
    with pytest.raises(DataError, match="unknown variant 'sepia'"):
        collect(tmp_path, "coinrun", (0, 5), 16, workers=1, variant="sepia")


def test_mono_variant_draws_fewer_colours_than_the_default(tmp_path):
    from genie_play.data.collect import collect

    for variant in ("default", "mono"):
        collect(tmp_path / variant, "coinrun", (0, 5), 16, workers=1, num_envs=2, steps_per_shard=8, variant=variant)
    colours = {}
    for variant in ("default", "mono"):
        (path,) = (tmp_path / variant / "train").glob("*.npz")
        frames = read_shard(path)[0]["frames"].reshape(-1, 3)
        colours[variant] = len(np.unique(frames, axis=0))
    assert colours["mono"] < colours["default"] / 4


@pytest.fixture(scope="module")
def mixed_data(tmp_path_factory):
    from genie_play.data.collect import collect

    root = tmp_path_factory.mktemp("mixed") / "data"
    collect(root, "coinrun", (0, 5), 64, workers=1, num_envs=2, steps_per_shard=32)
    collect(root, "jumper", (0, 5), 64, workers=1, num_envs=2, steps_per_shard=32, variant="mono", seed=1)
    return root


def test_train_all_trains_three_stages_and_resume_skips_the_finished(mixed_data, tmp_path):
    out = tmp_path / "run"
    args = ("train", "all", "--data", mixed_data, "--out", out, "--preset", "tiny", "--device", "cpu", "--threads", "1",
            "--max-minutes", "5")
    first = cli(*args)
    assert first.exit_code == 0, first.output
    bars = [first.output.index(f"train {stage} ") for stage in ("tokenizer", "lam", "dynamics")]
    assert bars == sorted(bars), first.output  # each stage's bar printed when it ends, in order
    for stage in ("tokenizer", "lam", "dynamics"):
        prov = describe(out / f"{stage}.safetensors")["provenance"]
        assert prov["finished"] is True
        assert prov["games"] == ["coinrun", "jumper"]
    assert describe(out / "dynamics.safetensors")["config"]["copy_head"] is True
    stamp = (out / "dynamics.safetensors").stat().st_mtime_ns
    again = cli(*args, "--resume")
    assert again.exit_code == 0, again.output
    assert again.output.count("finished before, skipped") == 3
    assert (out / "dynamics.safetensors").stat().st_mtime_ns == stamp


def test_train_all_needs_a_time_budget(mixed_data, tmp_path):
    result = cli("train", "all", "--data", mixed_data, "--out", tmp_path / "run", "--preset", "tiny")
    assert result.exit_code == 2
    assert "error: train all: give the time budget" in result.output


def test_majority_effects_name_each_codes_most_common_true_effect():
    from genie_play.data.effects import effect_label_names, majority_effects

    actions = np.array([[7, 7, 1, 5], [8, 7, 1, 4]])  # right right left up / right+up right left no-op
    codes = np.array([[0, 0, 1, 2], [3, 0, 1, 2]])
    rows = majority_effects(codes, effect_label_names(actions, np.array(["coinrun", "coinrun"])), 5)
    assert [r["effect"] for r in rows] == ["coinrun:right", "coinrun:left", "coinrun:jump", "coinrun:jump-right", None]
    assert rows[2]["share"] == 0.5 and rows[0]["share"] == 1.0 and rows[4]["share"] == 0.0


GENERALIST = Path(__file__).resolve().parent.parent / "weights"
COINRUN = GENERALIST / "coinrun"


@pytest.mark.skipif(not (COINRUN / "dynamics.safetensors").exists(), reason="bundled CoinRun weights not present")
def test_bundled_generalist_world_keeps_a_held_out_sketch_and_the_coinrun_world_does_not():
    from genie_play.images import load_image
    from genie_play.metrics import psnr
    from genie_play.world import load_world

    sketch = load_image(GENERALIST.parent / "assets" / "heldout" / "sketches" / "sketch-flat-classic.png", 64)
    kept = {}
    for name, folder in (("generalist", GENERALIST), ("coinrun", COINRUN)):
        world = load_world(folder, device="cpu", seed=0)
        world.reset(sketch)
        frame = world.step(world.code_labels.index("still"))
        kept[name] = float(psnr(sketch, frame))
    generalist = load_world(GENERALIST, device="cpu")
    assert generalist.dynamics.config.copy_head
    assert len(set(generalist.code_labels)) == len(generalist.code_labels) == 8
    assert kept["generalist"] > 27 and kept["generalist"] > kept["coinrun"] + 3, kept


def test_resume_without_a_checkpoint_says_it_starts_fresh(mixed_data, tmp_path):
    result = CliRunner().invoke(app, ["train", "lam", "--data", str(mixed_data), "--out", str(tmp_path / "run"), "--preset", "tiny",
                                      "--device", "cpu", "--threads", "1", "--resume"])
    assert result.exit_code == 0, result.output
    assert "was not there to resume, so this run started fresh" in result.output
    assert (tmp_path / "run" / "lam.safetensors").exists()

"""Quality metrics (genie_play.metrics) and the evaluation report built from them."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from genie_play.data.effects import COINRUN_EFFECT_OF_ACTION, effect_labels, effect_names
from genie_play.evaluate import build_report
from genie_play.metrics import MAX_PSNR, normalized_mutual_info, psnr, shifted_psnr, ssim


def noisy(images: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(images.astype(np.float64) + rng.normal(0, sigma, images.shape), 0, 255).astype(np.uint8)


def smooth_images(n: int, size: int = 24, seed: int = 0) -> np.ndarray:
    """(n, size, size, 3) uint8 with structure (blocks), so SSIM has something to compare."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (n, size // 4, size // 4, 3), dtype=np.uint8)
    return blocks.repeat(4, axis=1).repeat(4, axis=2)


# --- PSNR ------------------------------------------------------------------------------------
def test_psnr_of_a_known_uniform_error():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 205, (3, 2, 16, 16, 3), dtype=np.uint8)
    b = a + np.uint8(51)  # every pixel off by 51/255 = 0.2
    expected = 10 * math.log10(1 / 0.2 ** 2)
    assert expected == pytest.approx(13.9794, abs=1e-4)
    out = psnr(a, b)
    assert out.shape == (3, 2)  # one value per image, over the leading axes
    np.testing.assert_allclose(out, expected, atol=1e-9)
    np.testing.assert_allclose(psnr(b, a), expected, atol=1e-9)  # symmetric, and no uint8 wrap-around


def test_psnr_of_identical_images_is_the_cap():
    a = smooth_images(4)
    np.testing.assert_array_equal(psnr(a, a), MAX_PSNR)
    assert MAX_PSNR == 100.0


def test_psnr_drops_with_more_noise():
    a = smooth_images(4)
    assert psnr(a, noisy(a, 5)).mean() > psnr(a, noisy(a, 40)).mean() > 0


# --- SSIM ------------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", [psnr, ssim])
def test_many_images_are_scored_in_chunks_each_as_on_its_own(monkeypatch, metric):
    """Chunks bound the memory of a large evaluation (512 clips ran out of 24 GB); scores do not change."""
    monkeypatch.setattr("genie_play.metrics.CHUNK_IMAGES", 4)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (11, 16, 16, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    one_by_one = np.array([metric(a[i : i + 1], b[i : i + 1])[0] for i in range(11)])
    np.testing.assert_allclose(metric(a, b), one_by_one, rtol=1e-12)
    assert len(set(np.round(one_by_one, 6))) > 1  # the images score differently
    if metric is psnr:  # leading dims and a broadcast reference, as the copy floor uses
        clips = a[:10].reshape(2, 5, 16, 16, 3)
        floor = psnr(clips, np.broadcast_to(clips[:, :1], clips.shape))
        assert floor.shape == (2, 5) and (floor[:, 0] == 100).all()


def test_ssim_of_identical_images_is_one():
    a = smooth_images(3)
    np.testing.assert_allclose(ssim(a, a), 1.0, atol=1e-12)


def test_ssim_is_lower_for_noise_and_orders_noise_levels():
    a = smooth_images(3)
    light, heavy = ssim(a, noisy(a, 10)), ssim(a, noisy(a, 60))
    assert light.shape == heavy.shape == (3,)
    assert np.all(light < 0.99)
    assert np.all(heavy < light)
    assert np.all(heavy < 0.8)


# --- NMI -------------------------------------------------------------------------------------
def test_nmi_of_a_relabelled_perfect_assignment_is_one():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, 5000)
    relabel = np.array([40, 7, 3, 11, 0, 25])  # any one-to-one renaming
    assert normalized_mutual_info(a, relabel[a]) == pytest.approx(1.0, abs=1e-12)
    assert normalized_mutual_info(relabel[a], a) == pytest.approx(1.0, abs=1e-12)


def test_nmi_of_independent_assignments_is_near_zero():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 8, 200_000), rng.integers(0, 6, 200_000)
    assert 0 <= normalized_mutual_info(a, b) < 0.02


def test_nmi_of_a_partly_informative_assignment_is_in_between():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 6, 50_000)
    b = np.where(rng.random(a.size) < 0.5, a, rng.integers(0, 6, a.size))
    assert 0.1 < normalized_mutual_info(a, b) < 0.9


# --- build_report ----------------------------------------------------------------------------
def report_inputs(clips_n=4, length=6, size=16, seed=0):
    rng = np.random.default_rng(seed)
    clips = rng.integers(0, 256, (clips_n, length, size, size, 3), dtype=np.uint8)
    true_actions = rng.integers(0, 15, (clips_n, length - 1))
    effect = COINRUN_EFFECT_OF_ACTION[true_actions]
    arrays = {
        "lam_actions": effect.copy(),  # each code one effect: NMI 1
        "recon": clips.copy(),
        "gen": clips[:, 1:].copy(),  # a perfect rollout
        "gen_random": noisy(clips[:, 1:], 60, seed + 1),
        "real_tokens": noisy(clips[:, 1:], 10, seed + 2),
        "real_changed": rng.random((clips_n, length - 1)),
        "gen_changed": np.zeros((clips_n, length - 1)),
    }
    world = SimpleNamespace(num_actions=8, temperature=0.7, maskgit_steps=3, keep_still_pixels=True,
                            keep_threshold=None, bf16=False, cuda_graphs=False, device="cpu")
    return clips, effect, arrays, world


def test_build_report_delta_psnr_is_positive_when_lam_actions_beat_random_ones():
    clips, true_effects, arrays, world = report_inputs()
    report = build_report(clips, true_effects, arrays, world)
    assert report["rollout_psnr"] == [MAX_PSNR] * 5
    assert report["rollout_psnr_t4"] == MAX_PSNR
    assert report["delta_psnr_t4"] > 0
    assert report["delta_psnr_t4"] == pytest.approx(MAX_PSNR - report["random_action_psnr"][3])
    assert report["delta_psnr_t1"] > 0

    # swapped: the random-action rollout is the perfect one, so the delta turns negative
    swapped = dict(arrays, gen=arrays["gen_random"], gen_random=arrays["gen"])
    assert build_report(clips, true_effects, swapped, world)["delta_psnr_t4"] < 0


def test_build_report_copy_floor_tokenizer_scores_nmi_and_code_usage():
    clips, true_effects, arrays, world = report_inputs()
    report = build_report(clips, true_effects, arrays, world)
    expected_copy = psnr(clips[:, 4], clips[:, 0]).mean()
    assert report["copy_psnr_t4"] == pytest.approx(expected_copy, rel=1e-12)
    assert report["copy_psnr"][3] == report["copy_psnr_t4"]
    assert len(report["copy_psnr"]) == len(report["rollout_psnr"]) == len(report["random_action_psnr"]) == 5
    assert report["clips"] == 4
    assert report["tokenizer_psnr"] == MAX_PSNR
    assert report["tokenizer_ssim"] == pytest.approx(1.0)
    assert report["action_nmi"] == pytest.approx(1.0)
    usage = report["code_usage"]
    assert len(usage) == 8 and sum(usage) == pytest.approx(1.0)
    np.testing.assert_allclose(usage, np.bincount(arrays["lam_actions"].ravel(), minlength=8) / arrays["lam_actions"].size)
    assert report["temperature"] == 0.7 and report["maskgit_steps"] == 3


# --- effect labels ---------------------------------------------------------------------------
def test_coinrun_keys_with_the_same_effect_share_a_label():
    # left+down and left move left; no-op, down and the letter keys stand still; up jumps
    actions = np.array([[0, 1, 4, 3, 9, 14, 5, 7, 8]])
    labels = effect_labels(actions, np.array(["coinrun"]))[0]
    assert labels[0] == labels[1]
    assert labels[2] == labels[3] == labels[4] == labels[5]
    assert len({labels[1], labels[2], labels[6], labels[7], labels[8]}) == 5
    assert effect_names("coinrun") == ("left", "right", "jump", "jump-left", "jump-right", "still")


def test_other_games_score_against_each_key_and_games_never_share_a_label():
    actions = np.tile(np.arange(15), (2, 1))
    labels = effect_labels(actions, np.array(["bigfish", "coinrun"]))
    assert len(set(labels[0])) == 15  # a game we know nothing of: every key its own class
    assert len(set(labels[1])) == 6
    assert not set(labels[0]) & set(labels[1])
    assert len(effect_names("bigfish")) == 15


def test_nmi_against_effects_is_one_when_codes_follow_the_effect_not_the_key():
    rng = np.random.default_rng(3)
    actions = rng.integers(0, 15, (20, 15))
    codes = COINRUN_EFFECT_OF_ACTION[actions]  # a LAM that sees effects only
    effects = effect_labels(actions, np.array(["coinrun"] * 20))
    assert normalized_mutual_info(codes.ravel(), effects.ravel()) == pytest.approx(1.0)
    assert normalized_mutual_info(codes.ravel(), actions.ravel()) < 0.9  # against raw keys it would not be


def test_standard_errors_are_over_clips_and_paired_for_differences():
    clips, true_effects, arrays, world = report_inputs(clips_n=6, length=6, seed=4)
    arrays["gen"] = noisy(clips[:, 1:], 20, 7)
    report = build_report(clips, true_effects, arrays, world)
    se = report["standard_error_t4"]
    real4 = clips[:, 4]
    rollout4, copy4, random4 = psnr(real4, arrays["gen"][:, 3]), psnr(real4, clips[:, 0]), psnr(real4, arrays["gen_random"][:, 3])
    assert se["rollout_psnr"] == pytest.approx(rollout4.std(ddof=1) / math.sqrt(6))
    assert se["copy_psnr"] == pytest.approx(copy4.std(ddof=1) / math.sqrt(6))
    assert se["delta_psnr"] == pytest.approx((rollout4 - random4).std(ddof=1) / math.sqrt(6))
    assert se["rollout_minus_copy"] == pytest.approx((rollout4 - copy4).std(ddof=1) / math.sqrt(6))
    assert report["rollout_minus_copy_t4"] == pytest.approx(report["rollout_psnr_t4"] - report["copy_psnr_t4"])
    real_tokens4 = psnr(real4, arrays["real_tokens"][:, 3])
    assert se["real_tokens_minus_copy"] == pytest.approx((real_tokens4 - copy4).std(ddof=1) / math.sqrt(6))
    assert report["real_tokens_minus_copy_t4"] == pytest.approx(real_tokens4.mean() - copy4.mean())
    assert report["real_tokens_psnr"][3] == pytest.approx(real_tokens4.mean())


def test_token_change_is_the_mean_share_of_positions_rewritten_a_step():
    clips, true_effects, arrays, world = report_inputs(clips_n=3, length=6)
    arrays["gen_changed"][0, 2] = 0.5
    report = build_report(clips, true_effects, arrays, world)
    assert report["token_change"] == {"real": pytest.approx(arrays["real_changed"].mean()),
                                      "rollout": pytest.approx(0.5 / 15)}


def test_a_single_clip_has_no_standard_error():
    clips, true_effects, arrays, world = report_inputs(clips_n=1)
    assert build_report(clips, true_effects, arrays, world)["standard_error_t4"] == dict.fromkeys(
        ("rollout_psnr", "copy_psnr", "delta_psnr", "rollout_minus_copy", "real_tokens_minus_copy"))


# --- shift-tolerant (kept) PSNR ---------------------------------------------------------------
def test_a_shifted_copy_of_the_prompt_is_kept_within_the_tolerance():
    prompt = smooth_images(1, size=32, seed=3)[0]
    shifted = np.stack([np.roll(prompt, (dy, dx), axis=(0, 1)) for dx, dy in [(0, 0), (2, -3), (-4, 4), (3, 0)]])
    kept = shifted_psnr(shifted, prompt, max_shift=4)
    assert kept.shape == (4,) and np.all(kept == MAX_PSNR)  # the overlap of a shifted copy is exact
    assert np.all(psnr(shifted[1:], prompt) < 20)  # plain PSNR calls them lost
    assert shifted_psnr(np.roll(prompt, 7, axis=1), prompt, max_shift=4) < 20  # beyond the tolerance
    assert shifted_psnr(shifted[1], prompt, max_shift=0) == pytest.approx(psnr(shifted[1], prompt))


def test_shifted_psnr_keeps_leading_dims_and_orders_noise():
    prompt = smooth_images(1, size=24, seed=5)[0]
    frames = np.stack([np.stack([noisy(prompt, sigma, seed) for sigma in (2, 10, 40)]) for seed in range(2)])  # (2, 3, ...)
    kept = shifted_psnr(frames, prompt, max_shift=2)
    assert kept.shape == (2, 3) and np.all(kept[:, 0] > kept[:, 1]) and np.all(kept[:, 1] > kept[:, 2])
    assert np.all(kept >= psnr(frames, prompt) - 1e-9)  # shift 0 is among the shifts tried


# --- the clip drawn from its own tokens ---------------------------------------------------------
def _tokenizer_world(keep_still_pixels: bool):
    from conftest import make_dynamics, make_lam, make_tokenizer
    from genie_play.world import World

    return World(make_tokenizer(), make_dynamics(), make_lam(), keep_still_pixels=keep_still_pixels)


def test_real_tokens_of_a_still_clip_show_its_first_frame_exactly():
    from conftest import random_frames
    from genie_play.evaluate import drawn_from_real_tokens

    world = _tokenizer_world(True)
    clips = random_frames(2, 1, seed=3).repeat(1, 5, 1, 1, 1)  # (2, 5, 64, 64, 3): nothing moves
    drawn = drawn_from_real_tokens(world, clips, world.tokenizer.encode(clips))
    assert drawn.shape == (2, 4, 64, 64, 3)
    assert np.array_equal(drawn, np.broadcast_to(clips[:, :1].numpy(), drawn.shape))
    assert not np.array_equal(world.tokenizer.decode(world.tokenizer.encode(clips[:, 0])).numpy(), clips[:, 0].numpy())


def test_real_tokens_keep_pixels_where_a_token_stayed_and_decode_the_rest():
    import torch

    from conftest import random_frames
    from genie_play.evaluate import drawn_from_real_tokens

    clips = random_frames(1, 3, seed=5)
    clips[:, 1, :32] = clips[:, 0, :32]  # the top half of frame 1 as in frame 0
    for keep in (True, False):
        world = _tokenizer_world(keep)
        tokens = world.tokenizer.encode(clips)
        drawn = torch.from_numpy(drawn_from_real_tokens(world, clips, tokens))
        decoded = world.tokenizer.decode(tokens[:, 1:])
        if not keep:
            assert torch.equal(drawn, decoded)
            continue
        still = world.tokenizer.still_pixels(tokens[:, 1], tokens[:, 0])[:, 0].bool()  # (1, H, W)
        assert still[:, :32].all() and not still[:, 40:48].any()  # the top half's tokens stayed, a row below did not
        assert torch.equal(drawn[:, 0, :28], clips[:, 0, :28])  # away from the seam, feathered over a few pixels
        assert torch.equal(drawn[:, 0, 43:45], decoded[:, 0, 43:45])

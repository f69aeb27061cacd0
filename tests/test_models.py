"""Tokenizer, LAM, FSQ, dynamics causality, cached vs uncached dynamics, and the KV cache."""

import inspect

import pytest
import torch

from conftest import make_dynamics, make_lam, make_tokenizer, random_frames, tiny_tokenizer_config
from genie_play.models import LatentActionModel, Tokenizer
from genie_play.models.lam import LAMConfig, mirror_code, window_index
from genie_play.models.layers import KVCache, apply_rotary, rotary_at, rotary_tables
from genie_play.models.quantize import FSQ


# --- FSQ ----------------------------------------------------------------------------------------
def test_fsq_indices_round_trip_every_code():
    q = FSQ([3, 4, 2])
    assert q.codebook_size == 24
    idx = torch.arange(24)
    codes = q.indices_to_codes(idx)
    assert codes.shape == (24, 3)
    assert codes.min() >= -1 and codes.max() <= 1
    assert len({tuple(c.tolist()) for c in codes}) == 24  # every index names a different code
    # Feeding a pre-activation that lands on each code gives the same index back.
    z = torch.atanh(codes * 0.98)
    out_codes, out_idx = q(z)
    assert torch.equal(out_idx, idx)
    torch.testing.assert_close(out_codes, codes, atol=1e-6, rtol=0)


def test_fsq_forward_codes_match_indices_to_codes():
    q = FSQ([8, 5, 5, 5])
    z = torch.randn(2, 5, 7, 4, generator=torch.Generator().manual_seed(0)) * 2
    codes, idx = q(z)
    assert idx.dtype == torch.int64 and idx.shape == (2, 5, 7)
    assert idx.min() >= 0 and idx.max() < 1000
    torch.testing.assert_close(q.indices_to_codes(idx), codes, atol=1e-6, rtol=0)


def test_fsq_straight_through_gradient():
    q = FSQ([5, 5])
    z = torch.randn(6, 2, requires_grad=True)
    codes, _ = q(z)
    codes.sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and (z.grad.abs() > 0).all()


# --- tokenizer ------------------------------------------------------------------------------------
@pytest.mark.parametrize("patch", [4, 8])
def test_tokenizer_encode_decode_shapes(patch):
    tok = make_tokenizer(patch=patch)
    g = 64 // patch
    assert tok.config.grid == g
    frames = random_frames(2, 3)
    tokens = tok.encode(frames)
    assert tokens.shape == (2, 3, g * g) and tokens.dtype == torch.int64
    assert tokens.min() >= 0 and tokens.max() < tok.config.vocab_size
    assert len(tokens.unique()) > 1
    out = tok.decode(tokens)
    assert out.shape == (2, 3, 64, 64, 3) and out.dtype == torch.uint8
    # no leading dims, too
    single = tok.encode(frames[0, 0])
    assert single.shape == (g * g,)
    assert torch.equal(single, tokens[0, 0])
    assert tok.decode(single).shape == (64, 64, 3)


def test_tokenizer_rejects_other_patch_sizes():
    with pytest.raises(ValueError):
        tiny_tokenizer_config(patch=16)


def test_tokenizer_forward_indices_match_encode_and_codes_round_trip():
    tok = make_tokenizer()
    frames = random_frames(3, seed=3)
    z = tok.encoder(frames.movedim(-1, -3).float() / 127.5 - 1).movedim(1, -1)
    codes, indices = tok.quantizer(z)
    torch.testing.assert_close(tok.quantizer.indices_to_codes(indices), codes, atol=1e-6, rtol=0)
    _, fwd_indices = tok(frames)
    assert torch.equal(fwd_indices, indices)
    assert torch.equal(tok.encode(frames), indices.flatten(1))
    # decode() is the decoder applied to those codes
    expected = ((tok.decoder(codes.movedim(-1, 1)).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).movedim(-3, -1)
    assert torch.equal(tok.decode(indices.flatten(1)), expected)


def test_tokenizer_forward_backward_finite_grads():
    tok = make_tokenizer().train()
    frames = random_frames(2, seed=4)
    recon, indices = tok(frames)
    assert recon.shape == (2, 3, 64, 64)
    assert indices.shape == (2, 8, 8)
    target = frames.movedim(-1, -3).float() / 127.5 - 1
    loss = (recon - target).pow(2).mean()
    loss.backward()
    grads = [p.grad for p in tok.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert tok.encoder[0].weight.grad.abs().sum() > 0  # gradient reaches the encoder through FSQ


# --- LAM --------------------------------------------------------------------------------------------
def test_lam_infer_actions_shape_and_range():
    lam = make_lam()
    clip = random_frames(2, 5, seed=5)
    actions = lam.infer_actions(clip)
    assert actions.shape == (2, 4) and actions.dtype == torch.int64
    assert actions.min() >= 0 and actions.max() < 8
    assert lam.config.num_actions == 8
    assert lam.quantizer.codebook_size == 8


def test_lam_eight_codes_reachable_in_index_order():
    lam = make_lam()
    codes = lam.quantizer.indices_to_codes(torch.arange(8))
    assert len({tuple(c.tolist()) for c in codes}) == 8
    # each code, fed back as an encoder output, is quantized to its own index
    _, idx = lam.quantizer(torch.atanh(codes * 0.9))
    assert torch.equal(idx, torch.arange(8))
    # each code gives the decoder a different prediction
    history = random_frames(1, lam.config.window - 1, seed=6)[:, None].expand(8, 1, -1, 64, 64, 3)
    with torch.no_grad():
        pred = lam.decode(history, codes[:, None])
    assert pred.shape == (8, 1, 3, 64, 64)
    flat = pred.flatten(1)
    assert all(not torch.allclose(flat[i], flat[j]) for i in range(8) for j in range(i + 1, 8))


def test_lam_takes_no_ground_truth_action():
    signatures = {fn.__name__: list(inspect.signature(fn).parameters)
                  for fn in (LatentActionModel.forward, LatentActionModel.encode, LatentActionModel.infer_actions,
                             LatentActionModel.decode, LatentActionModel.windows)}
    assert signatures == {"forward": ["self", "windows"], "encode": ["self", "windows"],
                          "infer_actions": ["self", "clip", "first"], "decode": ["self", "history", "codes"],
                          "windows": ["self", "frames", "first"]}


def test_lam_forward_backward():
    lam = make_lam().train()
    clip = random_frames(2, 5, seed=8)
    windows = lam.windows(clip)
    assert windows.shape == (2, 4, 4, 64, 64, 3)
    pred, z, actions = lam(windows)
    assert pred.shape == (2, 4, 3, 64, 64)
    assert z.shape == (2, 4, 3)
    assert actions.shape == (2, 4)
    target = clip[:, 1:].movedim(-1, -3).float() / 127.5 - 1
    ((pred - target) ** 2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in lam.parameters())
    assert lam.encoder[0].weight.grad.abs().sum() > 0


def test_window_index_repeats_the_first_frame_of_clip_and_episode():
    assert window_index(5, 4).tolist() == [[[0, 0, 0, 1], [0, 0, 1, 2], [0, 1, 2, 3], [1, 2, 3, 4]]]
    assert window_index(4, 2).tolist() == [[[0, 1], [1, 2], [2, 3]]]  # no context: plain pairs
    first = torch.tensor([[False, False, False, True, False, False], [True, False, False, False, False, False]])
    index = window_index(6, 3, first)
    assert index[0].tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [3, 3, 4], [3, 4, 5]]  # episode starts at 3
    assert index[1].tolist() == window_index(6, 3)[0].tolist()


@pytest.mark.parametrize("context", [0, 2])
def test_lam_action_reads_only_its_window(context):
    lam = make_lam(context=context)
    clip = random_frames(1, 8, seed=9)
    base = lam.infer_actions(clip)
    t = 4  # the action from frame 4 to 5 reads frames 4-context .. 5
    for changed in range(8):
        other = clip.clone()
        other[0, changed] = 255 - other[0, changed]
        moved = lam.infer_actions(other)[0, t] != base[0, t]
        z_old = lam.encode(lam.windows(clip))[0][0, t]
        z_new = lam.encode(lam.windows(other))[0][0, t]
        inside = t - context <= changed <= t + 1
        assert torch.equal(z_old, z_new) != inside, (changed, moved)


def test_lam_episode_start_cuts_the_context():
    lam = make_lam(context=2)
    clip = random_frames(1, 6, seed=10)
    first = torch.tensor([[True, False, False, True, False, False]])
    actions = lam.infer_actions(clip, first)
    assert torch.equal(actions[0, 3:], lam.infer_actions(clip[:, 3:])[0])  # as if the clip began at frame 3


@pytest.mark.parametrize("context", [0, 2])
def test_mirror_lam_gives_a_mirrored_transition_the_mirrored_code(context):
    torch.manual_seed(3)
    lam = LatentActionModel(LAMConfig(channels=8, depth=1, context=context, mirror=True)).eval()
    clip = random_frames(3, 7, seed=12)
    with torch.no_grad():
        z = lam.encode(lam.windows(clip))[0]
        z_mirrored = lam.encode(lam.windows(clip.flip(3)))[0]
    torch.testing.assert_close(z_mirrored[..., 0], -z[..., 0])  # the first dim is odd under the mirror
    torch.testing.assert_close(z_mirrored[..., 1:], z[..., 1:])  # the others are even
    assert torch.equal(lam.infer_actions(clip.flip(3)), mirror_code(lam.infer_actions(clip)))
    assert torch.equal(mirror_code(torch.arange(8)), torch.tensor([1, 0, 3, 2, 5, 4, 7, 6]))


def test_plain_lam_is_not_mirror_symmetric():
    lam = make_lam(context=0)
    clip = random_frames(3, 7, seed=12)
    with torch.no_grad():
        z, z_mirrored = lam.encode(lam.windows(clip))[0], lam.encode(lam.windows(clip.flip(3)))[0]
    assert not torch.allclose(z_mirrored[..., 0], -z[..., 0])


# --- dynamics: causality --------------------------------------------------------------------------
def _random_tokens(dyn, B, T, seed):
    g = torch.Generator().manual_seed(seed)
    c = dyn.config
    tokens = torch.randint(0, c.vocab_size, (B, T, c.tokens_per_frame), generator=g)
    actions = torch.randint(0, c.num_actions, (B, T - 1), generator=g)
    return tokens, actions


# A dynamics that holds 2x2 tokens of a patch-4 tokenizer (16x16 tokens) per position, next to the plain one.
SHAPES = {"plain": {}, "grouped": {"patch": 4, "group": 2}}


@pytest.mark.parametrize("shape", SHAPES)
def test_dynamics_forward_shape(shape):
    dyn = make_dynamics(**SHAPES[shape])
    tokens, actions = _random_tokens(dyn, 2, 4, 0)
    with torch.no_grad():
        logits = dyn(tokens, actions)
    assert logits.shape == (2, 4, dyn.config.tokens_per_frame, dyn.config.vocab_size)
    assert torch.isfinite(logits).all()


def test_grouped_dynamics_packs_each_square_of_tokens_into_one_position():
    dyn = make_dynamics(patch=4, group=2)
    raster = torch.arange(256).view(1, 256, 1)  # token i of a 16x16 grid, as a 1-dim "embedding"
    packed = dyn._to_positions(raster)  # (1, 64, 4)
    assert packed.shape == (1, 64, 4)
    assert packed[0, 0].tolist() == [0, 1, 16, 17] and packed[0, 9].tolist() == [34, 35, 50, 51]
    assert torch.equal(dyn._to_tokens(packed), raster)


def test_dynamics_refuses_a_group_that_does_not_tile_the_grid():
    with pytest.raises(ValueError, match="3x3 groups"):
        make_dynamics(group=3)


@pytest.mark.parametrize("shape", SHAPES)
def test_dynamics_logits_at_chosen_positions_match_the_full_output(shape):
    dyn = make_dynamics(**SHAPES[shape])
    tokens, actions = _random_tokens(dyn, 2, 4, 0)
    at = torch.rand(tokens.shape, generator=torch.Generator().manual_seed(0)) < 0.3
    with torch.no_grad():
        picked = dyn(tokens, actions, at)
        full = dyn(tokens, actions)
    assert picked.shape == (int(at.sum()), dyn.config.vocab_size)
    torch.testing.assert_close(picked, full[at], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("t", [0, 1, 2])
def test_dynamics_is_causal_in_time(t, shape):
    dyn = make_dynamics(**SHAPES[shape])
    tokens, actions = _random_tokens(dyn, 2, 4, 1)
    with torch.no_grad():
        base = dyn(tokens, actions)

        later = tokens.clone()
        later[:, t + 1:] = (later[:, t + 1:] + 1) % dyn.config.vocab_size
        later[:, t + 1, :5] = dyn.config.mask_id
        out = dyn(later, actions)
        torch.testing.assert_close(out[:, : t + 1], base[:, : t + 1], atol=1e-6, rtol=0)
        assert not torch.allclose(out[:, t + 1], base[:, t + 1], atol=1e-3)

        later_action = actions.clone()
        later_action[:, t:] = (later_action[:, t:] + 3) % dyn.config.num_actions
        out = dyn(tokens, later_action)
        torch.testing.assert_close(out[:, : t + 1], base[:, : t + 1], atol=1e-6, rtol=0)
        assert not torch.allclose(out[:, t + 1], base[:, t + 1], atol=1e-3)


@pytest.mark.parametrize("t", [0, 1, 2])
def test_dynamics_frame_t_changes_next_frame(t):
    dyn = make_dynamics()
    tokens, actions = _random_tokens(dyn, 1, 4, 2)
    with torch.no_grad():
        base = dyn(tokens, actions)
        changed = tokens.clone()
        changed[:, t] = (changed[:, t] + 5) % dyn.config.vocab_size
        out = dyn(changed, actions)
    torch.testing.assert_close(out[:, :t], base[:, :t], atol=1e-6, rtol=0)
    assert not torch.allclose(out[:, t + 1], base[:, t + 1], atol=1e-3)


@pytest.mark.parametrize("shape", SHAPES)
def test_dynamics_training_backward(shape):
    dyn = make_dynamics(**SHAPES[shape]).train()
    tokens, actions = _random_tokens(dyn, 2, 4, 3)
    logits = dyn(tokens, actions)
    torch.nn.functional.cross_entropy(logits.flatten(0, 2), tokens.flatten()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in dyn.parameters())


# --- dynamics: cached == uncached -------------------------------------------------------------------
def _cache_over(dyn, tokens, actions, upto):
    """A cache with frames 0..upto pushed (frame 0 with the no-action code)."""
    B = tokens.shape[0]
    cache = dyn.new_cache(B)
    full_actions = torch.cat([torch.full((B, 1), dyn.config.no_action), actions], dim=1)
    for i in range(upto + 1):
        dyn.push_frame(tokens[:, i], full_actions[:, i], cache)
    return cache


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layers", [1, 2])
def test_cached_frame_logits_equal_uncached_forward(layers, shape):
    dyn = make_dynamics(layers=layers, window=4, **SHAPES[shape])
    W = dyn.config.window
    tokens, actions = _random_tokens(dyn, 2, W, 4)
    # the new frame is partly masked, as during MaskGIT decoding
    tokens[:, :, ::3] = dyn.config.mask_id
    with torch.no_grad():
        for t in range(W - 1):  # frames 0..t cached, frame t+1 new; t+2 <= window frames
            cache = _cache_over(dyn, tokens, actions, t)
            assert cache.length == t + 1
            cached = dyn.frame_logits(tokens[:, t + 1], actions[:, t], cache)
            assert cache.length == t + 1  # frame_logits leaves the cache alone
            full = dyn(tokens[:, : t + 2], actions[:, : t + 1])[:, t + 1]
            torch.testing.assert_close(cached, full, atol=1e-4, rtol=0)
            # and it differs from what another action would give (the comparison can fail)
            other = dyn.frame_logits(tokens[:, t + 1], (actions[:, t] + 1) % 8, cache)
            assert not torch.allclose(other, full, atol=1e-3)


def test_cache_slides_with_flat_memory():
    dyn = make_dynamics(layers=2, window=4)
    W = dyn.config.window
    T = 3 * W
    tokens, actions = _random_tokens(dyn, 1, T, 5)
    full_actions = torch.cat([torch.full((1, 1), dyn.config.no_action), actions], dim=1)
    with torch.no_grad():
        cache = dyn.new_cache(1)
        assert cache.window == W - 1
        shape, ptr = cache.k.shape, cache.k.data_ptr()
        for i in range(T):
            dropped = dyn.push_frame(tokens[:, i], full_actions[:, i], cache)
            assert (dropped is None) == (i < W - 1)
            assert cache.length == min(i + 1, W - 1)
            assert cache.k.shape == shape and cache.v.shape == shape and cache.k.data_ptr() == ptr
        # the slid cache still gives finite logits of the right shape
        logits = dyn.frame_logits(tokens[:, 0], actions[:, 0], cache)
    assert logits.shape == (1, 64, dyn.config.vocab_size) and torch.isfinite(logits).all()


def test_rotary_at_absolute_positions_depends_on_the_distance_only():
    """The cache rotates each key once, at its frame's absolute position, which grows without bound in a
    long session: q at p + d against k at p must score as q at d against k at 0, even for p = 10^7."""
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(5, 2, 1, 32, generator=g), torch.randn(5, 2, 1, 32, generator=g)

    def score(pq, pk):
        cq, sq = rotary_at(torch.tensor(pq), 32)
        ck, sk = rotary_at(torch.tensor(pk), 32)
        return (apply_rotary(q, cq, sq) * apply_rotary(k, ck, sk)).sum(-1)

    for d in (0, 1, 7, 14):
        torch.testing.assert_close(score(10_000_000 + d, 10_000_000), score(d, 0), atol=1e-4, rtol=0)
    table_cos, table_sin = rotary_tables(16, 32)  # what training uses, positions 0..15
    cos, sin = rotary_at(torch.tensor(9), 32)
    torch.testing.assert_close(cos[0], table_cos[9], atol=1e-6, rtol=0)
    torch.testing.assert_close(sin[0], table_sin[9], atol=1e-6, rtol=0)
    assert not torch.allclose(score(3, 0), score(4, 0), atol=1e-3)


def test_one_layer_slid_cache_equals_fresh_cache():
    # With one layer nothing in the cache depends on older context, so the slid cache is exact.
    dyn = make_dynamics(layers=1, window=3)
    tokens, actions = _random_tokens(dyn, 2, 7, 6)
    full_actions = torch.cat([torch.full((2, 1), dyn.config.no_action), actions], dim=1)
    with torch.no_grad():
        cache = _cache_over(dyn, tokens, actions, 5)
        fresh = dyn.new_cache(2)
        for i in (4, 5):
            dyn.push_frame(tokens[:, i], full_actions[:, i], fresh)
        a = dyn.frame_logits(tokens[:, 6], actions[:, 5], cache)
        b = dyn.frame_logits(tokens[:, 6], actions[:, 5], fresh)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


# --- KV cache push / pop ----------------------------------------------------------------------------
def _snapshot(cache):
    return (cache.length, int(cache.position)), [tuple(t.clone() for t in cache.past(i)) for i in range(cache.k.shape[0])]


def _assert_same(a, b):
    assert a[0] == b[0]
    for (ka, va), (kb, vb) in zip(a[1], b[1]):
        assert torch.equal(ka, kb) and torch.equal(va, vb)


def test_kvcache_pop_restores_exactly():
    g = torch.Generator().manual_seed(0)
    cache = KVCache(layers=2, rows=3, heads=2, window=3, head_dim=4, device="cpu", dtype=torch.float32)
    pushed = []
    for i in range(7):
        before = _snapshot(cache)
        k, v = torch.randn(2, 3, 2, 4, generator=g), torch.randn(2, 3, 2, 4, generator=g)
        dropped = cache.push(k, v)
        pushed.append((before, dropped, k))
        assert cache.length == min(i + 1, 3) and int(cache.position) == i + 1
        assert torch.equal(cache.past(1)[0][:, :, i % 3], k[1])  # frame i sits in ring slot i % window
        if i >= 3:
            assert dropped is not None
            # what was dropped is the oldest frame of before, pushed at i - 3 into the same slot
            assert torch.equal(dropped[0][:, :, :, 0], torch.stack([before[1][layer][0][:, :, i % 3] for layer in range(2)]))
    # undo everything, newest first
    for before, dropped, _ in reversed(pushed):
        cache.pop(dropped)
        _assert_same(_snapshot(cache), before)
    assert cache.length == 0

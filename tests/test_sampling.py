"""MaskGIT decoding and the cosine mask schedule."""

import pytest
import torch

from genie_play.mask_schedule import cosine_schedule, masked_counts
from genie_play.sampling import keep_or_change, maskgit_decode, sample_tokens

V, N, B, MASK = 11, 20, 3, 11


class FixedLogits:
    """A logits function that ignores its input except for recording it: logits (B, N, V)."""

    def __init__(self, seed=0, scale=1.0):
        self.logits = torch.randn(B, N, V, generator=torch.Generator().manual_seed(seed)) * scale
        self.calls = []

    def __call__(self, tokens):
        self.calls.append(tokens.clone())
        return self.logits.clone()


def decode(fn, steps=4, temperature=1.0, seed=0, generator="default"):
    gen = torch.Generator().manual_seed(seed) if generator == "default" else generator
    return maskgit_decode(fn, B, N, MASK, steps, temperature, gen)


# --- schedule ---------------------------------------------------------------------------------------
def test_cosine_schedule_endpoints():
    assert cosine_schedule(0.0) == pytest.approx(1.0)
    assert cosine_schedule(1.0) == pytest.approx(0.0, abs=1e-12)
    assert cosine_schedule(0.25) > cosine_schedule(0.5) > cosine_schedule(0.75)


@pytest.mark.parametrize("num_tokens", [1, 2, 7, 64, 256])
@pytest.mark.parametrize("steps", [1, 2, 4, 8, 12])
def test_masked_counts_strictly_decreasing_to_zero(num_tokens, steps):
    counts = masked_counts(num_tokens, steps)
    assert len(counts) == steps
    assert counts[-1] == 0
    assert all(0 <= c < num_tokens for c in counts)
    if steps <= num_tokens:
        assert all(a > b for a, b in zip(counts, counts[1:])), counts
    else:  # more steps than tokens: can't strictly decrease; it still never goes up
        assert all(a >= b for a, b in zip(counts, counts[1:])), counts


def test_masked_counts_cosine_shape():
    assert masked_counts(64, 4) == [59, 45, 24, 0]


# --- sampler -----------------------------------------------------------------------------------------
def test_same_seed_same_tokens():
    a = decode(FixedLogits(), seed=5)
    b = decode(FixedLogits(), seed=5)
    assert torch.equal(a, b)


def test_different_seed_different_tokens():
    base = decode(FixedLogits(), seed=0)
    assert any(not torch.equal(base, decode(FixedLogits(), seed=s)) for s in range(1, 4))


def test_default_generator_none_works():
    out = maskgit_decode(FixedLogits(), B, N, MASK, 3, 1.0, None)
    assert out.shape == (B, N) and (out != MASK).all()


def test_temperature_zero_is_argmax_and_ignores_generator():
    fn = FixedLogits(seed=1)
    g1 = torch.Generator().manual_seed(1)
    state = g1.get_state()
    a = decode(fn, temperature=0.0, generator=g1)
    assert torch.equal(g1.get_state(), state)  # no random numbers drawn
    b = decode(FixedLogits(seed=1), temperature=0.0, seed=999)
    assert torch.equal(a, b)
    assert torch.equal(a, fn.logits.argmax(-1))


def test_low_temperature_approaches_argmax():
    fn = FixedLogits(seed=2, scale=3.0)
    out = decode(fn, temperature=1e-4, seed=3)
    assert torch.equal(out, fn.logits.argmax(-1))


@pytest.mark.parametrize("steps", [1, 3, 8])
def test_honours_step_count_and_fills_every_token(steps):
    fn = FixedLogits()
    out = decode(fn, steps=steps)
    assert len(fn.calls) == steps
    assert out.shape == (B, N) and out.dtype == torch.int64
    assert (out != MASK).all()
    assert out.min() >= 0 and out.max() < V
    # the first call sees a fully masked frame; each later call sees exactly the scheduled masks
    assert (fn.calls[0] == MASK).all()
    expected = masked_counts(N, steps)
    for call, still in zip(fn.calls[1:], expected):
        assert ((call == MASK).sum(1) == still).all()


def test_fixed_tokens_stay_fixed():
    fn = FixedLogits()
    out = decode(fn, steps=5)
    for earlier, later in zip(fn.calls, fn.calls[1:] + [out]):
        fixed = earlier != MASK
        assert torch.equal(later[fixed], earlier[fixed])


def test_more_steps_than_tokens_still_fills_everything():
    fn = FixedLogits()
    out = maskgit_decode(fn, B, N, MASK, N + 5, 1.0, torch.Generator().manual_seed(0))
    assert len(fn.calls) == N + 5
    assert (out != MASK).all()


@pytest.mark.parametrize("steps", [0, -1])
def test_steps_below_one_raise(steps):
    with pytest.raises(ValueError):
        decode(FixedLogits(), steps=steps)


def test_sample_tokens_confidence_is_logprob_of_sample():
    logits = torch.randn(2, 5, 7, generator=torch.Generator().manual_seed(0))
    tokens, conf = sample_tokens(logits, 1.0, torch.Generator().manual_seed(1))
    logp = torch.log_softmax(logits, -1)
    torch.testing.assert_close(conf, logp.gather(-1, tokens[..., None])[..., 0])


def test_sample_tokens_distribution_follows_softmax():
    logits = torch.tensor([[[0.0, 1.0, 2.0]]]).expand(1, 6000, 3).contiguous()
    tokens, _ = sample_tokens(logits, 1.0, torch.Generator().manual_seed(0))
    freq = torch.bincount(tokens.flatten(), minlength=3).float() / tokens.numel()
    torch.testing.assert_close(freq, torch.softmax(logits[0, 0], -1), atol=0.03, rtol=0)


@pytest.mark.parametrize("steps", [1, 3])
def test_noise_drawn_ahead_in_step_order_gives_the_same_tokens(steps):
    """What a CUDA graph replays: the draws made before decoding, one (B, N, V) per step, from the same seed."""
    drawn_here = decode(FixedLogits(), seed=4, steps=steps)
    gen = torch.Generator().manual_seed(4)
    noise = torch.empty(steps, B, N, V)
    for step_noise in noise:
        step_noise.uniform_(generator=gen)
    ahead = maskgit_decode(FixedLogits(), B, N, MASK, steps, 1.0, None, noise=noise)
    assert torch.equal(drawn_here, ahead)
    assert not torch.equal(ahead, maskgit_decode(FixedLogits(), B, N, MASK, steps, 1.0, None, noise=noise.flip(-1)))


def test_keep_or_change_keeps_where_keeping_is_likely_enough_and_changes_elsewhere():
    # position 0: keeping (token 1) 40%, the rest spread; position 1: keeping (token 2) 20%, token 0 30%
    probs = torch.tensor([[[0.15, 0.40, 0.15, 0.15, 0.15], [0.30, 0.10, 0.20, 0.20, 0.20]]])
    previous = torch.tensor([[1, 2]])
    plain = sample_tokens(probs.log(), 0.0, None)[0]
    assert plain.tolist() == [[1, 0]]  # argmax keeps position 0 and changes position 1
    at_half = sample_tokens(keep_or_change(probs.log(), previous, 0.5), 0.0, None)[0]
    assert at_half.tolist() == [[0, 0]]  # 40% < 50%: position 0 changes, to the likeliest other token
    low = sample_tokens(keep_or_change(probs.log(), previous, 0.15), 0.0, None)[0]
    assert low.tolist() == [[1, 2]]  # both keep: 40% and 20% are over 15%


def test_keep_or_change_never_samples_the_previous_token_where_it_changes():
    logits = torch.randn(4, 16, 10, generator=torch.Generator().manual_seed(0))
    previous = torch.randint(0, 10, (4, 16), generator=torch.Generator().manual_seed(1))
    forced = keep_or_change(logits, previous, 1.0)  # every position under 100%: every position changes
    for seed in range(5):
        tokens = sample_tokens(forced, 1.0, torch.Generator().manual_seed(seed))[0]
        assert (tokens != previous).all()


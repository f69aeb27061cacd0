"""The World engine: prompts, steps, batches, seeds, undo, cached == uncached generation, loading."""

import dataclasses
import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_dynamics, make_lam, make_tokenizer, random_frames
from genie_play.checkpoint import save_checkpoint
from genie_play.errors import CheckpointError, GenieError
from genie_play.models import Dynamics, LAMConfig, LatentActionModel, Tokenizer
from genie_play.sampling import maskgit_decode
from genie_play.world import World, check_compatible, load_world

from conftest import tiny_dynamics_config, tiny_tokenizer_config


def make_world(seed=0, batch=1, **kw):
    kw.setdefault("maskgit_steps", 3)
    return World(make_tokenizer(), make_dynamics(), make_lam(), seed=seed, batch=batch, **kw)


def assert_frame(frame, shape=(64, 64, 3)):
    assert isinstance(frame, np.ndarray)
    assert frame.shape == shape and frame.dtype == np.uint8


# --- prompts ------------------------------------------------------------------------------------------
def _prompts(tmp_path, prompt_array):
    path = tmp_path / "prompt.png"
    Image.fromarray(prompt_array).save(path)
    rng = np.random.default_rng(0)
    rgba = Image.fromarray(rng.integers(0, 256, (40, 70, 4), dtype=np.uint8), "RGBA")
    gray = Image.fromarray(rng.integers(0, 256, (33, 21), dtype=np.uint8), "L")
    pal = Image.fromarray(rng.integers(0, 256, (45, 45, 3), dtype=np.uint8)).convert("P")
    return {
        "path": path,
        "str path": str(path),
        "pil": Image.fromarray(prompt_array),
        "odd array": rng.integers(0, 256, (37, 91, 3), dtype=np.uint8),
        "tiny array": rng.integers(0, 256, (5, 3, 3), dtype=np.uint8),
        "gray array": rng.integers(0, 256, (17, 29), dtype=np.uint8),
        "L": gray,
        "RGBA": rgba,
        "P": pal,
    }


def test_reset_accepts_many_prompt_kinds(tmp_path, prompt_array):
    world = make_world()
    for name, prompt in _prompts(tmp_path, prompt_array).items():
        frame = world.reset(prompt)
        assert_frame(frame)
        assert world.step_count == 0 and not world.can_undo, name
        assert_frame(world.step(1))


def test_reset_frame_is_the_prompt_itself_or_its_reconstruction(prompt_array):
    assert np.array_equal(make_world().reset(prompt_array), prompt_array)
    frame = make_world(keep_still_pixels=False).reset(prompt_array)
    tok = make_tokenizer()
    expected = tok.decode(tok.encode(torch.from_numpy(prompt_array)[None]))[0].numpy()
    assert np.array_equal(frame, expected)


def test_a_step_that_changes_no_token_shows_the_same_frame_without_decoding(prompt_array):
    world = make_world()
    world.reset(prompt_array)
    still = world.tokens.clone()
    world.sample_tokens = lambda actions: still

    def no_decoding(tokens):
        raise AssertionError("decoded a frame whose tokens did not change")

    world.tokenizer.decode = no_decoding
    assert np.array_equal(world.step(0), prompt_array)
    assert world.frames is not world.history[-1].frames  # a copy: undo history stays intact


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) bool -> True within `radius` pixels (Chebyshev) of a True pixel."""
    padded = np.pad(mask, radius)
    h, w = mask.shape
    return np.any([padded[dy:dy + h, dx:dx + w] for dy in range(2 * radius + 1) for dx in range(2 * radius + 1)], axis=0)


@pytest.mark.parametrize("keep", [True, False])
def test_a_step_keeps_the_pixels_of_patches_whose_token_stayed(prompt_array, keep):
    world = make_world(keep_still_pixels=keep)
    world.reset(prompt_array)
    tokens = world.tokens.clone()  # (1, N): the prompt's tokens
    changed = torch.zeros_like(tokens, dtype=torch.bool)
    changed[0, [0, 5, 9]] = True
    new = torch.where(changed, (tokens + 1) % world.dynamics.config.vocab_size, tokens)
    world.sample_tokens = lambda actions: new
    frame = world.step(0)
    decoded = world.tokenizer.decode(new)[0].numpy()
    grid = world.tokenizer.config.grid
    pixel_changed = changed.reshape(grid, grid).numpy().repeat(64 // grid, 0).repeat(64 // grid, 1)
    if keep:
        near_changed, near_still = dilate(pixel_changed, 2), dilate(~pixel_changed, 2)  # the blend is 5 pixels wide
        assert np.array_equal(frame[~near_changed], prompt_array[~near_changed])
        assert (~near_still).any() and (~near_changed).any()  # both checks below look at some pixels
        assert np.array_equal(frame[~near_still], decoded[~near_still])
        low, high = np.minimum(prompt_array, decoded).astype(int), np.maximum(prompt_array, decoded).astype(int)
        assert ((frame >= low) & (frame <= high)).all()  # in between: a blend of the two
    else:
        assert np.array_equal(frame, decoded)
    assert torch.equal(world.tokens, new)
    world.undo()
    assert torch.equal(world.tokens, tokens) and np.array_equal(world.frame, make_world(keep_still_pixels=keep).reset(prompt_array))


def refining_tokenizer():
    """The tiny tokenizer with a refiner whose output layer is not zero, so it changes what it draws."""
    tokenizer = make_tokenizer()
    refining = Tokenizer(dataclasses.replace(tokenizer.config, refiner_channels=8, refiner_depth=1))
    refining.load_state_dict(tokenizer.state_dict(), strict=False)
    with torch.no_grad():
        refining.refiner.out.weight.normal_(0, 0.2)
    return refining.eval()


def test_a_refiner_redraws_changed_patches_from_the_previous_frame_and_keeps_the_still_ones(prompt_array):
    tokenizer = refining_tokenizer()
    prev = torch.from_numpy(prompt_array)[None]  # (1, H, W, 3)
    prev_tokens = tokenizer.encode(prev)
    assert torch.equal(tokenizer.decode_next(prev_tokens, prev_tokens, prev), prev)  # nothing changed: the frame itself
    tokens = prev_tokens.clone()
    tokens[0, :8] = (tokens[0, :8] + 1) % tokenizer.config.vocab_size  # the top row of 8x8 patches
    frame = tokenizer.decode_next(tokens, prev_tokens, prev)[0].numpy()
    other_prev = prev.flip(1)  # another previous frame: the redrawn row depends on it
    other = tokenizer.decode_next(tokens, prev_tokens, other_prev)[0].numpy()
    plain = make_tokenizer().decode_next(tokens, prev_tokens, prev)[0].numpy()  # the same tokenizer without a refiner
    assert np.array_equal(frame[12:], prompt_array[12:])  # below the row and its 5-pixel seam: kept
    assert not np.array_equal(frame[:6], plain[:6]) and not np.array_equal(frame[:6], other[:6])


def test_a_world_draws_its_frames_with_the_tokenizer_s_refiner(prompt_array):
    tokenizer = refining_tokenizer()
    world = World(tokenizer, make_dynamics(), make_lam(), maskgit_steps=3)
    world.reset(prompt_array)
    before = world.tokens.clone()
    frame = world.step(0)
    assert not torch.equal(world.tokens, before)  # the step changed some tokens
    expected = tokenizer.decode_next(world.tokens, before, torch.from_numpy(prompt_array)[None])[0].numpy()
    assert np.array_equal(frame, expected)


def test_reset_without_prompt_and_step_before_reset_raise():
    world = make_world()
    with pytest.raises(GenieError, match="reset"):
        world.step(0)
    with pytest.raises(GenieError, match="prompt"):
        world.reset()


def test_reset_bad_image_is_a_genie_error(tmp_path):
    world = make_world()
    with pytest.raises(GenieError):
        world.reset(tmp_path / "missing.png")


@pytest.mark.parametrize("action", [-1, 8, 100])
def test_step_action_out_of_range(prompt_array, action):
    world = make_world()
    world.reset(prompt_array)
    with pytest.raises(GenieError, match="latent action"):
        world.step(action)
    assert world.step_count == 0 and not world.can_undo


def test_changed_is_the_share_of_tokens_a_step_rewrote(prompt_array):
    world = make_world(batch=2)
    world.reset(prompt_array)
    before = world.tokens.clone()  # (2, N)
    rewritten = before.clone()
    rewritten[0, :3] = (before[0, :3] + 1) % world.dynamics.config.vocab_size  # 3 positions in world 0, none in 1
    world.sample_tokens = lambda actions: rewritten
    assert world.changed is None  # no step yet
    world.step_batch([0, 0])
    assert world.changed.tolist() == pytest.approx([3 / before.shape[1], 0.0])
    world.undo()
    assert world.changed is None


@pytest.mark.parametrize("threshold, kept", [(1e-9, True), (1.0, False)])
def test_the_keep_threshold_decides_which_tokens_a_step_keeps(prompt_array, threshold, kept):
    world = make_world(keep_threshold=threshold)
    world.reset(prompt_array)
    before = world.tokens.clone()
    world.step(0)
    assert torch.equal(world.tokens, before) if kept else bool((world.tokens != before).all())
    assert world.changed.item() == (0.0 if kept else 1.0)


def test_step_all_actions(prompt_array):
    world = make_world()
    world.reset(prompt_array)
    frames = [world.step(a).copy() for a in range(world.num_actions)]
    for f in frames:
        assert_frame(f)
    assert world.step_count == 8
    assert np.array_equal(world.frame, frames[-1])
    assert len({f.tobytes() for f in frames}) > 1  # generation does not collapse to one frame


# --- seeds ---------------------------------------------------------------------------------------------
def _rollout(world, prompt, actions):
    frames = [world.reset(prompt).copy()]
    frames += [world.step(a).copy() for a in actions]
    return np.stack(frames)


ACTIONS = [0, 3, 5, 1, 7, 2]  # longer than the window: the cache slides


def test_same_seed_same_frames(prompt_array):
    a = _rollout(make_world(seed=11), prompt_array, ACTIONS)
    b = _rollout(make_world(seed=11), prompt_array, ACTIONS)
    assert np.array_equal(a, b)


def test_reset_replays_the_same_frames(prompt_array):
    world = make_world(seed=3)
    a = _rollout(world, prompt_array, ACTIONS)
    frames = [world.reset().copy()] + [world.step(x).copy() for x in ACTIONS]  # reset(None): last prompt
    assert np.array_equal(a, np.stack(frames))


def test_different_seed_different_frames(prompt_array):
    a = _rollout(make_world(seed=0), prompt_array, ACTIONS)
    b = _rollout(make_world(seed=1), prompt_array, ACTIONS)
    assert np.array_equal(a[0], b[0])  # the prompt frame does not depend on the seed
    assert not np.array_equal(a[1:], b[1:])


# --- batches ---------------------------------------------------------------------------------------------
def test_batched_world(prompt_array):
    world = make_world(batch=3)
    world.reset(prompt_array)
    assert world.frames.shape == (3, 64, 64, 3)
    out = world.step_batch([0, 4, 7])
    assert_frame(out, (3, 64, 64, 3))
    assert_frame(world.step(2))
    with pytest.raises(GenieError):
        world.step_batch([0, 1])
    with pytest.raises(GenieError):
        world.step_batch([0, 1, 8])


def test_batched_world_one_prompt_per_world(prompt_array):
    world = make_world(batch=3)
    prompts = [random_frames(seed=s).numpy() for s in (1, 2, 3)]
    first = world.reset(prompts)
    assert np.array_equal(first, world.frames[0])
    assert not np.array_equal(world.frames[0], world.frames[1])
    with pytest.raises(GenieError):
        world.reset(prompts[:2])


# --- undo -----------------------------------------------------------------------------------------------
def _cache_state(world):
    c = world.cache
    return (c.length, int(c.position)), c.k[:, :, :, : c.length].clone(), c.v[:, :, :, : c.length].clone()


@pytest.mark.parametrize("graphed", [False, True])  # True: from 5 steps on, the graph path (stand-in below)
@pytest.mark.parametrize("steps_before", [1, 5])  # before and after the cache slides (window 4)
def test_undo_restores_frame_and_memory_exactly(monkeypatch, prompt_array, steps_before, graphed):
    world = _graphed_world(monkeypatch, seed=2) if graphed else make_world(seed=2)
    world.reset(prompt_array)
    for i in range(steps_before):
        world.step(i % 8)
    frame_before, tokens_before = world.frame.copy(), world.tokens.clone()
    world.settle()  # the current frame enters the cache (step() would do it first thing)
    cache_before = _cache_state(world)
    gen_state = world.generator.get_state()

    stepped = world.step(6).copy()
    world.settle()
    assert world.can_undo
    undone = world.undo()
    assert np.array_equal(undone, frame_before) and torch.equal(world.tokens, tokens_before)
    assert world.step_count == steps_before
    length, k, v = _cache_state(world)
    assert length == cache_before[0] and torch.equal(k, cache_before[1]) and torch.equal(v, cache_before[2])

    # undo does not rewind the random generator; with its state put back the step repeats exactly
    world.generator.set_state(gen_state)
    assert np.array_equal(world.step(6), stepped)


def test_undo_all_the_way_and_depth_limit(prompt_array):
    world = make_world(undo_depth=2)
    first = world.reset(prompt_array).copy()
    assert np.array_equal(world.undo(), first)  # no-op at the start
    frames = [first] + [world.step(a).copy() for a in (1, 2, 3)]
    assert np.array_equal(world.undo(), frames[2])
    assert np.array_equal(world.undo(), frames[1])
    assert not world.can_undo  # only 2 steps kept
    assert np.array_equal(world.undo(), frames[1])


# --- cached World == uncached re-implementation -------------------------------------------------------------
def test_world_generation_equals_uncached_forward(prompt_array):
    seed, steps, temperature = 5, 3, 1.0
    world = make_world(seed=seed, maskgit_steps=steps, temperature=temperature, keep_still_pixels=False)
    tok, dyn = world.tokenizer, world.dynamics
    c = dyn.config
    actions = [2, 6, 1]  # window 4: prompt + 3 frames fill it without sliding
    frames = _rollout(world, prompt_array, actions)

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        history = tok.encode(torch.from_numpy(prompt_array)[None])[:, None]  # (1, 1, N)
        acts = torch.zeros(1, 0, dtype=torch.long)
        expected = [tok.decode(history[:, 0])[0].numpy()]
        for a in actions:
            acts = torch.cat([acts, torch.tensor([[a]])], dim=1)

            def logits_fn(tokens, history=history, acts=acts):
                return dyn(torch.cat([history, tokens[:, None]], dim=1), acts)[:, -1]

            new = maskgit_decode(logits_fn, 1, c.tokens_per_frame, c.mask_id, steps, temperature, gen)
            history = torch.cat([history, new[:, None]], dim=1)
            expected.append(tok.decode(new)[0].numpy())
    assert np.array_equal(frames, np.stack(expected))
    assert len({f.tobytes() for f in expected}) > 2


# --- compatibility and loading --------------------------------------------------------------------------------
def test_check_compatible_accepts_the_tiny_models():
    check_compatible(make_tokenizer(), make_dynamics(), make_lam())
    check_compatible(make_tokenizer(), make_dynamics(), None)


def test_check_compatible_vocab_mismatch():
    cfg = tiny_dynamics_config()
    cfg.vocab_size += 1
    with pytest.raises(CheckpointError, match="vocabularies"):
        check_compatible(make_tokenizer(), Dynamics(cfg), None)


def test_check_compatible_tokens_per_frame_mismatch():
    tok = Tokenizer(tiny_tokenizer_config(patch=4))  # 16x16 = 256 tokens vs 64
    with pytest.raises(CheckpointError, match="tokens a frame"):
        check_compatible(tok, make_dynamics(), None)


def test_check_compatible_num_actions_mismatch():
    lam = LatentActionModel(LAMConfig(channels=8, depth=1, levels=[2, 2]))
    with pytest.raises(CheckpointError, match="latent actions"):
        check_compatible(make_tokenizer(), make_dynamics(), lam)
    with pytest.raises(CheckpointError):
        World(make_tokenizer(), make_dynamics(), lam)


def test_check_compatible_image_size_mismatch():
    lam = LatentActionModel(LAMConfig(image_size=32, channels=8, depth=1))
    with pytest.raises(CheckpointError, match="images"):
        check_compatible(make_tokenizer(), make_dynamics(), lam)


def test_load_world_from_weights_folder(tiny_weights, prompt_array):
    world = load_world(tiny_weights, device="cpu", seed=4)
    assert isinstance(world.lam, LatentActionModel)
    assert world.temperature == 0.7 and world.maskgit_steps == 3  # from the dynamics provenance
    assert world.code_labels == [f"c{i}" for i in range(8)]
    assert world.weights_id == hashlib.sha256((tiny_weights / "dynamics.safetensors").read_bytes()).hexdigest()[:12]
    assert_frame(world.reset(prompt_array))
    assert_frame(world.step(3))
    # the loaded world generates exactly like one built from the same models in memory
    again = load_world(tiny_weights, device="cpu", seed=4, temperature=0.7)
    assert np.array_equal(_rollout(world, prompt_array, [1, 2]), _rollout(again, prompt_array, [1, 2]))
    assert load_world(tiny_weights, device="cpu", temperature=0.0).temperature == 0.0  # kwargs win


def test_load_world_without_lam(tiny_weights):
    assert load_world(tiny_weights, device="cpu", with_lam=False).lam is None
    (tiny_weights / "lam.safetensors").unlink()
    assert load_world(tiny_weights, device="cpu").lam is None


def test_load_world_missing_dynamics(tiny_weights):
    (tiny_weights / "dynamics.safetensors").unlink()
    with pytest.raises(CheckpointError) as info:
        load_world(tiny_weights, device="cpu")
    msg = str(info.value)
    assert "dynamics.safetensors" in msg and "not found" in msg and "\n" not in msg


def test_load_world_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="weights folder not found"):
        load_world(tmp_path / "nowhere", device="cpu")


def test_load_world_mismatched_checkpoints(tiny_weights):
    cfg = tiny_dynamics_config()
    cfg.num_actions = 4
    save_checkpoint(tiny_weights / "dynamics.safetensors", Dynamics(cfg))
    with pytest.raises(CheckpointError, match="latent actions"):
        load_world(tiny_weights, device="cpu")


def test_load_world_swapped_files(tiny_weights):
    (tiny_weights / "dynamics.safetensors").write_bytes((tiny_weights / "lam.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="expected a dynamics"):
        load_world(tiny_weights, device="cpu")


def test_undo_of_an_unsettled_step_leaves_the_cache_alone(prompt_array):
    world = make_world(seed=2)
    world.reset(prompt_array)
    world.step(1)
    world.settle()
    before = _cache_state(world)
    world.step(2)  # its frame is pending, not yet in the cache
    world.undo()
    after = _cache_state(world)
    assert after[0] == before[0] and torch.equal(after[1], before[1])


# --- the steady-state graph path (CUDA graphs), exercised on CPU with a stand-in for the capture ----------
class ReplayedCall:
    """Stands in for graphs.Captured on CPU: runs fn on its static inputs at each call and, like a graph,
    writes the result into the same output tensors every time."""

    captures = 0

    def __init__(self, fn, inputs, warmup=None):
        ReplayedCall.captures += 1
        self.fn, self.inputs, self.result = fn, inputs, None
        (warmup or fn)(**inputs)  # capture warms up first: this must leave the world as it was

    def __call__(self, **values):
        for name, value in values.items():
            self.inputs[name].copy_(value)
        out = self.fn(**self.inputs)
        if self.result is None:
            self.result = out
        else:
            for static, new in zip(self.result if isinstance(self.result, tuple) else (self.result,),
                                   out if isinstance(out, tuple) else (out,)):
                static.copy_(new)
        return self.result


def _graphed_world(monkeypatch, **kw):
    monkeypatch.setattr("genie_play.world.Captured", ReplayedCall)
    world = make_world(**kw)
    world.cuda_graphs = True  # normally CUDA only
    return world


@pytest.mark.parametrize("temperature, steps, keep", [(1.0, 1, True), (0.7, 3, False), (0.0, 2, True)])
def test_graph_path_gives_the_frames_of_the_eager_path(monkeypatch, prompt_array, temperature, steps, keep):
    kw = dict(seed=4, batch=2, temperature=temperature, maskgit_steps=steps, keep_still_pixels=keep)
    eager = _rollout(make_world(**kw), prompt_array, ACTIONS * 2)
    ReplayedCall.captures = 0
    world = _graphed_world(monkeypatch, **kw)
    assert np.array_equal(_rollout(world, prompt_array, ACTIONS * 2), eager)
    assert ReplayedCall.captures == 3  # push, sample, render: captured once, at the first full cache
    assert np.array_equal(_rollout(world, prompt_array, ACTIONS * 2), eager)  # reset keeps the cache storage
    assert ReplayedCall.captures == 3
    world.temperature += 0.5  # a setting baked into the graphs: captured again
    world.step(1)
    assert ReplayedCall.captures == 6


def test_sample_tokens_can_be_called_on_its_own(prompt_array):
    """Outside step(), without the caller entering inference mode (the cache holds inference tensors)."""
    world = make_world(temperature=0.0)
    world.reset(prompt_array)
    tokens = world.sample_tokens(torch.zeros(1, dtype=torch.long))
    assert tokens.shape == (1, 64) and torch.equal(tokens, world.sample_tokens(torch.zeros(1, dtype=torch.long)))


def test_bf16_world_runs_and_is_deterministic(prompt_array):
    world = make_world(seed=1, bf16=True)
    assert not world.cuda_graphs  # graphs are for CUDA only
    a = _rollout(world, prompt_array, ACTIONS)
    assert world.cache.k.dtype == torch.bfloat16
    assert np.array_equal(a, _rollout(make_world(seed=1, bf16=True), prompt_array, ACTIONS))
    assert make_world().cache is None and not make_world().bf16  # fp32 on CPU unless asked
    switched = make_world(seed=1)
    switched.reset(prompt_array)
    switched.bf16 = True  # mid-session: the float32 cache takes bf16 keys until the next reset
    assert_frame(switched.step(3))
    assert_frame(switched.step(5))  # its settle pushes a frame computed in bf16
    switched.reset()
    assert switched.cache.k.dtype == torch.bfloat16

"""Shared tiny fixtures for the core tests: tiny model configs (a few thousand parameters, so the
whole core suite stays fast on a busy 2-core CPU) and a tiny weights folder written with
save_checkpoint into tmp_path."""

import numpy as np
import pytest
import torch

from genie_play.checkpoint import save_checkpoint
from genie_play.models import (
    Dynamics,
    DynamicsConfig,
    LAMConfig,
    LatentActionModel,
    Tokenizer,
    TokenizerConfig,
)

torch.set_num_threads(1)

# vocab 3 * 3 * 2 = 18 (odd levels and an even one), patch 8 -> 8x8 = 64 tokens a frame
TINY_LEVELS = [3, 3, 2]


def tiny_tokenizer_config(patch: int = 8) -> TokenizerConfig:
    return TokenizerConfig(patch=patch, channels=8, latent_channels=8, depth=1, levels=list(TINY_LEVELS))


def tiny_lam_config(context: int = 2) -> LAMConfig:
    return LAMConfig(channels=8, depth=1, levels=[2, 2, 2], context=context)


def tiny_dynamics_config(window: int = 4, layers: int = 2, patch: int = 8, group: int = 1) -> DynamicsConfig:
    tok = tiny_tokenizer_config(patch)
    return DynamicsConfig(vocab_size=tok.vocab_size, tokens_per_frame=tok.grid ** 2, num_actions=8,
                          dim=16, heads=2, layers=layers, window=window, group=group)


def make_tokenizer(seed: int = 0, patch: int = 8) -> Tokenizer:
    torch.manual_seed(seed)
    model = Tokenizer(tiny_tokenizer_config(patch))
    # ResBlocks start as identity (zero last conv); give them weights so every layer matters.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "conv2" in name:
                p.normal_(0, 0.05)
        model.encoder[-1].weight.mul_(20)  # spread the latents over the FSQ levels
    return model.eval()


def make_lam(seed: int = 1, context: int = 2) -> LatentActionModel:
    torch.manual_seed(seed)
    return LatentActionModel(tiny_lam_config(context)).eval()


def make_dynamics(seed: int = 2, **kw) -> Dynamics:
    torch.manual_seed(seed)
    model = Dynamics(tiny_dynamics_config(**kw))
    with torch.no_grad():  # sharper logits than the default init, so sampling is not near-uniform
        model.head.weight.mul_(4)
    return model.eval()


def random_frames(*shape, seed: int = 0) -> torch.Tensor:
    """uint8 frames (*shape, 64, 64, 3) of blocky noise."""
    g = torch.Generator().manual_seed(seed)
    blocks = torch.randint(0, 256, (*shape, 8, 8, 3), generator=g, dtype=torch.uint8)
    return blocks.repeat_interleave(8, -3).repeat_interleave(8, -2)


@pytest.fixture
def tiny_tokenizer() -> Tokenizer:
    return make_tokenizer()


@pytest.fixture
def tiny_lam() -> LatentActionModel:
    return make_lam()


@pytest.fixture
def tiny_dynamics() -> Dynamics:
    return make_dynamics()


@pytest.fixture
def prompt_array() -> np.ndarray:
    return random_frames(seed=7).numpy()


@pytest.fixture
def tiny_weights(tmp_path):
    """A weights folder with tokenizer, lam and dynamics checkpoints of the tiny models."""
    root = tmp_path / "weights"
    save_checkpoint(root / "tokenizer.safetensors", make_tokenizer(), provenance={"note": "tiny test"})
    save_checkpoint(root / "lam.safetensors", make_lam())
    save_checkpoint(root / "dynamics.safetensors", make_dynamics(),
                    provenance={"play": {"temperature": 0.7, "maskgit_steps": 3, "code_labels": [f"c{i}" for i in range(8)]}})
    return root


def write_tiny_data(root, splits=("train", "test"), envs: int = 2, steps: int = 24, seed: int = 0):
    """A data folder as `collect` writes it, without procgen: one CoinRun shard of blocky noise per split,
    each environment one episode of `steps` frames."""
    from genie_play.data.shards import write_shard

    rng = np.random.default_rng(seed)
    for split in splits:
        frames = random_frames(envs, steps, seed=int(rng.integers(1000))).numpy()  # (E, S, 64, 64, 3)
        first = np.zeros((envs, steps), bool)
        first[:, 0] = True
        arrays = {"frames": frames, "actions": rng.integers(0, 15, (envs, steps)), "first": first,
                  "level": np.zeros((envs, steps), np.int64)}
        meta = {"game": "coinrun", "levels": [0, 1], "split": split, "policy": "explore", "seed": seed, "frame_skip": 1}
        write_shard(root / split / f"coinrun-0-1-explore-{split}-00000.npz", arrays, meta)
    return root


def write_two_game_data(root, ninja_variant: str = "default"):
    """write_tiny_data's CoinRun shards plus a ninja shard of other frames in the train split, recorded in
    `ninja_variant`. -> (root, the ninja frames (E, S, 64, 64, 3))."""
    from genie_play.data.shards import read_shard, write_shard

    write_tiny_data(root)
    arrays, meta = read_shard(next((write_tiny_data(root.parent / "other", seed=5) / "train").glob("*.npz")))
    write_shard(root / "train" / "ninja-0-1-explore-train-00000.npz", arrays,
                dict(meta, game="ninja", variant=ninja_variant))
    return root, arrays["frames"]

"""Named model sizes and training settings per stage (and for the camera gate). 'tiny' is for tests, 'cpu' for the 2-core machine,
'gpu' for a CUDA card.
The 'cpu' presets are the CPU recipe: each stage ends on its time budget (tokenizer 50 min, LAM 12 min,
dynamics 150 min; about 3.6 h on 2 cores with pre-tokenising), measured in docs/findings.md.
'cpu-mirror' and 'gpu-mirror' (LAM only) are the same LAM made mirror-symmetric (models/lam.py); 'cpu-plain'
(dynamics only) is the 'cpu' dynamics without the copy path; 'cpu-p4' and 'gpu-p4' (tokenizer only) make one
token of each 4x4-pixel patch instead of 8x8: 16x16 tokens a frame, as many as a dynamics trained on it predicts
('cpu-p4c' and 'gpu-p4c': the same with 12,800 codes instead of 1000);
'cpu-group2' and 'gpu-group2' (dynamics only) hold 2x2 tokens in each transformer position, so a dynamics on a
patch-4 tokenizer runs 64 positions a frame, as on patch 8;
'cpu-refiner' and 'gpu-refiner' add the refiner that draws each new frame from the one before (models/convs.py):
train it alone on a trained tokenizer (`--init T --only refiner`), so that its tokens, and the dynamics, stay;
'tiny-vertical', 'cpu-vertical' and 'gpu-vertical' (gate only) also answer whether the camera moves a view up and down."""

import dataclasses

from genie_play.models import CameraGateConfig, DynamicsConfig, LAMConfig, TokenizerConfig
from genie_play.train.loop import LoopConfig

PRESETS = {
    "tokenizer": {
        "tiny": (TokenizerConfig(channels=16, latent_channels=16, depth=1, levels=[4, 4]), LoopConfig(max_steps=4, batch_size=4, warmup=2, checkpoint_every=2, log_every=1)),
        "cpu": (TokenizerConfig(channels=96, latent_channels=192, depth=2), LoopConfig(max_steps=100_000, batch_size=32, lr=1e-3, warmup=200, max_minutes=50)),
        "gpu": (TokenizerConfig(channels=96, latent_channels=192, depth=2), LoopConfig(max_steps=8000, batch_size=256, lr=1e-3, warmup=300, checkpoint_every=1000)),
    },
    "lam": {
        "tiny": (LAMConfig(channels=16, depth=1, context=2), LoopConfig(max_steps=4, batch_size=4, warmup=2, checkpoint_every=2, log_every=1)),
        "cpu": (LAMConfig(channels=48, depth=2), LoopConfig(max_steps=100_000, batch_size=32, lr=1e-3, warmup=200, max_minutes=12)),
        "gpu": (LAMConfig(channels=48, depth=2), LoopConfig(max_steps=6000, batch_size=256, lr=1e-3, warmup=300, checkpoint_every=1000)),
    },
    "dynamics": {
        "tiny": (DynamicsConfig(dim=32, heads=2, layers=1, window=4, copy_head=True), LoopConfig(max_steps=4, batch_size=4, warmup=2, checkpoint_every=2, log_every=1)),
        "cpu": (DynamicsConfig(dim=192, heads=6, layers=4, window=16, copy_head=True), LoopConfig(max_steps=100_000, batch_size=16, lr=6e-4, warmup=200, max_minutes=150)),
        "cpu-plain": (DynamicsConfig(dim=192, heads=6, layers=4, window=16), LoopConfig(max_steps=100_000, batch_size=16, lr=6e-4, warmup=200, max_minutes=150)),
        "gpu": (DynamicsConfig(dim=192, heads=6, layers=4, window=16, copy_head=True), LoopConfig(max_steps=10000, batch_size=128, lr=6e-4, warmup=300, checkpoint_every=1000)),
    },
    "gate": {
        "tiny": (CameraGateConfig(channels=4, depth=2), LoopConfig(max_steps=4, batch_size=8, warmup=2, checkpoint_every=2, log_every=1)),
        "cpu": (CameraGateConfig(), LoopConfig(max_steps=100_000, batch_size=64, lr=2e-3, warmup=100, max_minutes=6)),
        "gpu": (CameraGateConfig(), LoopConfig(max_steps=4000, batch_size=256, lr=2e-3, warmup=100, checkpoint_every=1000)),
    },
}


def add_variant(stage: str, suffix: str, bases=("cpu", "gpu"), **changes) -> None:
    """'cpu-<suffix>' and 'gpu-<suffix>' (or other `bases`): those presets of `stage`, same schedules, model config changed."""
    for base in bases:
        config, loop = PRESETS[stage][base]
        PRESETS[stage][f"{base}-{suffix}"] = (dataclasses.replace(config, **changes), loop)


add_variant("lam", "mirror", mirror=True)  # the encoder made mirror-symmetric
add_variant("tokenizer", "p4", patch=4)  # 16x16 tokens a frame: better on sketches and photos, 4x the dynamics' tokens
add_variant("tokenizer", "p4c", patch=4, levels=[8, 8, 8, 5, 5])  # the same with 12,800 codes
add_variant("tokenizer", "refiner", refiner_channels=64, refiner_depth=4)  # decode_next sees the previous frame
add_variant("dynamics", "group2", group=2)  # 2x2 tokens a position: a patch-4 tokenizer at about 1.2x the step cost of patch 8
add_variant("gate", "vertical", bases=("tiny", "cpu", "gpu"), vertical=True)  # also: does the camera move it up and down


def preset(stage: str, name: str):
    if stage not in PRESETS:
        raise ValueError(f"unknown stage {stage!r} (choose {', '.join(PRESETS)})")
    if name not in PRESETS[stage]:
        raise ValueError(f"unknown preset {name!r} for {stage} (choose {', '.join(PRESETS[stage])})")
    return PRESETS[stage][name]

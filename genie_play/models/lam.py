"""Latent action model: names the change from frame t to t+1 with one of 8 discrete codes.

Trained as a VQ-VAE (here FSQ with 3 dims x 2 levels = 8 codes): the encoder sees frames t and t+1,
the decoder sees only frame t plus the code and must predict frame t+1, so the code is forced to carry
what changed. No ground-truth action enters the model anywhere.
"""

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from genie_play.models.convs import Upsample, frames_to_input, res_stack
from genie_play.models.quantize import FSQ


@dataclass
class LAMConfig:
    image_size: int = 64
    channels: int = 64  # at image_size / 4
    depth: int = 2
    levels: list[int] = field(default_factory=lambda: [2, 2, 2])

    @property
    def num_actions(self) -> int:
        return math.prod(self.levels)


class LatentActionModel(nn.Module):
    def __init__(self, config: LAMConfig):
        super().__init__()
        self.config = config
        c, depth, g = config.channels, config.depth, config.image_size // 8
        self.encoder = nn.Sequential(
            nn.Conv2d(6, c, 4, stride=4), res_stack(c, depth),
            nn.Conv2d(c, c, 2, stride=2), res_stack(c, depth), nn.SiLU(),
            nn.Conv2d(c, 16, 1), nn.Flatten(), nn.Linear(16 * g * g, 256), nn.SiLU(), nn.Linear(256, len(config.levels)),
        )
        self.quantizer = FSQ(config.levels)
        self.decoder_stem = nn.Conv2d(3, c, 4, stride=4)
        self.action_film = nn.Linear(len(config.levels), 2 * c)
        self.decoder = nn.Sequential(res_stack(c, depth + 1), nn.SiLU(), Upsample(c, 3, 4))

    def encode(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """frames (B, T, H, W, 3) uint8 -> (pre-quantisation z (B, T-1, d), codes (B, T-1, d), actions (B, T-1) int64)."""
        x = frames_to_input(frames)  # (B, T, 3, H, W)
        pairs = torch.cat([x[:, :-1], x[:, 1:]], dim=2).flatten(0, 1)  # (B*(T-1), 6, H, W)
        z = self.encoder(pairs).unflatten(0, (x.shape[0], x.shape[1] - 1))
        codes, actions = self.quantizer(z)
        return z, codes, actions

    def decode(self, frames: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """frames (B, T-1, H, W, 3) uint8 (frame t), codes (B, T-1, d) -> frame t+1 prediction (B, T-1, 3, H, W) in [-1, 1]."""
        x = frames_to_input(frames).flatten(0, 1)
        h = self.decoder_stem(x)
        scale, shift = self.action_film(codes.flatten(0, 1)).chunk(2, dim=-1)
        h = h * (1 + scale[..., None, None]) + shift[..., None, None]
        out = x + self.decoder(h)  # predict the change, not the whole frame
        return out.unflatten(0, codes.shape[:2])

    @torch.no_grad()
    def infer_actions(self, clip: torch.Tensor) -> torch.Tensor:
        """clip (B, T, H, W, 3) uint8 -> latent actions (B, T-1) int64 in [0, num_actions)."""
        return self.encode(clip)[2]

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """frames (B, T, H, W, 3) uint8 -> (prediction of frames 1..T-1 (B, T-1, 3, H, W), z (B, T-1, d), actions (B, T-1))."""
        z, codes, actions = self.encode(frames)
        return self.decode(frames[:, :-1], codes), z, actions

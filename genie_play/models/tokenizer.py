"""Video tokenizer: a frame-level FSQ autoencoder, 64x64 RGB <-> (grid x grid) discrete tokens."""

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from genie_play.models.convs import Upsample, frames_to_input, output_to_frames, res_stack
from genie_play.models.quantize import FSQ


@dataclass
class TokenizerConfig:
    image_size: int = 64
    patch: int = 8  # 4 -> 16x16 tokens, 8 -> 8x8 tokens
    channels: int = 128  # at image_size / 4
    latent_channels: int = 256  # at the token grid when patch == 8
    depth: int = 2  # residual blocks per resolution
    levels: list[int] = field(default_factory=lambda: [8, 5, 5, 5])

    @property
    def grid(self) -> int:
        return self.image_size // self.patch

    @property
    def vocab_size(self) -> int:
        return math.prod(self.levels)

    def __post_init__(self):
        if self.patch not in (4, 8):
            raise ValueError(f"tokenizer patch must be 4 or 8, got {self.patch}")


class Tokenizer(nn.Module):
    def __init__(self, config: TokenizerConfig):
        super().__init__()
        self.config = config
        c, cl, depth = config.channels, config.latent_channels, config.depth
        enc = [nn.Conv2d(3, c, 4, stride=4), res_stack(c, depth)]
        dec = []
        top = c
        if config.patch == 8:
            enc += [nn.Conv2d(c, cl, 2, stride=2), res_stack(cl, depth)]
            dec = [res_stack(cl, depth), Upsample(cl, c, 2)]
            top = cl
        self.encoder = nn.Sequential(*enc, nn.SiLU(), nn.Conv2d(top, len(config.levels), 1))
        self.quantizer = FSQ(config.levels)
        self.decoder = nn.Sequential(
            nn.Conv2d(len(config.levels), top, 3, padding=1),
            *dec,
            res_stack(c, depth + 1),
            nn.SiLU(),
            Upsample(c, 3, 4),
        )

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """frames (B, H, W, 3) uint8 -> (reconstruction (B, 3, H, W) in [-1, 1], indices (B, g, g) int64)."""
        codes, indices = self.quantizer(self.encoder(frames_to_input(frames)).movedim(1, -1))
        return self.decoder(codes.movedim(-1, 1)), indices

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (..., H, W, 3) uint8 -> tokens (..., g*g) int64."""
        lead = frames.shape[:-3]
        z = self.encoder(frames_to_input(frames.reshape(-1, *frames.shape[-3:])))
        _, indices = self.quantizer(z.movedim(1, -1))
        return indices.reshape(*lead, -1)

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (..., g*g) int64 -> frames (..., H, W, 3) uint8."""
        lead, g = tokens.shape[:-1], self.config.grid
        codes = self.quantizer.indices_to_codes(tokens.reshape(-1, g, g)).to(self.decoder[0].weight.dtype)
        out = output_to_frames(self.decoder(codes.movedim(-1, 1)))
        return out.reshape(*lead, *out.shape[-3:])

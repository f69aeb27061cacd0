"""Video tokenizer: a frame-level FSQ autoencoder, 64x64 RGB <-> (grid x grid) discrete tokens."""

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.models.convs import Refiner, Upsample, frames_to_input, output_to_frames, res_stack
from genie_play.models.quantize import FSQ


SEAM_PIXELS = 5  # width of the blend between kept and regenerated patches (odd)


def keep_still(decoded: torch.Tensor, prev: torch.Tensor, still: torch.Tensor) -> torch.Tensor:
    """decoded, prev (B, C, H, W) float on one scale, still (B, 1, H, W) -> prev where the tokens stayed, decoded
    elsewhere, feathered over a few pixels so a kept patch fades into a regenerated neighbour without a seam."""
    weight = F.avg_pool2d(still, SEAM_PIXELS, stride=1, padding=SEAM_PIXELS // 2, count_include_pad=False)
    return torch.lerp(decoded, prev, weight)


@dataclass
class TokenizerConfig:
    image_size: int = 64
    patch: int = 8  # 4 -> 16x16 tokens, 8 -> 8x8 tokens
    channels: int = 128  # at image_size / 4
    latent_channels: int = 256  # at the token grid when patch == 8
    depth: int = 2  # residual blocks per resolution
    levels: list[int] = field(default_factory=lambda: [8, 5, 5, 5])
    refiner_channels: int = 0  # > 0: decode_next also sees the previous frame (models/convs.py Refiner)
    refiner_depth: int = 4

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
        self.refiner = Refiner(config.refiner_channels, config.refiner_depth) if config.refiner_channels else None

    def forward(self, frames: torch.Tensor):
        """frames (B, H, W, 3) uint8 -> (reconstruction (B, 3, H, W) in [-1, 1], indices (B, g, g) int64).
        With a refiner, frame pairs (B, 2, H, W, 3) -> (reconstructions (2B, 3, H, W), indices (2B, g, g), the
        second frame of each pair as decode_next draws it after the first (B, 3, H, W) in [-1, 1])."""
        if frames.ndim == 4:
            codes, indices = self.quantizer(self.encoder(frames_to_input(frames)).movedim(1, -1))
            return self.decoder(codes.movedim(-1, 1)), indices
        B = frames.shape[0]
        recon, indices = self(frames.flatten(0, 1))
        prev_decoded, decoded = recon.detach().unflatten(0, (B, 2)).unbind(1)  # the refiner does not train the decoder
        prev_tokens, tokens = indices.flatten(1).unflatten(0, (B, 2)).unbind(1)
        prev = frames_to_input(frames[:, 0]).to(recon.dtype)
        still = self.still_pixels(tokens, prev_tokens).to(recon.dtype)
        return recon, indices, keep_still(self.refiner(decoded, prev_decoded, prev, still), prev, still)

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
        lead = tokens.shape[:-1]
        out = output_to_frames(self._decode_float(tokens.reshape(-1, tokens.shape[-1])))
        return out.reshape(*lead, *out.shape[-3:])

    @torch.no_grad()
    def decode_next(self, tokens: torch.Tensor, prev_tokens: torch.Tensor, prev_frames: torch.Tensor) -> torch.Tensor:
        """tokens, prev_tokens (B, g*g) int64, prev_frames (B, H, W, 3) uint8: the frame shown before
        -> frames (B, H, W, 3) uint8: the previous pixels wherever the token stayed, decoded pixels elsewhere
        (with a refiner, drawn from the previous frame as well)."""
        still = self.still_pixels(tokens, prev_tokens)  # (B, 1, H, W)
        if self.refiner is None:
            decoded = self.decode(tokens)
        else:
            decoded_both = self._decode_float(torch.cat([tokens, prev_tokens]))  # (2B, 3, H, W)
            decoded, prev_decoded = decoded_both.chunk(2)
            prev = frames_to_input(prev_frames).to(decoded.dtype)
            decoded = output_to_frames(self.refiner(decoded, prev_decoded, prev, still.to(decoded.dtype)))
        pixels = keep_still(decoded.movedim(-1, 1).float(), prev_frames.movedim(-1, 1).float(), still)
        return pixels.round_().to(torch.uint8).movedim(1, -1)

    def still_pixels(self, tokens: torch.Tensor, prev_tokens: torch.Tensor) -> torch.Tensor:
        """tokens, prev_tokens (B, g*g) -> (B, 1, H, W) float: 1 on the pixels of every token that did not change."""
        g, patch = self.config.grid, self.config.patch
        still = (tokens == prev_tokens).reshape(-1, 1, g, g).float()
        return still.repeat_interleave(patch, 2).repeat_interleave(patch, 3)

    def _decode_float(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, g*g) int64 -> (B, 3, H, W) float in about [-1, 1]."""
        g = self.config.grid
        codes = self.quantizer.indices_to_codes(tokens.reshape(-1, g, g)).to(self.decoder[0].weight.dtype)
        return self.decoder(codes.movedim(-1, 1))

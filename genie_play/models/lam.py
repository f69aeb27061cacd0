"""Latent action model: names the change from frame t to t+1 with one of 8 discrete codes.

Trained as a VQ-VAE (here FSQ with 3 dims x 2 levels = 8 codes): the encoder sees frames t-k..t+1, the
decoder sees only frames t-k..t plus the code and must predict frame t+1, so the code is forced to carry
what changed. With k > 0 past frames (`context`) the decoder can carry momentum on by itself, so the code
only has to name what the player changed (as in Genie, whose LAM sees the whole past). No ground-truth
action enters the model anywhere.

With `mirror`, the code knows left from right: the encoder is made exactly equivariant to a left-right mirror
of the frames (the first code dim changes sign, the others stay), so mirroring a transition flips the code's
lowest bit (code c <-> c ^ 1) and one bit of every code has to say which way the change went. Training then
mirrors half of the clips, so the decoder learns the mirrored world too. It is a symmetry of the games, not a
label: the key pressed never enters.
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
    context: int = 0  # frames before t that the encoder and decoder see
    mirror: bool = False  # the first code dim is odd under a left-right mirror of the frames, the others even

    @property
    def num_actions(self) -> int:
        return math.prod(self.levels)

    @property
    def window(self) -> int:
        """Frames one transition reads: t-context .. t+1."""
        return self.context + 2


def window_index(T: int, window: int, first: torch.Tensor | None = None) -> torch.Tensor:
    """-> (B or 1, T-1, window) int64: for transition t, the frames t-window+2 .. t+1. Frames before the clip
    (or before the episode start, where first (B, T) bool marks one) repeat the episode's first frame."""
    t = torch.arange(T - 1)
    idx = t[:, None] + torch.arange(window - 1)[None, :] - (window - 2)  # (T-1, window-1): t-k .. t
    if first is None:
        start = torch.zeros(1, T - 1, dtype=torch.long)
    else:
        first = first.cpu().bool().clone()
        first[:, 0] = True
        marks = torch.where(first, torch.arange(T), torch.zeros_like(first, dtype=torch.long))
        start = marks.cummax(dim=1).values[:, :-1]  # (B, T-1): where frame t's episode began
    past = torch.maximum(idx[None], start[..., None])
    return torch.cat([past, (t + 1)[None, :, None].expand(len(start), -1, -1)], dim=2)


def gather_windows(frames: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """frames (B, T, H, W, 3), index (B or 1, N, window) -> (B, N, window, H, W, 3)."""
    B = frames.shape[0]
    index = index.to(frames.device).expand(B, -1, -1)
    flat = frames[torch.arange(B, device=frames.device)[:, None], index.flatten(1)]  # (B, N*window, H, W, 3)
    return flat.unflatten(1, index.shape[1:])


def mirror_symmetrize(z: torch.Tensor, z_mirrored: torch.Tensor) -> torch.Tensor:
    """z, z_mirrored (..., d): the encoder's output for some frames and for their mirror image -> (..., d) whose
    first dim is odd under the mirror (it changes sign) and whose other dims are even (they stay)."""
    odd = (z[..., :1] - z_mirrored[..., :1]) / 2
    even = (z[..., 1:] + z_mirrored[..., 1:]) / 2
    return torch.cat([odd, even], dim=-1)


def mirror_code(actions: torch.Tensor) -> torch.Tensor:
    """The code a mirror LAM gives the mirror image of a transition with code `actions`: its lowest bit flipped
    (FSQ's first dim is the lowest digit, and with 2 levels a sign change swaps its two values)."""
    return actions ^ 1


class LatentActionModel(nn.Module):
    def __init__(self, config: LAMConfig):
        super().__init__()
        self.config = config
        c, depth, g = config.channels, config.depth, config.image_size // 8
        self.encoder = nn.Sequential(
            nn.Conv2d(3 * config.window, c, 4, stride=4), res_stack(c, depth),
            nn.Conv2d(c, c, 2, stride=2), res_stack(c, depth), nn.SiLU(),
            nn.Conv2d(c, 16, 1), nn.Flatten(), nn.Linear(16 * g * g, 256), nn.SiLU(), nn.Linear(256, len(config.levels)),
        )
        self.quantizer = FSQ(config.levels)
        self.decoder_stem = nn.Conv2d(3 * (config.window - 1), c, 4, stride=4)
        self.action_film = nn.Linear(len(config.levels), 2 * c)
        self.decoder = nn.Sequential(res_stack(c, depth + 1), nn.SiLU(), Upsample(c, 3, 4))

    def windows(self, frames: torch.Tensor, first: torch.Tensor | None = None) -> torch.Tensor:
        """frames (B, T, H, W, 3) uint8 -> every transition's frames (B, T-1, window, H, W, 3)."""
        return gather_windows(frames, window_index(frames.shape[1], self.config.window, first))

    def encode(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """windows (B, N, window, H, W, 3) uint8 -> (pre-quantisation z (B, N, d), codes (B, N, d), actions (B, N) int64)."""
        x = frames_to_input(windows).flatten(2, 3).flatten(0, 1)  # (B*N, 3*window, H, W)
        z = self.encoder(x)
        if self.config.mirror:
            z = mirror_symmetrize(z, self.encoder(x.flip(-1)))
        z = z.unflatten(0, windows.shape[:2])
        codes, actions = self.quantizer(z)
        return z, codes, actions

    def decode(self, history: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """history (B, N, window-1, H, W, 3) uint8 (frames t-k..t), codes (B, N, d) -> frame t+1 (B, N, 3, H, W) in [-1, 1]."""
        x = frames_to_input(history).flatten(0, 1)  # (B*N, window-1, 3, H, W)
        h = self.decoder_stem(x.flatten(1, 2))
        scale, shift = self.action_film(codes.flatten(0, 1)).chunk(2, dim=-1)
        h = h * (1 + scale[..., None, None]) + shift[..., None, None]
        out = x[:, -1] + self.decoder(h)  # predict the change from frame t, not the whole frame
        return out.unflatten(0, codes.shape[:2])

    @torch.no_grad()
    def infer_actions(self, clip: torch.Tensor, first: torch.Tensor | None = None) -> torch.Tensor:
        """clip (B, T, H, W, 3) uint8 (first (B, T) bool marks episode starts) -> latent actions (B, T-1) int64."""
        return self.encode(self.windows(clip, first))[2]

    def forward(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """windows (B, N, window, H, W, 3) uint8 -> (prediction of each last frame (B, N, 3, H, W), z (B, N, d), actions (B, N))."""
        z, codes, actions = self.encode(windows)
        return self.decode(windows[:, :, :-1], codes), z, actions

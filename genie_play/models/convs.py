"""Small convolutional building blocks shared by the tokenizer and the LAM."""

import torch
from torch import nn


class ResBlock(nn.Module):
    """conv3x3 -> SiLU -> conv3x3, residual; the last conv starts at zero so a deep stack starts as identity."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(nn.functional.silu(self.conv1(nn.functional.silu(x))))


def res_stack(channels: int, depth: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(channels) for _ in range(depth)])


class Upsample(nn.Module):
    """Pixel-shuffle upsampling: (B, C_in, H, W) -> (B, C_out, H*f, W*f)."""

    def __init__(self, c_in: int, c_out: int, factor: int):
        super().__init__()
        self.proj = nn.Conv2d(c_in, c_out * factor * factor, 3, padding=1)
        self.shuffle = nn.PixelShuffle(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.proj(x))


def frames_to_input(frames: torch.Tensor) -> torch.Tensor:
    """(..., H, W, 3) uint8 -> (..., 3, H, W) float in [-1, 1]."""
    return frames.movedim(-1, -3).float() / 127.5 - 1


def output_to_frames(x: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) float in [-1, 1] -> (..., H, W, 3) uint8."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).movedim(-3, -1)

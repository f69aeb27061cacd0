"""Small convolutional building blocks shared by the tokenizer and the LAM."""

import torch
import torch.nn.functional as F
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


class Refiner(nn.Module):
    """Corrects a decoded frame with what the previous frame showed, as a video codec predicts a frame from the
    one before: where a token changed, the previous pixels around it (the same sprite a pixel further on, a
    photo's texture) say more than the token's 10 bits. Its 3x3 convolutions work at half resolution
    (pixel-unshuffled), so it sees 4 * depth + 4 pixels each way. The last conv starts at zero: untrained, it
    returns the decoded frame unchanged."""

    def __init__(self, channels: int, depth: int):
        super().__init__()
        self.inp = nn.Conv2d(10 * 4, channels, 3, padding=1)
        self.body = res_stack(channels, depth)
        self.out = nn.Conv2d(channels, 3 * 4, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, decoded: torch.Tensor, prev_decoded: torch.Tensor, prev: torch.Tensor, still: torch.Tensor) -> torch.Tensor:
        """decoded, prev_decoded, prev (B, 3, H, W) in [-1, 1]: the new frame and the previous one decoded from
        their tokens, the previous frame as shown; still (B, 1, H, W) 1 where the token did not change
        -> the new frame (B, 3, H, W)."""
        x = torch.cat([decoded, prev_decoded, prev, still], 1)
        h = self.body(self.inp(F.pixel_unshuffle(x, 2)))
        return decoded + F.pixel_shuffle(self.out(F.silu(h)), 2)

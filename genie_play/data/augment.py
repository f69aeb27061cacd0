"""Colour augmentation, so that colours no game uses still tokenize and move: a random hue rotation, channel
permutation and brightness change per clip (the same for every frame of it)."""

import math

import torch

GREY = torch.full((3,), 1 / math.sqrt(3))


def hue_rotation(angle: torch.Tensor) -> torch.Tensor:
    """angle (B,) radians -> (B, 3, 3) rotations of RGB space about the grey axis (Rodrigues' formula)."""
    k = torch.tensor([[0.0, -GREY[2], GREY[1]], [GREY[2], 0.0, -GREY[0]], [-GREY[1], GREY[0], 0.0]])
    outer = torch.outer(GREY, GREY)
    cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
    return cos * torch.eye(3) + sin * k + (1 - cos) * outer


def random_colour_transforms(batch: int, generator: torch.Generator, share: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (matrices (B, 3, 3), gains (B,)): a `share` of the batch recoloured, the rest the identity."""
    on = torch.rand(batch, generator=generator) < share
    angle = torch.rand(batch, generator=generator) * 2 * math.pi
    perm = torch.stack([torch.randperm(3, generator=generator) for _ in range(batch)])  # (B, 3)
    permute = torch.eye(3)[perm]  # (B, 3, 3): row i picks input channel perm[i]
    matrices = hue_rotation(angle) @ permute
    gains = 0.6 + 0.8 * torch.rand(batch, generator=generator)
    matrices = torch.where(on[:, None, None], matrices, torch.eye(3))
    gains = torch.where(on, gains, torch.ones(batch))
    return matrices, gains


def recolour(frames: torch.Tensor, generator: torch.Generator, share: float = 0.5) -> torch.Tensor:
    """frames (B, ..., H, W, 3) uint8 -> the same shape, each leading item (a frame or a whole clip) recoloured
    with one random transform, a `share` of them; the others unchanged."""
    B = frames.shape[0]
    matrices, gains = random_colour_transforms(B, generator, share)
    x = frames.reshape(B, -1, 3).float()  # (B, P, 3)
    out = torch.einsum("bij,bpj->bpi", matrices.to(frames.device), x) * gains.to(frames.device)[:, None, None]
    return out.clamp_(0, 255).round_().to(torch.uint8).reshape(frames.shape)

"""The camera gate: whether a prompt's view scrolls sideways with the player.

The camera table (genie_play/camera.py) is each code's mean scroll in the games whose view follows the player
sideways. In a game whose view stays put (leaper, climber) that scroll is wrong and costs the world more than
it gains (docs/findings.md). The gate looks at the prompt once, at reset: a small convolutional classifier
trained on frames of games that scroll (and on random drawn pictures and textures, so that a user's sketch or
photo keeps its camera) against frames of games that do not. Where it says "still", the world keeps the view
where the dynamics puts it.
"""

from dataclasses import dataclass

import torch
from torch import nn

from genie_play.models.convs import frames_to_input


@dataclass
class CameraGateConfig:
    image_size: int = 64
    channels: int = 16  # of the first convolution; each of the `depth` halvings doubles them, up to 4x
    depth: int = 4  # stride-2 convolutions before the global average


class CameraGate(nn.Module):
    def __init__(self, config: CameraGateConfig):
        super().__init__()
        self.config = config
        layers, width_in = [], 3
        for i in range(config.depth):
            width = config.channels * min(2 ** i, 4)
            layers += [nn.Conv2d(width_in, width, 4, stride=2, padding=1), nn.GELU()]
            width_in = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width_in, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, H, W, 3) uint8 -> logits (B,) float: > 0 where the view scrolls sideways."""
        x = frames_to_input(frames).to(self.head.weight.dtype)
        return self.head(self.features(x).mean((2, 3))).squeeze(1)

    @torch.no_grad()
    def scrolls(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, H, W, 3) uint8 -> (B,) bool: whether the camera should move each one's view."""
        return self.forward(frames).float() > 0

"""The camera gate: whether a prompt's view scrolls sideways with the player, and whether it is a picture.

The camera table (genie_play/camera.py) is each code's mean scroll in the games whose view follows the player
sideways. In a game whose view stays put (leaper, climber) that scroll is wrong and costs the world more than
it gains (docs/findings.md). The gate looks at the prompt once, at reset: a small convolutional classifier
trained on frames of games that scroll (and on random drawn pictures, textures and crops of photos, so that a
user's sketch or photo keeps its camera) against frames of games that do not. Where it says "still", the world
keeps the view where the dynamics puts it.

A gate with `vertical` answers a second question: whether the camera should also move the view up and down.
In the training games the dynamics moves the view up and down itself (a jump, a fall); on a user's picture it
cannot, and the codes that move the games' view vertically wash the picture instead (docs/findings.md). So
game frames are labelled "no" (but for the flat-colour renders, which look like sketches and get no label) and
the random pictures "yes": the camera carries the vertical part of each code's motion on pictures only.
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
    vertical: bool = False  # a second answer: whether the camera also moves the view up and down


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
        self.vertical_head = nn.Linear(width_in, 1) if config.vertical else None

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, H, W, 3) uint8 -> logits (B, 1 or 2) float: column 0 > 0 where the view scrolls sideways,
        column 1 (with `vertical`) > 0 where the camera also moves it up and down."""
        features = self.features(frames_to_input(frames).to(self.head.weight.dtype)).mean((2, 3))
        heads = (self.head, self.vertical_head) if self.vertical_head is not None else (self.head,)
        return torch.cat([head(features) for head in heads], 1)

    @torch.no_grad()
    def camera_axes(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, H, W, 3) uint8 -> (B, 2) bool: whether the camera moves each one's view sideways, and up
        and down. A gate without `vertical` gives one answer for both axes."""
        says = self.forward(frames).float() > 0  # (B, 1 or 2)
        return says if self.config.vertical else says.expand(-1, 2)

"""Finite scalar quantisation (FSQ, Mentzer et al. 2023): no codebook, so no dead codes."""

import torch
from torch import nn


class FSQ(nn.Module):
    """Rounds each of len(levels) dims to one of levels[i] values in [-1, 1].

    The code index is the mixed-radix number of the per-dim levels.
    """

    def __init__(self, levels: list[int]):
        super().__init__()
        self.levels = list(levels)
        basis = torch.cumprod(torch.tensor([1] + self.levels[:-1], dtype=torch.long), 0)
        self.register_buffer("_levels", torch.tensor(self.levels, dtype=torch.float32), persistent=False)
        self.register_buffer("_basis", basis, persistent=False)

    @property
    def dim(self) -> int:
        return len(self.levels)

    @property
    def codebook_size(self) -> int:
        return int(torch.prod(torch.tensor(self.levels)).item())

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z (..., dim) float -> (codes (..., dim) in [-1, 1] with straight-through grads, indices (...) int64)."""
        top = self._levels - 1
        bounded = (torch.tanh(z.float()) + 1) / 2 * top  # in [0, L-1]
        rounded = bounded.round()
        q = bounded + (rounded - bounded).detach()
        codes = q / top * 2 - 1
        indices = (rounded.long() * self._basis).sum(-1)
        return codes.to(z.dtype), indices

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        """indices (...) int64 -> codes (..., dim) float in [-1, 1]."""
        digits = (indices.unsqueeze(-1) // self._basis) % self._levels.long()
        return digits.float() / (self._levels - 1) * 2 - 1

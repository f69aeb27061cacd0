"""Spatiotemporal transformer blocks: spatial attention within a frame, causal temporal attention
across frames at the same position (with rotary positions), and a KV cache of the last frames."""

import math

import torch
import torch.nn.functional as F
from torch import nn


def rotary_frequencies(head_dim: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """(head_dim / 2,) angle per position of each rotated pair of dims: the one definition that training
    (rotary_tables) and the KV cache (rotary_at) share."""
    return 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=dtype, device=device) / head_dim))


def rotary_tables(length: int, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin tables (length, head_dim) for rotary position embeddings."""
    inv_freq = rotary_frequencies(head_dim)
    angles = torch.arange(length).float()[:, None] * inv_freq[None, :]
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (..., T, hd); cos/sin (T, hd)."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos.to(x.dtype) + torch.cat([-x2, x1], dim=-1) * sin.to(x.dtype)


def rotary_at(position: torch.Tensor, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin (1, head_dim) float32 at an absolute frame position: a () int64 tensor, so that a CUDA graph
    replays it for whatever frame comes next. Angles are reduced modulo 2*pi in float64, exact however
    long a session runs."""
    inv_freq = rotary_frequencies(head_dim, torch.float64, position.device)
    angles = torch.remainder(position.double() * inv_freq, 2 * math.pi)
    angles = torch.cat([angles, angles])[None]
    return angles.cos().float(), angles.sin().float()


def attend_one(q: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor, k_new: torch.Tensor, v_new: torch.Tensor):
    """One query over the cached frames and its own: q, k_new, v_new (R, H, 1, hd), past_k, past_v (R, H, t, hd)
    -> (R, H, 1, hd). Plain matmuls over the cache in place, without copying it: the fused attention kernels
    also cap R below what a large batch of worlds reaches (CUDA: invalid argument at 1024 worlds)."""
    scale = q.shape[-1] ** -0.5
    scores = torch.cat([q @ past_k.transpose(-1, -2), (q * k_new).sum(-1, keepdim=True)], dim=-1) * scale
    weights = scores.softmax(-1).to(v_new.dtype)  # (R, H, 1, t + 1)
    return weights[..., :-1] @ past_v + weights[..., -1:] * v_new


class KVCache:
    """Temporal keys/values of the last `window` frames for every layer, keys rotated at their frame's
    absolute position (attention only sees the differences, so nothing is rotated again as frames age).

    k, v: (L, B*N, H, window, hd), a ring: the frame at absolute position p sits in slot p % window, so
    the newest overwrites the oldest in place and memory never grows. `position` ((), int64, on the
    device) is the absolute position of the next frame, i.e. the frames pushed since clear(). push()
    returns what it overwrote so that pop() can restore it exactly (undo).
    """

    def __init__(self, layers: int, rows: int, heads: int, window: int, head_dim: int, device, dtype):
        shape = (layers, rows, heads, window, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.position = torch.zeros((), dtype=torch.long, device=device)
        self.length = 0

    @property
    def window(self) -> int:
        return self.k.shape[3]

    def clear(self) -> None:
        """Forgets every frame; the storage stays where it is (a CUDA graph may be reading it)."""
        self.length = 0
        self.position.zero_()

    def past(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values (B*N, H, length, hd) of the cached frames, in ring order (attention needs none)."""
        return self.k[layer, :, :, : self.length], self.v[layer, :, :, : self.length]

    def push(self, k_new: torch.Tensor, v_new: torch.Tensor, keep_dropped: bool = True):
        """k_new, v_new (L, B*N, H, hd): one frame. Returns the dropped frame's (k, v), or None when nothing
        dropped out or keep_dropped is False (no undo wanted, no copy made)."""
        slot = (self.position % self.window).reshape(1)
        dropped = None
        if self.length == self.window and keep_dropped:
            dropped = (self.k.index_select(3, slot), self.v.index_select(3, slot))
        self.k.index_copy_(3, slot, k_new.unsqueeze(3).to(self.k.dtype))  # e.g. bf16 keys into a float32 cache
        self.v.index_copy_(3, slot, v_new.unsqueeze(3).to(self.v.dtype))
        self.position += 1
        self.length = min(self.length + 1, self.window)
        return dropped

    def pop(self, dropped) -> None:
        """Undoes the last push, restoring the frame it dropped."""
        self.position -= 1
        if dropped is None:
            self.length -= 1
        else:
            slot = (self.position % self.window).reshape(1)
            self.k.index_copy_(3, slot, dropped[0])
            self.v.index_copy_(3, slot, dropped[1])


class SpatialAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (S, N, d) -> (S, N, d): full attention among the N tokens of each frame."""
        q, k, v = self.qkv(x).unflatten(-1, (3, self.heads, -1)).permute(2, 0, 3, 1, 4)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2))


class TemporalAttention(nn.Module):
    def __init__(self, dim: int, heads: int, window: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        cos, sin = rotary_tables(window, dim // heads)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def split(self, x: torch.Tensor):
        """x (R, T, d) -> q, k, v (R, H, T, hd)."""
        return self.qkv(x).unflatten(-1, (3, self.heads, -1)).permute(2, 0, 3, 1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (R, T, d) -> (R, T, d): causal attention along time, R = B*N positions."""
        q, k, v = self.split(x)
        T = x.shape[1]
        cos, sin = self.cos[:T], self.sin[:T]
        out = F.scaled_dot_product_attention(apply_rotary(q, cos, sin), apply_rotary(k, cos, sin), v, is_causal=True)
        return self.proj(out.transpose(1, 2).flatten(2))

    def forward_cached(self, x: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor, cos: torch.Tensor,
                       sin: torch.Tensor):
        """x (R, 1, d): the new frame; past_k/v (R, H, t, hd), keys rotated at their positions; cos, sin (1, hd)
        at the new frame's position -> (out (R, 1, d), k_new rotated, v_new (R, H, hd))."""
        q, k_new, v_new = self.split(x)
        q, k_new = apply_rotary(q, cos, sin), apply_rotary(k_new, cos, sin)
        out = attend_one(q, past_k, past_v, k_new, v_new)
        return self.proj(out.transpose(1, 2).flatten(2)), k_new[:, :, 0], v_new[:, :, 0]


class STBlock(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, mlp_ratio: int = 4):
        super().__init__()
        self.norm_s = nn.LayerNorm(dim)
        self.spatial = SpatialAttention(dim, heads)
        self.norm_t = nn.LayerNorm(dim)
        self.temporal = TemporalAttention(dim, heads, window)
        self.norm_m = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(approximate="tanh"), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, N, d) -> (B, T, N, d)."""
        B, T, N, d = x.shape
        x = x + self.spatial(self.norm_s(x).reshape(B * T, N, d)).reshape(B, T, N, d)
        h = self.norm_t(x).transpose(1, 2).reshape(B * N, T, d)
        x = x + self.temporal(h).reshape(B, N, T, d).transpose(1, 2)
        return x + self.mlp(self.norm_m(x))

    def forward_cached(self, x: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor, cos: torch.Tensor,
                       sin: torch.Tensor):
        """x (B, N, d): one new frame; cos, sin (1, hd) at its position -> (x (B, N, d), k_new, v_new (B*N, H, hd))."""
        B, N, d = x.shape
        x = x + self.spatial(self.norm_s(x))
        h, k_new, v_new = self.temporal.forward_cached(self.norm_t(x).reshape(B * N, 1, d), past_k, past_v, cos, sin)
        x = x + h.reshape(B, N, d)
        return x + self.mlp(self.norm_m(x)), k_new, v_new

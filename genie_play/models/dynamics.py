"""Dynamics model: a MaskGIT spatiotemporal transformer over frame tokens, conditioned on latent actions.

Frame t+1 is conditioned on the action a_t that led to it (added to its token embeddings); frame 0 gets a
learned "no action" embedding. Temporal attention is causal, so frames <= t never see frame t+1.

With `copy_head`, each position also has a copy path (as in pointer-generator networks): a gate logit g
whose probability mass goes to "the same token as in the previous frame", whatever that token is:
p(v) = (exp(l_v) + exp(g) [v == previous]) / (sum_u exp(l_u) + exp(g)). Keeping a patch then does not
depend on the head having learned an output for its content, so pictures unlike the training data stay.

With `group` g > 1, one transformer position holds a g x g square of tokens: its input is the sum of their
embeddings (one table per place in the square) and its output is unpacked into one hidden state per token,
so a tokenizer with 4x4-pixel patches (16 x 16 tokens) costs about 1.2x what 8 x 8 tokens cost, not 5.7x.
Outside the model, tokens stay (..., N) in raster order.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from genie_play.models.layers import KVCache, STBlock, rotary_at

# The copy gate's starting logit: with the shipped head's logits near log(1/V) for an unseen token, +2 starts
# by copying most positions that the head itself does not claim.
COPY_GATE_INIT = 2.0


@dataclass
class DynamicsConfig:
    vocab_size: int = 1000
    tokens_per_frame: int = 64
    num_actions: int = 8
    dim: int = 192
    heads: int = 6
    layers: int = 4
    window: int = 16  # frames of memory: training clip length and KV cache size
    copy_head: bool = False  # a learned gate that copies each position's token from the previous frame
    group: int = 1  # side of the square of tokens one transformer position holds

    @property
    def grid(self) -> int:
        return math.isqrt(self.tokens_per_frame)

    @property
    def positions(self) -> int:
        return self.tokens_per_frame // self.group ** 2

    @property
    def mask_id(self) -> int:
        return self.vocab_size

    @property
    def no_action(self) -> int:
        return self.num_actions


class Dynamics(nn.Module):
    def __init__(self, config: DynamicsConfig):
        super().__init__()
        self.config = config
        c = config
        if c.grid ** 2 != c.tokens_per_frame or c.group < 1 or c.grid % c.group:
            raise ValueError(f"{c.tokens_per_frame} tokens a frame do not make a square grid of {c.group}x{c.group} groups")
        # One embedding table (with its own mask embedding) per place in a position's square of tokens.
        self.token_emb = nn.Embedding(c.group ** 2 * (c.vocab_size + 1), c.dim)
        if c.group > 1:
            places = self._to_tokens(torch.arange(c.group ** 2).expand(c.positions, -1))[:, 0]  # (N,): 0..g*g-1
            self.register_buffer("table_offset", places * (c.vocab_size + 1), persistent=False)
            self.unpack = nn.Linear(c.dim, c.group ** 2 * c.dim)
        self.pos_emb = nn.Parameter(torch.randn(c.positions, c.dim) * 0.02)
        self.action_emb = nn.Embedding(c.num_actions + 1, c.dim)
        self.blocks = nn.ModuleList([STBlock(c.dim, c.heads, c.window) for _ in range(c.layers)])
        self.norm = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.vocab_size)
        if c.copy_head:
            self.copy_gate = nn.Linear(c.dim, 1)
            nn.init.zeros_(self.copy_gate.weight)
            nn.init.constant_(self.copy_gate.bias, COPY_GATE_INIT)

    def embed(self, tokens: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """tokens (..., N) int64, actions (...) int64 -> (..., P, d), P positions (N with group 1)."""
        if self.config.group > 1:
            x = self.token_emb(tokens + self.table_offset)  # (..., N, d)
            x = self._to_positions(x).unflatten(-1, (self.config.group ** 2, -1)).sum(-2)
        else:
            x = self.token_emb(tokens)
        return x + self.pos_emb + self.action_emb(actions).unsqueeze(-2)

    def token_states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states (..., P, d) -> one per token (..., N, d)."""
        return self._to_tokens(self.unpack(x)) if self.config.group > 1 else x

    def _to_positions(self, x: torch.Tensor) -> torch.Tensor:
        """(..., N, d) in raster order -> (..., P, g*g*d): each position's g x g square of tokens side by side."""
        g, side = self.config.group, self.config.grid // self.config.group
        x = x.unflatten(-2, (side, g, side, g)).movedim(-4, -3)  # (..., side, side, g, g, d)
        return x.flatten(-3).flatten(-3, -2)

    def _to_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(..., P, g*g*d) -> (..., N, d) in raster order; undoes _to_positions."""
        g, side = self.config.group, self.config.grid // self.config.group
        x = x.unflatten(-2, (side, side)).unflatten(-1, (g, g, -1)).movedim(-3, -4)  # (..., side, g, side, g, d)
        return x.flatten(-5, -2)

    def output_logits(self, x: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        """x (..., d) hidden states, previous (...) int64 tokens at the same positions one frame earlier
        -> logits (..., V), with the copy path folded in when the model has one."""
        h = self.norm(x)
        logits = self.head(h)
        if not self.config.copy_head:
            return logits
        gate = self.copy_gate(h).float()  # (..., 1)
        index = previous.unsqueeze(-1)
        copied = torch.logaddexp(logits.float().gather(-1, index), gate).to(logits.dtype)
        return logits.scatter(-1, index, copied)

    def forward(self, tokens: torch.Tensor, actions: torch.Tensor, at: torch.Tensor | None = None,
                clean: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, T, N) int64 (mask_id where masked), actions (B, T-1) int64 -> logits (B, T, N, V);
        with `at` (B, T, N) bool, only the logits of those positions (M, V): training skips the head elsewhere.
        clean (B, T, N): the unmasked tokens, whose frame t-1 the copy path of frame t copies (default: tokens).
        Frame 0 has no previous frame; its copy path points at its own input tokens."""
        first = torch.full_like(actions[:, :1], self.config.no_action)
        x = self.embed(tokens, torch.cat([first, actions], dim=1))
        for block in self.blocks:
            x = block(x)
        x = self.token_states(x)  # (B, T, N, d)
        source = tokens if clean is None else clean
        previous = torch.cat([source[:, :1], source[:, :-1]], dim=1).clamp_max(self.config.vocab_size - 1)  # (B, T, N)
        if at is not None:
            x, previous = x[at], previous[at]
        return self.output_logits(x, previous)

    def new_cache(self, batch: int, device=None, dtype=torch.float32) -> KVCache:
        c = self.config
        device = device or self.pos_emb.device
        # The past holds window - 1 frames: with the frame being generated, attention spans `window` frames, as in training.
        return KVCache(c.layers, batch * c.positions, c.heads, max(1, c.window - 1), c.dim // c.heads, device, dtype)

    def _frame_pass(self, tokens: torch.Tensor, actions: torch.Tensor, cache: KVCache, previous: torch.Tensor | None = None,
                    with_logits: bool = False):
        x = self.embed(tokens, actions)  # (B, N, d)
        cos, sin = rotary_at(cache.position, self.config.dim // self.config.heads)
        ks, vs = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block.forward_cached(x, *cache.past(i), cos, sin)
            ks.append(k)
            vs.append(v)
        logits = self.output_logits(self.token_states(x), previous) if with_logits else None
        return logits, torch.stack(ks), torch.stack(vs)

    def frame_logits(self, tokens: torch.Tensor, actions: torch.Tensor, cache: KVCache,
                     previous: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of one new frame given the cached past. tokens (B, N), actions (B,), previous (B, N): the
        tokens of the frame before it, needed by the copy path -> (B, N, V). Cache unchanged."""
        if self.config.copy_head and previous is None:
            raise ValueError("a dynamics model with a copy head needs the previous frame's tokens")
        return self._frame_pass(tokens, actions, cache, previous, with_logits=True)[0]

    def frame_keys_values(self, tokens: torch.Tensor, actions: torch.Tensor, cache: KVCache):
        """The temporal keys and values a finished frame adds to the cache, which stays unchanged.
        tokens (B, N), actions (B,) -> k, v (L, B*P, H, hd)."""
        return self._frame_pass(tokens, actions, cache)[1:]

    def push_frame(self, tokens: torch.Tensor, actions: torch.Tensor, cache: KVCache, keep_dropped: bool = True):
        """Adds a finished frame to the cache. tokens (B, N), actions (B,) -> what the cache dropped (for undo)."""
        return cache.push(*self.frame_keys_values(tokens, actions, cache), keep_dropped=keep_dropped)

"""MaskGIT parallel decoding. Takes a logits function and knows nothing of the network."""

from collections.abc import Callable

import torch

from genie_play.mask_schedule import masked_counts


def maskgit_decode(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    batch: int,
    num_tokens: int,
    mask_id: int,
    steps: int,
    temperature: float,
    generator: torch.Generator | None = None,
    device=None,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """Fills a fully masked frame in `steps` steps. logits_fn: tokens (B, N) -> logits (B, N, V).

    Each step samples every masked token, keeps the most confident ones, and re-masks the rest as the
    cosine schedule says. temperature 0 means argmax. Returns tokens (B, N) int64.
    noise: (steps, B, N, V) uniform draws made ahead (a CUDA graph cannot draw from a user's generator);
    drawn in step order from `generator`, they give the same tokens as drawing here.
    """
    if steps < 1:
        raise ValueError(f"MaskGIT needs at least 1 step, got {steps}")
    tokens = torch.full((batch, num_tokens), mask_id, dtype=torch.long, device=device)
    for step, still_masked in enumerate(masked_counts(num_tokens, steps)):
        masked = tokens == mask_id
        logits = logits_fn(tokens).float()
        sampled, confidence = sample_tokens(logits, temperature, generator, None if noise is None else noise[step])
        confidence = torch.where(masked, confidence, torch.inf)  # tokens already fixed stay fixed
        tokens = torch.where(masked, sampled, tokens)
        if still_masked > 0:
            remask = confidence.topk(still_masked, dim=1, largest=False).indices
            tokens.scatter_(1, remask, mask_id)
    return tokens


def sample_tokens(logits: torch.Tensor, temperature: float, generator: torch.Generator | None,
                  uniform: torch.Tensor | None = None):
    """logits (B, N, V) -> (tokens (B, N) int64, log-probability of each sampled token (B, N)).
    uniform: (B, N, V) draws in [0, 1) to use instead of drawing from `generator`."""
    logp = torch.log_softmax(logits, dim=-1)
    if temperature <= 0:
        conf, tokens = logp.max(dim=-1)
        return tokens, conf
    u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype) if uniform is None else uniform
    gumbel = -torch.log((-torch.log(u.clamp_min(1e-20))).clamp_min(1e-20))  # -log(u) > 0 before the clamp
    tokens = (logits / temperature + gumbel).argmax(dim=-1)
    return tokens, logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def keep_or_change(logits: torch.Tensor, previous: torch.Tensor, threshold: float,
                   rows: torch.Tensor | None = None) -> torch.Tensor:
    """logits (B, N, V), previous (B, N) int64 -> logits (B, N, V) that decide each position's keep-or-change
    first: a position keeps its previous token where the logits give that token at least `threshold` of the
    probability, and takes one of the other tokens (sampled from the rest) where they give it less. Sampling the
    full distribution at a low temperature keeps a token whenever it is the single most likely one, even where
    the change is far likelier spread over many tokens. rows (B,) bool: decide only in these frames, leaving the
    others' logits as they are (None: all)."""
    index = previous.unsqueeze(-1)
    old = logits.gather(-1, index)  # (B, N, 1)
    p_keep = (old.float() - torch.logsumexp(logits.float(), dim=-1, keepdim=True)).exp()
    forced = torch.where(p_keep >= threshold, 1e4, -1e4).to(logits.dtype)
    if rows is not None:
        forced = torch.where(rows[:, None, None], forced, old)
    return logits.scatter(-1, index, forced)

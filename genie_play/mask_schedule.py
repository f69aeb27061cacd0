"""How many tokens stay masked after each MaskGIT step (cosine schedule, as in MaskGIT)."""

import math


def cosine_schedule(progress: float) -> float:
    """Fraction of tokens still masked after `progress` in [0, 1] of the decoding."""
    return math.cos(math.pi / 2 * progress)


def masked_counts(num_tokens: int, steps: int) -> list[int]:
    """Tokens still masked after each of `steps` steps; strictly decreasing, ends at 0."""
    counts, prev = [], num_tokens
    for s in range(1, steps + 1):
        n = min(int(math.floor(num_tokens * cosine_schedule(s / steps))), prev - 1)
        n = max(n, 0) if s < steps else 0
        counts.append(n)
        prev = n
    return counts

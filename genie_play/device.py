"""Choosing the torch device from the user's --device flag."""

import torch

from genie_play.errors import GenieError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA when present, else CPU; 'cuda' without CUDA is a clear error."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GenieError(f"--device {name}: CUDA is not available on this machine (use --device cpu or auto)")
        try:
            device = torch.device(name)
        except RuntimeError:  # e.g. "cuda:x" or "cudaa"
            raise GenieError(f"--device {name}: not a device name (use cuda or cuda:N)") from None
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise GenieError(f"--device {name}: this machine has {count} CUDA device(s), numbered from 0")
        return device
    if name == "cpu":
        return torch.device("cpu")
    raise GenieError(f"--device {name}: unknown device (choose one of {', '.join(DEVICE_CHOICES)})")

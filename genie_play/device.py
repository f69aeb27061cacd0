"""Choosing the torch device from the user's --device flag, and how CPU training holds its memory."""

import ctypes
import sys

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


# glibc mallopt parameters, and a threshold above any buffer a training step allocates (2 GiB - 1).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, KEEP_BELOW = -1, -3, 2**31 - 1


def keep_freed_memory() -> bool:
    """Asks glibc's malloc to keep the memory a process frees for reuse instead of handing it back to the
    system. A CPU training step frees and allocates the same large buffers each time, and faulting their pages
    in again, one thread at a time, cost the patch-4 dynamics nearly half its step (docs/findings.md).
    Returns whether it took effect; elsewhere than Linux with glibc nothing changes."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP_BELOW)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BELOW))

"""Quality metrics as GUIDE §3 defines them: PSNR and SSIM on [0, 1] pixels, normalised mutual information."""

import numpy as np
import torch
import torch.nn.functional as F

MAX_PSNR = 100.0


CHUNK_IMAGES = 256  # images scored at a time, in float64: memory stays bounded however many clips


def per_image(score, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """score (n, H, W, 3) x2 -> (n,), applied chunk by chunk to a, b (..., H, W, 3), whose leading dims
    broadcast -> (...)."""
    lead = np.broadcast_shapes(a.shape[:-3], b.shape[:-3])  # e.g. the copy floor's frame 0 against every frame
    a, b = (x if x.shape[:-3] == lead else np.broadcast_to(x, (*lead, *x.shape[-3:])) for x in (a, b))
    a, b = a.reshape(-1, *a.shape[-3:]), b.reshape(-1, *b.shape[-3:])
    scores = [score(a[i : i + CHUNK_IMAGES], b[i : i + CHUNK_IMAGES]) for i in range(0, len(a), CHUNK_IMAGES)]
    return np.concatenate(scores or [np.zeros(0)]).reshape(lead)


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a, b (..., H, W, 3) uint8 -> PSNR in dB per image (...), pixel range [0, 1]; identical images give 100."""
    return per_image(_psnr, a, b)


def _psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    diff = a.astype(np.float64) / 255 - b.astype(np.float64) / 255
    mse = (diff ** 2).mean(axis=(-3, -2, -1))
    return np.minimum(10 * np.log10(1.0 / np.maximum(mse, 1e-300)), MAX_PSNR)


def ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a, b (N, H, W, 3) uint8 -> SSIM per image (N,), Gaussian window 11, sigma 1.5 (Wang et al. 2004)."""
    return per_image(_ssim, a, b)


def _ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(a).permute(0, 3, 1, 2).double() / 255
    y = torch.from_numpy(b).permute(0, 3, 1, 2).double() / 255
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    window = (g[:, None] * g[None, :]).expand(3, 1, 11, 11)

    def blur(t):
        return F.conv2d(t, window, groups=3)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3)).numpy()


def entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def normalized_mutual_info(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """NMI with the arithmetic-mean normalisation: 2 I(A;B) / (H(A) + H(B)). 1 = each code one effect."""
    a = np.unique(np.asarray(labels_a), return_inverse=True)[1]
    b = np.unique(np.asarray(labels_b), return_inverse=True)[1]
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1)
    h_a, h_b = entropy(joint.sum(1)), entropy(joint.sum(0))
    h_ab = entropy(joint.ravel())
    mutual = h_a + h_b - h_ab
    if h_a + h_b == 0:
        return 1.0
    return float(2 * mutual / (h_a + h_b))

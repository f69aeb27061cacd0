"""Quality metrics: PSNR and SSIM on [0, 1] pixels, normalised mutual information (NMI).

`genie-play eval` (genie_play.evaluate) builds its figures from these, on held-out clips of T frames
(t = 0 is a real frame, t = 1..T-1 are generated):

- tokenizer PSNR / SSIM: every real frame against the tokenizer's decoding of its own tokens (what the
  tokenizer loses), averaged over frames.
- rollout PSNR at t: each world starts from the clip's real frame 0 and generates frames 1..T-1 with the
  latent codes the LAM reads from the real clip; PSNR of generated frame t against real frame t, averaged
  over clips. Reported per t, at t = 4 and as the mean over t = 1..T-1.
- copy PSNR at t: real frame 0 against real frame t, the floor a world that never moves reaches.
  `rollout_minus_copy_t4` is the rollout's margin over it (taken clip by clip).
- ΔtPSNR at t: rollout PSNR with the LAM's codes minus rollout PSNR with uniformly random codes, from the
  same start: how much the codes control the frames (0 means the world ignores them).
- action NMI: NMI between the LAM's code for each transition and the effect of the key really pressed
  (genie_play.data.effects: in CoinRun the 15 keys fall into six effects: left, right, jump, jump-left,
  jump-right, still; in other games each key is its own class). 1: each code is one effect; 0: unrelated.
- code usage: the share of transitions the LAM gives each code.
- standard errors: over clips, of the t = 4 figures; differences are paired (the same clips both sides).
"""

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


def shifted_psnr(frames: np.ndarray, reference: np.ndarray, max_shift: int = 4) -> np.ndarray:
    """Kept PSNR: frames (..., H, W, 3) uint8 against one reference (H, W, 3) uint8, in dB per frame (...):
    the best PSNR over integer shifts of the frame of up to `max_shift` pixels in x and y, each scored on
    the region where the shifted frame and the reference overlap, so a picture that scrolled a little
    still counts as kept. Pixel range [0, 1]; identical images give 100."""
    lead = frames.shape[:-3]
    flat = frames.reshape(-1, *frames.shape[-3:])
    ref = reference.astype(np.float64) / 255
    height, width = ref.shape[:2]
    best = np.full(len(flat), np.inf)  # lowest mean squared error over the shifts
    for start in range(0, len(flat), CHUNK_IMAGES):
        chunk = flat[start:start + CHUNK_IMAGES].astype(np.float64) / 255
        for dy in range(-max_shift, max_shift + 1):
            for dx in range(-max_shift, max_shift + 1):
                # frame pixel (y + dy, x + dx) against reference pixel (y, x)
                moved = chunk[:, max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)]
                still = ref[max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
                mse = ((moved - still) ** 2).mean(axis=(1, 2, 3))
                best[start:start + CHUNK_IMAGES] = np.minimum(best[start:start + CHUNK_IMAGES], mse)
    return np.minimum(10 * np.log10(1.0 / np.maximum(best, 1e-300)), MAX_PSNR).reshape(lead)


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

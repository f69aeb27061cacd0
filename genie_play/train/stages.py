"""The three training stages and the camera gate: data, loss and provenance for each; the loop in loop.py runs them."""

import dataclasses
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genie_play.checkpoint import load_model
from genie_play.data.augment import recolour
from genie_play.data.datasets import ClipSampler, FrameSampler, Recording, TokenClipSampler
from genie_play.data.pictures import load_photos, random_pictures
from genie_play.models import CameraGate, Dynamics, LatentActionModel, Tokenizer
from genie_play.models.convs import frames_to_input
from genie_play.train.loop import Run


def unwrap(model):
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if hasattr(model, "module") else model


def psnr_from_mse(mse: torch.Tensor) -> float:
    """mse of images in [-1, 1] -> PSNR in dB for the [0, 1] range."""
    return float(10 * torch.log10(1.0 / (mse.detach().float() / 4).clamp_min(1e-10)))


# The share of training frames (tokenizer) or clips (LAM, dynamics) recoloured by data/augment.py.
RECOLOUR_SHARE = 0.5


def data_provenance(data_dir: Path, recording: Recording) -> dict:
    """What a checkpoint records of its training data: the folder, its game ticks per frame, its games and
    the colour augmentation."""
    return {"data": str(data_dir), "frame_skip": recording.frame_skip, "games": sorted(set(recording.games.tolist())),
            "recolour_share": RECOLOUR_SHARE}


def seeded_generator(sampler) -> tuple[torch.Generator, Callable[[int], None]]:
    """A CPU generator for augmentation and a reseed function that reseeds it with the sampler."""
    generator = torch.Generator().manual_seed(0)
    def reseed(seed: int) -> None:
        sampler.reseed(seed)
        generator.manual_seed(seed)
    return generator, reseed


# --- tokenizer ---------------------------------------------------------------------------------
def tokenizer_loss(model, frames: torch.Tensor):
    """frames (B, H, W, 3) uint8, or frame pairs (B, 2, H, W, 3) for a tokenizer with a refiner: then the second
    frame as decode_next draws it after the first is scored as well (`psnr_next`)."""
    if frames.ndim == 4:
        recon, _ = model(frames)
        return reconstruction_loss(recon, frames)
    recon, _, shown = model(frames)
    loss, metrics = reconstruction_loss(recon, frames.flatten(0, 1))
    next_loss, next_metrics = reconstruction_loss(shown, frames[:, 1])
    return loss + next_loss, {**metrics, "psnr_next": next_metrics["psnr"]}


def reconstruction_loss(recon: torch.Tensor, frames: torch.Tensor):
    """recon (B, 3, H, W) in [-1, 1], frames (B, H, W, 3) uint8 -> (MSE + 0.1 L1, {"psnr"})."""
    target = frames_to_input(frames)
    mse = F.mse_loss(recon.float(), target)
    return mse + 0.1 * F.l1_loss(recon.float(), target), {"psnr": psnr_from_mse(mse)}


def tokenizer_run(config, data_dir: Path, device) -> Run:
    """Single frames; consecutive pairs inside one episode when the tokenizer has a refiner."""
    recording = Recording(data_dir, "train")
    sampler = ClipSampler(recording, 2) if config.refiner_channels else FrameSampler(recording)
    generator, reseed = seeded_generator(sampler)
    def next_batch(batch_size):
        frames = recolour(torch.from_numpy(sampler.sample(batch_size)), generator, RECOLOUR_SHARE)
        return frames.to(device, non_blocking=True)

    return Run("tokenizer", Tokenizer(config), tokenizer_loss, next_batch, reseed, data_provenance(data_dir, recording))


# --- latent action model ------------------------------------------------------------------------
def lam_loss(model, clips: torch.Tensor):
    """clips (B, window, H, W, 3) uint8. Reconstruction of the last frame plus a term that keeps each code bit
    balanced across the batch, so all 8 codes stay in use."""
    windows = clips[:, None]  # (B, 1, window, H, W, 3): one transition a clip, with its full context
    pred, z, actions = model(windows)
    target = frames_to_input(clips[:, -1:])
    mse = F.mse_loss(pred.float(), target)
    balance = torch.tanh(z.float()).flatten(0, 1).mean(0).pow(2).mean()
    usage = torch.bincount(actions.flatten(), minlength=unwrap(model).config.num_actions).float() / actions.numel()
    metrics = {"psnr": psnr_from_mse(mse), "codes_used": int((usage > 0.02).sum()), "balance": float(balance.detach())}
    return mse + 0.1 * balance, metrics


def pad_clip_starts(clips: np.ndarray, rng: np.random.Generator, share: float = 0.25) -> np.ndarray:
    """clips (B, L, H, W, 3) -> the same, with a `share` of them starting as at an episode or prompt start: their
    first j frames (j random) replaced by frame j, as the LAM sees them at the start of a clip."""
    B, L = clips.shape[:2]
    j = np.where(rng.random(B) < share, rng.integers(1, L - 1, B) if L > 2 else 0, 0)  # (B,)
    index = np.maximum(np.arange(L)[None, :], j[:, None])
    return clips[np.arange(B)[:, None], index]


def mirror_some(clips: np.ndarray, rng: np.random.Generator, share: float = 0.5) -> np.ndarray:
    """clips (B, L, H, W, 3) -> the same, a `share` of them mirrored left to right (every frame of a clip alike)."""
    flip = rng.random(len(clips)) < share
    out = clips.copy()
    out[flip] = out[flip, :, :, ::-1]
    return out


def lam_run(config, data_dir: Path, device) -> Run:
    recording = Recording(data_dir, "train")
    sampler = ClipSampler(recording, config.window)
    generator, reseed = seeded_generator(sampler)
    def next_batch(batch_size):
        clips = pad_clip_starts(sampler.sample(batch_size), sampler.rng)
        if config.mirror:  # the mirror LAM's decoder learns the mirrored world too
            clips = mirror_some(clips, sampler.rng)
        return recolour(torch.from_numpy(clips), generator, RECOLOUR_SHARE).to(device, non_blocking=True)

    return Run("lam", LatentActionModel(config), lam_loss, next_batch, reseed, data_provenance(data_dir, recording))


# --- dynamics ---------------------------------------------------------------------------------
def mask_for_training(tokens: torch.Tensor, mask_id: int, generator: torch.Generator | None = None):
    """tokens (B, T, N) -> (masked tokens, target mask (B, T, N) bool).

    A random cut c in [1, T): frames before c stay clean (as at play time, when the past is known);
    each frame from c on is masked at its own rate drawn from U[0.5, 1], as in Genie."""
    B, T, N = tokens.shape
    dev = tokens.device
    cut = torch.randint(1, T, (B, 1), device=dev, generator=generator)
    rate = 0.5 + 0.5 * torch.rand(B, T, 1, device=dev, generator=generator)
    target_frame = torch.arange(T, device=dev)[None, :] >= cut  # (B, T)
    mask = (torch.rand(B, T, N, device=dev, generator=generator) < rate) & target_frame[..., None]
    return torch.where(mask, torch.full_like(tokens, mask_id), tokens), mask


def dynamics_loss(model, batch):
    tokens, actions = batch  # (B, T, N) int64, (B, T-1) int64
    mask_id = unwrap(model).config.mask_id
    inputs, mask = mask_for_training(tokens, mask_id)
    logits = model(inputs, actions, mask, tokens)  # (M, V): the masked positions only; copies from clean tokens
    target = tokens[mask]
    loss = F.cross_entropy(logits.float(), target)
    acc = (logits.argmax(-1) == target).float().mean()
    return loss, {"masked_acc": float(acc)}


@torch.no_grad()
def pretokenize(recording: Recording, tokenizer: Tokenizer, lam: LatentActionModel, device, batch: int = 256,
                progress=None, recolour_share: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Every frame's tokens (E, S, N) int16 and the LAM's action from each frame to the next (E, S) int8.
    A `recolour_share` of the environments' streams is recoloured first, each with one transform throughout."""
    frames = recording.frames  # (E, S, H, W, 3)
    E, S = frames.shape[:2]
    generator = torch.Generator().manual_seed(seed)
    tokens = np.empty((E, S, tokenizer.config.grid ** 2), np.int16)
    actions = np.zeros((E, S), np.int8)
    for e in range(E):
        clip = recolour(torch.from_numpy(frames[e : e + 1]), generator, recolour_share).to(device)  # (1, S, H, W, 3)
        for i in range(0, S, batch):
            tokens[e, i : i + batch] = tokenizer.encode(clip[0, i : i + batch]).cpu().numpy()
        first = torch.from_numpy(recording.arrays["first"][e : e + 1])
        actions[e, :-1] = lam.infer_actions(clip, first)[0].cpu().numpy()
        if progress:
            progress((e + 1) * S, E * S)
    return tokens, actions


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def read_token_cache(cache: Path, streams: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """A token cache's tokens (E, S, N) and actions (E, S) when it is there, readable and fits the `streams`
    (E, S) of the recording; None otherwise: a damaged or empty cache is computed again, not an error."""
    if not cache.is_file():
        return None
    try:
        with np.load(cache, allow_pickle=False) as z:
            tokens, actions = z["tokens"], z["actions"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    fits = (tokens.ndim == 3 and tokens.shape[:2] == tuple(streams) and actions.shape == tuple(streams)
            and np.issubdtype(tokens.dtype, np.integer) and np.issubdtype(actions.dtype, np.integer))
    return (tokens, actions) if fits else None


def load_token_cache(data_dir: Path, tokenizer_path: Path, lam_path: Path, out_dir: Path, device, progress=None):
    """Tokens and LAM actions of the training split, computed once and cached in out_dir (one cache per
    tokenizer, LAM and set of shards, so new data is never read with another's tokens). A damaged cache is
    computed again."""
    recording = Recording(data_dir, "train")
    shards = hashlib.sha256("\n".join(f"{p.name}:{p.stat().st_size}" for p in recording.paths).encode()).hexdigest()[:8]
    recoloured = f"-recolour{RECOLOUR_SHARE:g}" if RECOLOUR_SHARE else ""
    cache = Path(out_dir) / f"tokens-{file_digest(tokenizer_path)}-{file_digest(lam_path)}-{shards}{recoloured}.npz"
    cached = read_token_cache(cache, recording.frames.shape[:2])
    if cached is not None:
        return (*cached, recording)
    tokenizer = load_model(tokenizer_path, "tokenizer", device)
    lam = load_model(lam_path, "lam", device)
    tokens, actions = pretokenize(recording, tokenizer, lam, device, progress=progress, recolour_share=RECOLOUR_SHARE)
    from genie_play.atomic import atomic_path

    with atomic_path(cache, suffix=".npz") as tmp:
        np.savez(tmp, tokens=tokens, actions=actions)
    return tokens, actions, recording


def dynamics_run(config, data_dir: Path, device, tokenizer_path: Path, lam_path: Path, out_dir: Path,
                 progress=None) -> Run:
    """Trains on tokens and LAM actions pre-computed once with the frozen tokenizer and LAM."""
    tok_cfg = load_model(tokenizer_path, "tokenizer").config
    lam_cfg = load_model(lam_path, "lam").config
    config = dataclasses.replace(config, vocab_size=tok_cfg.vocab_size, tokens_per_frame=tok_cfg.grid ** 2,
                                 num_actions=lam_cfg.num_actions)
    tokens, actions, recording = load_token_cache(data_dir, tokenizer_path, lam_path, out_dir, device, progress)
    sampler = TokenClipSampler(tokens, actions, recording.arrays["first"], config.window)
    def next_batch(batch_size):
        t, a = sampler.sample(batch_size)
        return torch.from_numpy(t).to(device), torch.from_numpy(a).to(device)

    prov = dict(data_provenance(data_dir, recording), tokenizer=file_digest(tokenizer_path), lam=file_digest(lam_path))
    return Run("dynamics", Dynamics(config), dynamics_loss, next_batch, sampler.reseed, prov)


# --- camera gate --------------------------------------------------------------------------------
PICTURE_SHARE = 0.25  # of each gate batch: random drawn pictures, textures and photo crops, all "scrolls"
# Flat-colour renders sit on the line between a game and a drawing, so the vertical answer learns neither "a
# picture" nor "a game" from them: as negatives they taught the gate to leave dark and single-colour sketches
# alone (docs/findings.md). The sideways answer still learns from every frame.
UNLABELLED_VERTICAL = ("mono", "plain")
NO_LABEL = -1.0


def gate_loss(model, batch):
    frames, labels = batch  # (B, H, W, 3) uint8, (B, 1 or 2) float: 1 = scrolls sideways, 1 = a picture; NO_LABEL
    logits = model(frames).float()
    weight = (labels != NO_LABEL).float()  # (B, 1 or 2)
    counted = weight.sum(0).clamp(min=1)  # (1 or 2,)
    right = ((((logits > 0).float() == labels).float() * weight).sum(0) / counted)
    metrics = {"accuracy": float(right[0])} | ({"accuracy_vertical": float(right[1])} if len(right) > 1 else {})
    loss = F.binary_cross_entropy_with_logits(logits, labels.clamp(min=0), weight=weight, reduction="none")
    return (loss.sum(0) / counted).sum() / len(counted), metrics


def gate_run(config, data_dir: Path, device, still_games: list[str], photos_dir: Path | None = None) -> Run:
    """Game frames, labelled by whether their game is one of `still_games` (whose view does not scroll
    sideways), and a PICTURE_SHARE of random pictures (crops of the photos in `photos_dir` among them, when
    given) labelled as scrolling; half of it all recoloured. With `vertical`, a second label: the pictures 1
    (the camera moves them up and down), the game frames 0 (the dynamics moves those itself), frames of the
    UNLABELLED_VERTICAL renders none."""
    recording = Recording(data_dir, "train")
    recording.check_games(still_games, f"{data_dir} (train), --still-games")
    photos = load_photos(Path(photos_dir)) if photos_dir else None
    scrolling = ~np.isin(recording.games, still_games)  # (E,)
    unlabelled = np.isin(recording.variants, UNLABELLED_VERTICAL)  # (E,)
    sampler, steps = FrameSampler(recording), recording.frames.shape[1]
    generator, reseed = seeded_generator(sampler)
    def next_batch(batch_size):
        pictures = round(batch_size * PICTURE_SHARE)
        index = sampler.rng.integers(0, len(sampler.frames), batch_size - pictures)  # into the (E * S) frames
        frames = np.concatenate([sampler.frames[index], random_pictures(pictures, sampler.rng, config.image_size, photos)])
        scrolls = np.concatenate([scrolling[index // steps], np.ones(pictures, bool)])  # (B,)
        is_picture = (np.arange(batch_size) >= batch_size - pictures).astype(np.float32)  # (B,)
        is_picture[:len(index)][unlabelled[index // steps]] = NO_LABEL
        labels = np.stack([scrolls, is_picture] if config.vertical else [scrolls], 1).astype(np.float32)  # (B, 1 or 2)
        frames = recolour(torch.from_numpy(frames), generator, RECOLOUR_SHARE)
        return frames.to(device, non_blocking=True), torch.from_numpy(labels).to(device)

    prov = dict(data_provenance(data_dir, recording), still_games=sorted(still_games), picture_share=PICTURE_SHARE,
                photos=str(photos_dir) if photos_dir else None, photo_count=len(photos or []),
                vertical_unlabelled=list(UNLABELLED_VERTICAL) if config.vertical else [])
    return Run("gate", CameraGate(config), gate_loss, next_batch, reseed, prov)

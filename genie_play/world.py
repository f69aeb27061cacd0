"""The generation engine as an environment: reset(prompt image) -> frame, step(latent action) -> frame.

The world owns the KV cache of the last `window` frames, so memory stays flat however long a session runs.
Several worlds step together when the world is built with batch > 1. On CUDA it runs under bf16 autocast,
and once the cache is full (every shape then stays the same) each step replays CUDA graphs.
With a camera table (`code_motion` in the weights' play.json) each code also moves the view: whole tokens
of its motion move the token grid, pixels and KV cache, the rest pans the frame shown; the codes the labels
call still move none (genie_play/camera.py).
With a camera gate (gate.safetensors beside the checkpoints) the camera moves only views that the gate, looking
at the prompt, judges to scroll sideways, and up and down only where it says so (genie_play/models/gate.py),
except a drawing made in the app (reset's `drawn`), which it moves both ways. Where the camera moves a view up
and down, the dynamics gets each code's vertical stand-in (genie_play/camera.py). With a keep threshold
(`keep_threshold` in play.json) a game frame's positions decide keep-or-change first (genie_play/sampling.py).
A hero stamped into a picture the camera moves (genie_play.levels.find_heroes) stays where it was drawn on screen
while the level moves under it, as the games' view follows their player: the world plays the picture without
it and draws it over every frame shown. So does the player at the centre of a game frame the camera moves only
sideways (genie_play.levels.find_player).
"""

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genie_play.camera import camera_motion, scroll, shift_frames, split_motion, vertical_stand_ins
from genie_play.checkpoint import describe, load_model
from genie_play.device import resolve_device
from genie_play.errors import CheckpointError, GenieError
from genie_play.graphs import Captured, GraphSet
from genie_play.levels import Hero, find_heroes, without_heroes
from genie_play.models import CameraGate, Dynamics, LatentActionModel, Tokenizer
from genie_play.sampling import keep_or_change, maskgit_decode

BUNDLED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_TEMPERATURE = 1.0
DEFAULT_MASKGIT_STEPS = 4
# px a step: a code's camera motion in play.json beyond this would cross the whole frame in one step.
MAX_CODE_MOTION = 64.0
# px: how far the camera takes a view up or down from where it started. Up and down the view does not wrap, and
# the rows it uncovers mirror the rows at the edge, so beyond this they would crowd the picture out of the view.
VERTICAL_TRAVEL = 16.0


@dataclass
class _Step:
    """What one step changed, kept so undo() restores it exactly."""

    frames: np.ndarray  # (B, H, W, 3) uint8 before the step
    tokens: torch.Tensor  # (B, N) int64 before the step
    pixels: torch.Tensor  # (B, H, W, 3) uint8 on the device before the step: the world's own frame, unpanned
    camera: np.ndarray  # (B, 2) float pan before the step
    travel: np.ndarray  # (B,) float vertical camera travel before the step
    cache: tuple | None = None  # the KV cache's (k, v) before the step moved its token grid
    pushed: bool = False  # the step's frame has entered the KV cache
    dropped: tuple | None = None  # KV cache frame dropped by that push


class World:
    def __init__(self, tokenizer: Tokenizer, dynamics: Dynamics, lam: LatentActionModel | None = None,
                 seed: int = 0, batch: int = 1, temperature: float = DEFAULT_TEMPERATURE,
                 maskgit_steps: int = DEFAULT_MASKGIT_STEPS, weights_id: str = "custom",
                 code_labels: list[str] | None = None, undo_depth: int = 64, keep_still_pixels: bool = True,
                 bf16: bool | None = None, cuda_graphs: bool = True, code_motion=None,
                 camera_gate: CameraGate | None = None, keep_threshold: float | None = None):
        check_compatible(tokenizer, dynamics, lam)
        self.tokenizer, self.dynamics, self.lam = tokenizer.eval(), dynamics.eval(), lam.eval() if lam else None
        self.device = dynamics.pos_emb.device
        self.batch, self.seed = batch, seed
        self.temperature, self.maskgit_steps = temperature, maskgit_steps
        # A position keeps its token where the dynamics gives keeping at least this probability and changes it
        # otherwise (sampling.keep_or_change); None: plain sampling, which at a low temperature keeps far more.
        # It decides in the views the camera does not move up and down (with a camera gate: the ones it takes
        # for game frames, whose game rewrites most tokens a tick); a picture keeps plain sampling.
        self.keep_threshold = keep_threshold
        self._deciding = torch.ones(batch, dtype=torch.bool, device=dynamics.pos_emb.device)  # (B,)
        self.weights_id, self.code_labels = weights_id, code_labels
        self.num_actions = dynamics.config.num_actions
        self.image_size = tokenizer.config.image_size
        self.undo_depth = undo_depth
        # Show the prompt's own pixels, and keep every patch whose token a step leaves unchanged as it was,
        # rather than the tokenizer's reconstruction: the player's picture stays sharp where nothing moves.
        self.keep_still_pixels = keep_still_pixels
        self.code_motion = checked_code_motion(code_motion, dynamics.config.num_actions)  # (A, 2) px a step, or None
        self.camera = np.zeros((batch, 2))  # (B, 2) px: how far the frame on screen is panned from the world's own
        self.travel = np.zeros(batch)  # (B,) px the camera has moved each view up (-) or down (+), |.| <= VERTICAL_TRAVEL
        self.camera_gate = camera_gate.eval() if camera_gate is not None else None
        self.camera_axes = np.ones((batch, 2), bool)  # (B, 2): whether the camera moves each world's view in x, y
        self.heroes: list[list[Hero]] = [[] for _ in range(batch)]  # per world: the heroes it keeps on screen
        on_cuda = self.device.type == "cuda"
        self.bf16 = on_cuda if bf16 is None else bf16  # None: on CUDA only
        self.cuda_graphs = on_cuda and cuda_graphs  # CUDA only
        self._graphs = GraphSet()
        self.generator = torch.Generator(self.device)
        self.cache = None
        self.frames = None  # (B, H, W, 3) uint8: what the player sees, self.pixels panned by self.camera
        self.pixels = None  # (B, H, W, 3) uint8 on the device: the world's own frame
        self.tokens = None  # (B, N) int64: the tokens behind self.frames
        self.prompt = None
        # the prompt is a drawing made in the app (True), not one (False), as reset's `drawn` or a saved sketch says;
        # None: nobody said, so a prompt holding a hero stamp is one
        self.prompt_drawn: bool | None = None
        self.history: list[_Step] = []
        self.pending = None  # (tokens (B, N), actions (B,)) of the current frame, not yet in the KV cache
        self.step_count = 0
        self.last_timing = {}
        self._sampled_from = None  # (B, N): the tokens the last step sampled against (as the camera left them)

    # --- environment interface -------------------------------------------------------------
    @property
    def frame(self) -> np.ndarray:
        """The current frame of world 0: (H, W, 3) uint8."""
        return self.frames[0]

    @property
    def can_undo(self) -> bool:
        return bool(self.history)

    @property
    def view_held(self) -> bool:
        """Whether the camera gate keeps world 0's view still, though the weights have a camera table."""
        return self.code_motion is not None and not self.camera_axes[0].any()

    @property
    def vertical_held(self) -> bool:
        """Whether the camera moves world 0's view sideways but, the gate taking the prompt for a game frame,
        leaves its up and down to the dynamics."""
        return self.code_motion is not None and bool(self.camera_axes[0, 0]) and not self.camera_axes[0, 1]

    @property
    def changed(self) -> torch.Tensor | None:
        """The share of token positions the last step's dynamics changed, (B,) float on the device, against the
        token grid as the camera left it; None before a step (after reset or undo). Computed when asked, so a
        step pays nothing for it."""
        if self._sampled_from is None:
            return None
        return (self.tokens != self._sampled_from).float().mean(1)

    @torch.inference_mode()
    def reset(self, image=None, drawn: bool | None = None) -> np.ndarray:
        """Starts from a prompt: a path, PIL image or array of any size/mode (or a list, one per world).
        None restarts from the last prompt. Returns the first frame (H, W, 3) uint8 of world 0.
        drawn: the image is a drawing made in the app, a picture by construction, so the camera moves it on both
        axes whatever the camera gate says (the gate tells pictures from game frames for images from elsewhere);
        None: only a PNG the sketch screen saved is (images.is_saved_drawing). A restart keeps the last prompt's.
        Where `drawn` is None, an image holding a whole hero stamp (levels.find_heroes) is such a drawing too."""
        if image is not None:
            from genie_play.images import is_saved_drawing

            self.prompt = self._prompt_frames(image)
            self.prompt_drawn = drawn if drawn is not None else (True if is_saved_drawing(image) else None)
        if self.prompt is None:
            raise GenieError("reset() needs a prompt image the first time")
        self.generator.manual_seed(self.seed)
        self._clear_cache()
        prompt = torch.from_numpy(self.prompt).to(self.device)
        no_action = torch.full((self.batch,), self.dynamics.config.no_action, device=self.device)
        # A hero stamp is the sketch screen's own mark (no game frame holds one): a prompt holding one is a drawing
        found = [find_heroes(frame) if self.code_motion is not None else [] for frame in self.prompt]
        if self.prompt_drawn:
            self.camera_axes = np.ones((self.batch, 2), bool)
        elif self.camera_gate is not None and self.code_motion is not None:
            self.camera_axes = self.camera_gate.camera_axes(prompt).cpu().numpy()
            if self.prompt_drawn is None:
                self.camera_axes[[bool(spots) for spots in found]] = True
        if self.code_motion is not None:  # in place: a captured CUDA graph reads this tensor
            self._deciding.copy_(torch.from_numpy(~self.camera_axes[:, 1]))
        prompt = self._level_of(prompt, found)
        tokens = self.tokenizer.encode(prompt)  # (B, N); in float32, so bf16 does not move the prompt's tokens
        with self._precision():
            self.dynamics.push_frame(tokens, no_action, self.cache)
            self.pixels = prompt.clone() if self.keep_still_pixels else self.tokenizer.decode(tokens)
        self.camera, self.travel = np.zeros((self.batch, 2)), np.zeros(self.batch)
        self.frames = self._shown(self.pixels)
        self.tokens = tokens
        self.history.clear()
        self.pending = None
        self.step_count = 0
        self._sampled_from = None
        return self.frame

    def step(self, action: int) -> np.ndarray:
        """One generated frame for latent action `action` in [0, num_actions): (H, W, 3) uint8 (world 0)."""
        return self.step_batch([action] * self.batch)[0]

    @torch.inference_mode()
    def step_batch(self, actions) -> np.ndarray:
        """actions: one per world -> frames (B, H, W, 3) uint8."""
        if self.tokens is None:
            raise GenieError("step() before reset(): give the world a prompt image first")
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)  # checked on the host: no device sync
        if actions.size != self.batch:
            raise GenieError(f"step_batch needs {self.batch} actions, got {actions.size}")
        if actions.min() < 0 or actions.max() >= self.num_actions:
            raise GenieError(f"latent action must be in [0, {self.num_actions}), got {actions.tolist()}")
        codes = actions
        actions = torch.from_numpy(self._dynamics_codes(codes)).to(self.device)
        t0 = time.perf_counter()
        self.settle()
        before = _Step(self.frames, self.tokens, self.pixels, self.camera.copy(), self.travel.copy())
        self._move_camera(codes, before)
        tokens = self.sample_tokens(actions)
        self._sync()
        t1 = time.perf_counter()
        self.history.append(before)
        if len(self.history) > self.undo_depth:
            self.history.pop(0)
        self.frames = self._next_frames(tokens)
        self._sampled_from = self.tokens
        self.tokens = tokens
        self.pending = (tokens, actions)
        self.step_count += 1
        self.last_timing = {"dynamics_ms": (t1 - t0) * 1000, "decode_ms": (time.perf_counter() - t1) * 1000}
        return self.frames

    @torch.inference_mode()
    def settle(self) -> None:
        """Adds the current frame to the KV cache. step() does it first thing; a player calls it while
        the frame is on screen, so the next key press only waits for sampling and decoding."""
        if self.pending is None:
            return
        tokens, actions = self.pending
        keep = self.undo_depth > 0
        if self._graphed():
            dropped = self._graphs.get("push", self._graph_key(), self._capture_push)(tokens=tokens, actions=actions)
            dropped = tuple(x.clone() for x in dropped) if keep else None
        else:
            with self._precision():
                dropped = self.dynamics.push_frame(tokens, actions, self.cache, keep_dropped=keep)
        if self.history:
            self.history[-1].pushed, self.history[-1].dropped = True, dropped
        self.pending = None

    @torch.inference_mode()
    def undo(self) -> np.ndarray:
        """Back one step, restoring the previous frame and memory exactly; no-op at the start."""
        if self.history:
            last = self.history.pop()
            if last.pushed:
                self.cache.pop(last.dropped)
            self.pending = None
            if last.cache is not None:
                self.cache.k.copy_(last.cache[0])
                self.cache.v.copy_(last.cache[1])
            self.frames, self.tokens, self.pixels = last.frames, last.tokens, last.pixels
            self.camera, self.travel = last.camera, last.travel
            self.step_count -= 1
            self._sampled_from = None
        return self.frame

    # --- internals ---------------------------------------------------------------------------
    def _dynamics_codes(self, codes: np.ndarray) -> np.ndarray:
        """codes (B,) int64 -> the codes the dynamics is given (B,) int64: where the camera moves a world's view up
        and down, a code's vertical motion is the camera's to show, so the dynamics gets its stand-in, which does
        the rest (otherwise it moves the picture again, its own way: a photo washed out under "jump")."""
        if self.code_motion is None:
            return codes
        return np.where(self.camera_axes[:, 1], vertical_stand_ins(self.code_motion)[codes], codes)

    def _move_camera(self, codes: np.ndarray, before: _Step) -> None:
        """Adds each world's code's camera motion (codes (B,) int64). Whole tokens of it move the world's token
        grid, pixels and KV cache (so the next frame is generated against the moved one, and the copy path keeps
        what it keeps where the camera put it); the rest, under half a token, pans the frame on screen. With a
        dynamics that groups tokens, the whole moves are whole positions (group x group tokens). Up and down the
        camera takes a view at most VERTICAL_TRAVEL px from where it started."""
        if self.code_motion is None:
            return
        group, grid = self.dynamics.config.group, self.tokenizer.config.grid
        cell = self.tokenizer.config.patch * group  # pixels of one dynamics position: the smallest whole move
        motion = camera_motion(self.code_motion)[codes] * self.camera_axes  # (B, 2)
        travel = self.travel + motion[:, 1]
        self.travel = np.clip(travel, -VERTICAL_TRAVEL, VERTICAL_TRAVEL)
        motion[:, 1] -= travel - self.travel  # exactly 0 within the travel, so the pan sums as it would without it
        steps, self.camera = split_motion(self.camera + motion, cell)
        if not steps.any():
            return
        if self.undo_depth > 0:
            before.cache = (self.cache.k.clone(), self.cache.v.clone())
        tokens, pixels = self.tokens.clone().view(self.batch, grid, grid), self.pixels.clone()
        side = grid // group
        k, v = (x.view(x.shape[0], self.batch, side, side, *x.shape[2:]) for x in (self.cache.k, self.cache.v))
        for b, (dx, dy) in enumerate(steps.tolist()):
            if not (dx or dy):
                continue  # this world's view stays: no copy of its cache
            tokens[b] = scroll(tokens[b], dx, dy, group, (0, 1))  # (g, g)
            pixels[b] = scroll(pixels[b], dx, dy, cell, (0, 1))  # (H, W, 3)
            for cached in (k, v):  # (L, B, side, side, heads, window, hd): each position keeps its own past
                cached[:, b] = scroll(cached[:, b], dx, dy, 1, (1, 2))
        self.tokens, self.pixels = tokens.view(self.batch, -1), pixels

    def _level_of(self, prompt: torch.Tensor, found: list[list[tuple[int, int]]]) -> torch.Tensor:
        """prompt (B, H, W, 3) uint8, found: each world's hero stamps (find_heroes) -> the prompt without its heroes
        where the camera moves the view, which it keeps in self.heroes to draw over every frame shown (the camera
        moves the level, not the hero). Without a stamp, a view the camera moves only sideways and that was not
        drawn is a game frame whose view follows its player: its hero is the player at the frame's centre
        (levels.find_player)."""
        levels = self.prompt.copy()
        self.heroes = [[] for _ in range(self.batch)]
        for b, spots in enumerate(found):
            if not self.camera_axes[b].any():
                continue
            game_frame = not (spots or self.prompt_drawn or self.camera_axes[b, 1])
            player = Hero.player_in(self.prompt[b]) if game_frame else None
            heroes = [Hero.stamped(self.prompt[b], left, top) for left, top in spots] + ([player] if player else [])
            levels[b] = without_heroes(levels[b], heroes)
            self.heroes[b] = heroes
        if not any(self.heroes):
            return prompt
        return torch.from_numpy(levels).to(self.device)

    def _shown(self, pixels: torch.Tensor) -> np.ndarray:
        """The world's own frames (B, H, W, 3) uint8 on the device -> what the player sees: panned by the camera,
        with the heroes drawn where they stand on screen."""
        if self.code_motion is not None:
            pixels = shift_frames(pixels, np.floor(self.camera + 0.5))
        frames = pixels.cpu().numpy()
        if not any(self.heroes):
            return frames
        frames = frames.copy()  # on the CPU the array shares the world's own pixels, which have no hero
        for b, heroes in enumerate(self.heroes):
            for hero in heroes:
                hero.drawn_over(frames[b])
        return frames

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _precision(self):
        # cache_enabled=False: cached weight casts would outlive a CUDA graph that reads them.
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16, cache_enabled=False)

    def _clear_cache(self) -> None:
        """An empty KV cache, reusing the old storage so that captured graphs stay valid."""
        dtype = torch.bfloat16 if self.bf16 else torch.float32
        if self.cache is None or self.cache.k.dtype != dtype:
            self.cache = self.dynamics.new_cache(self.batch, self.device, dtype)
            self._graphs.clear()
        self.cache.clear()

    def _graphed(self) -> bool:
        """Steady state on CUDA: the cache is full, so every shape is the one the graphs were captured with."""
        return self.cuda_graphs and self.cache.length == self.cache.window

    def _graph_key(self) -> tuple:
        return self.temperature, self.maskgit_steps, self.keep_still_pixels, self.bf16, self.keep_threshold

    def _static(self, *shape, dtype=torch.long) -> torch.Tensor:
        return torch.zeros(shape, dtype=dtype, device=self.device)

    def _capture_push(self) -> Captured:
        def push(tokens, actions):
            with self._precision():
                return self.dynamics.push_frame(tokens, actions, self.cache)

        def warmup(tokens, actions):  # the same kernels, leaving the cache as it is
            with self._precision():
                self.dynamics.frame_keys_values(tokens, actions, self.cache)

        n = self.dynamics.config.tokens_per_frame
        return Captured(push, {"tokens": self._static(self.batch, n), "actions": self._static(self.batch)}, warmup)

    def _capture_sample(self) -> Captured:
        c = self.dynamics.config
        inputs = {"actions": self._static(self.batch), "previous": self._static(self.batch, c.tokens_per_frame)}
        if self.temperature > 0:
            inputs["noise"] = self._static(self.maskgit_steps, self.batch, c.tokens_per_frame, c.vocab_size, dtype=torch.float32)
        return Captured(self._sample, inputs)

    def _capture_render(self) -> Captured:
        n, size = self.dynamics.config.tokens_per_frame, self.image_size
        inputs = {"tokens": self._static(self.batch, n), "prev_tokens": self._static(self.batch, n),
                  "prev_pixels": self._static(self.batch, size, size, 3, dtype=torch.uint8)}
        return Captured(self.draw_frame, inputs)

    @torch.inference_mode()
    def sample_tokens(self, actions: torch.Tensor) -> torch.Tensor:
        """actions (B,) int64 -> tokens of the next frame (B, N) int64."""
        if not self._graphed():
            return self._sample(actions)
        graph = self._graphs.get("sample", self._graph_key(), self._capture_sample)
        if "noise" in graph.inputs:  # the draws _sample would make, in the same order
            for step_noise in graph.inputs["noise"]:
                step_noise.uniform_(generator=self.generator)
        return graph(actions=actions, previous=self.tokens).clone()

    def _sample(self, actions: torch.Tensor, noise: torch.Tensor | None = None,
                previous: torch.Tensor | None = None) -> torch.Tensor:
        """actions (B,) -> next tokens (B, N); previous (B, N): the current frame's tokens (default self.tokens)."""
        c = self.dynamics.config
        previous = self.tokens if previous is None else previous

        def logits_fn(tokens):
            logits = self.dynamics.frame_logits(tokens, actions, self.cache, previous)
            if self.keep_threshold is None:
                return logits
            return keep_or_change(logits, previous, self.keep_threshold, self._deciding)

        with self._precision():
            return maskgit_decode(
                logits_fn,
                self.batch, c.tokens_per_frame, c.mask_id, self.maskgit_steps, self.temperature,
                self.generator, self.device, noise=noise,
            )

    def _next_frames(self, tokens: torch.Tensor) -> np.ndarray:
        """tokens (B, N) of the new frame -> its pixels (B, H, W, 3) uint8, also kept on the device."""
        if self._graphed():
            graph = self._graphs.get("render", self._graph_key(), self._capture_render)
            pixels = graph(tokens=tokens, prev_tokens=self.tokens, prev_pixels=self.pixels).clone()
        elif self.keep_still_pixels and torch.equal(tokens, self.tokens):
            pixels = self.pixels.clone()  # nothing moved: no decoding needed
        else:
            pixels = self.draw_frame(tokens, self.tokens, self.pixels)
        self.pixels = pixels
        return self._shown(pixels)

    def draw_frame(self, tokens: torch.Tensor, prev_tokens: torch.Tensor, prev_pixels: torch.Tensor) -> torch.Tensor:
        """A frame's tokens as this world draws them after the frame before: tokens, prev_tokens (B, N) int64,
        prev_pixels (B, H, W, 3) uint8 -> pixels (B, H, W, 3) uint8 (unpanned)."""
        with self._precision():
            if not self.keep_still_pixels:
                return self.tokenizer.decode(tokens)
            return self.tokenizer.decode_next(tokens, prev_tokens, prev_pixels)

    def _prompt_frames(self, image) -> np.ndarray:
        from genie_play.images import load_image

        images = image if isinstance(image, (list, tuple)) else [image] * self.batch
        if len(images) != self.batch:
            raise GenieError(f"reset needs 1 or {self.batch} prompt images, got {len(images)}")
        return np.stack([load_image(im, self.image_size) for im in images])  # (B, H, W, 3)


def checked_code_motion(code_motion, num_actions: int, source: str = "code_motion"):
    """None, or each code's camera motion as a float array (num_actions, 2) of finite pixels a step."""
    if code_motion is None:
        return None
    try:
        motion = np.asarray(code_motion, dtype=np.float64)
    except (TypeError, ValueError):
        motion = None
    if (motion is None or motion.shape != (num_actions, 2) or not np.isfinite(motion).all()
            or np.abs(motion).max(initial=0) > MAX_CODE_MOTION):
        raise CheckpointError(f"{source}: camera motion must be {num_actions} pairs [dx, dy] of pixels a step, "
                              f"each within ±{MAX_CODE_MOTION:g}, one per latent code, got {shortened(code_motion)}")
    return motion


def shortened(value, width: int = 60) -> str:
    """A setting's value as JSON for an error message, cut to `width` characters with an ellipsis."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def checked_code_labels(labels: list[str] | None, num_actions: int, source: str) -> list[str] | None:
    """None, or one non-empty name per latent code."""
    if labels is not None and (len(labels) != num_actions or not all(name.strip() for name in labels)):
        raise CheckpointError(f"{source}: code_labels must be {num_actions} non-empty names, one per latent code, "
                              f"got {shortened(labels)}")
    return labels


def check_compatible(tokenizer: Tokenizer, dynamics: Dynamics, lam: LatentActionModel | None) -> None:
    t, d = tokenizer.config, dynamics.config
    if t.vocab_size != d.vocab_size:
        raise CheckpointError(f"tokenizer and dynamics don't fit together: vocabularies {t.vocab_size} vs {d.vocab_size}")
    if t.grid * t.grid != d.tokens_per_frame:
        raise CheckpointError(f"tokenizer and dynamics don't fit together: {t.grid * t.grid} vs {d.tokens_per_frame} tokens a frame")
    if lam is not None and lam.config.num_actions != d.num_actions:
        raise CheckpointError(f"LAM and dynamics don't fit together: {lam.config.num_actions} vs {d.num_actions} latent actions")
    if lam is not None and lam.config.image_size != t.image_size:
        raise CheckpointError(f"LAM and tokenizer don't fit together: images {lam.config.image_size} vs {t.image_size}")


def weights_files(weights_dir: str | Path) -> dict[str, Path]:
    root = Path(weights_dir)
    if not root.is_dir():
        raise CheckpointError(f"{root}: weights folder not found")
    files = {kind: root / f"{kind}.safetensors" for kind in ("tokenizer", "lam", "dynamics", "gate")}
    for kind in ("tokenizer", "dynamics"):
        if not files[kind].exists():
            raise CheckpointError(f"{files[kind]}: checkpoint file not found (a weights folder needs tokenizer and dynamics)")
    return files


def play_settings(weights_dir: Path) -> dict:
    """weights_dir/play.json: the sampling settings and code labels that play best with these weights."""
    path = Path(weights_dir) / "play.json"
    if not path.exists():
        return {}
    try:
        settings = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: unreadable play settings ({e})") from None
    except RecursionError:  # absurdly nested JSON
        raise CheckpointError(f"{path}: unreadable play settings (nested too deeply)") from None
    return checked_play_settings(settings, path)


def checked_play_settings(settings, source) -> dict:
    """Play settings with their values checked, so a bad one is a one-line CheckpointError naming
    `source` now rather than a TypeError at the first step. Null values count as absent; other keys are kept."""
    if not isinstance(settings, dict):
        raise CheckpointError(f"{source}: play settings must be a JSON object")
    settings = {k: v for k, v in settings.items() if v is not None}
    t, steps, labels = settings.get("temperature"), settings.get("maskgit_steps"), settings.get("code_labels")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < float("inf")):
        raise CheckpointError(f"{source}: temperature must be a number >= 0, got {shortened(t, 40)}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise CheckpointError(f"{source}: maskgit_steps must be an integer >= 1, got {shortened(steps, 40)}")
    keep = settings.get("keep_still_pixels")
    if keep is not None and not isinstance(keep, bool):
        raise CheckpointError(f"{source}: keep_still_pixels must be true or false, got {shortened(keep, 40)}")
    threshold = settings.get("keep_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0 < threshold <= 1):
        raise CheckpointError(f"{source}: keep_threshold must be a number in (0, 1], got {shortened(threshold, 40)}")
    if labels is not None and (not isinstance(labels, list) or not all(isinstance(x, str) for x in labels)):
        raise CheckpointError(f"{source}: code_labels must be a list of names, got {shortened(labels, 40)}")
    return settings


def check_maskgit_steps(steps: int, tokens_per_frame: int, source: str = "--maskgit-steps", error=GenieError) -> None:
    """Each MaskGIT step fixes at least one token of the frame: steps beyond its tokens only cost time."""
    if steps > tokens_per_frame:
        raise error(f"{source} {steps}: a frame has {tokens_per_frame} tokens, so at most {tokens_per_frame} "
                         "MaskGIT steps do anything")


def load_world(weights_dir: str | Path | None = None, device: str = "auto", seed: int = 0, batch: int = 1,
               with_lam: bool = True, **kwargs) -> World:
    """Loads tokenizer, dynamics (and LAM when present) from a weights folder (default: bundled weights/)."""
    files = weights_files(weights_dir or BUNDLED_WEIGHTS)
    dev = resolve_device(device)
    tokenizer = load_model(files["tokenizer"], "tokenizer", dev)
    dynamics = load_model(files["dynamics"], "dynamics", dev)
    lam = load_model(files["lam"], "lam", dev) if with_lam and files["lam"].exists() else None
    play = play_settings(files["dynamics"].parent) or checked_play_settings(
        describe(files["dynamics"])["provenance"].get("play", {}), f"{files['dynamics']} (play settings in its provenance)")
    play_json = files["dynamics"].parent / "play.json"
    source = play_json if play_json.exists() else files["dynamics"]  # where the play settings came from
    steps_source = "--maskgit-steps" if "maskgit_steps" in kwargs else f"{source}: maskgit_steps"
    kwargs.setdefault("temperature", play.get("temperature", DEFAULT_TEMPERATURE))
    kwargs.setdefault("maskgit_steps", play.get("maskgit_steps", DEFAULT_MASKGIT_STEPS))
    kwargs.setdefault("code_labels", checked_code_labels(play.get("code_labels"), dynamics.config.num_actions, source))
    kwargs.setdefault("keep_still_pixels", play.get("keep_still_pixels", True))
    kwargs.setdefault("keep_threshold", play.get("keep_threshold"))
    if "code_motion" not in kwargs:
        kwargs["code_motion"] = checked_code_motion(play.get("code_motion"), dynamics.config.num_actions,
                                                    f"{source}: code_motion")
    check_maskgit_steps(kwargs["maskgit_steps"], dynamics.config.tokens_per_frame, steps_source,
                        GenieError if steps_source == "--maskgit-steps" else CheckpointError)
    if kwargs["code_motion"] is not None and files["gate"].exists():
        kwargs.setdefault("camera_gate", load_model(files["gate"], "gate", dev))
    digest = hashlib.sha256(files["dynamics"].read_bytes()).hexdigest()[:12]
    return World(tokenizer, dynamics, lam, seed=seed, batch=batch, weights_id=digest, **kwargs)

"""A deterministic stand-in for genie_play.world.World: each code scrolls the scene by a known
amount and stamps the code into the top-left pixel. Same interface, no model, instant."""

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from genie_play.errors import ImageError

# Scene shift (dx, dy) per code, in pixels: + = scene moves right / down.
SCENE_SHIFTS = [(3, 0), (-3, 0), (0, 3), (0, -3), (3, 3), (-3, 3), (0, 0), (0, 0)]
# What label_codes should call them (the camera follows the player, so x flips).
EXPECTED_LABELS = ["left", "right", "jump", "down", "jump-left", "jump-right", "still", "still"]


def texture(seed: int = 0, size: int = 64) -> np.ndarray:
    """A random blocky texture: (size, size, 3) uint8, easy to phase-correlate."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
    return np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1)


class FakeWorld:
    num_actions = 8
    image_size = 64
    view_held = False  # the real world's camera gate holding the view
    vertical_held = False  # ... or only its up and down

    def __init__(self, weights_id: str = "fake-weights", code_labels: list[str] | None = None,
                 step_delay_s: float = 0.0):
        self.weights_id = weights_id
        self.code_labels = code_labels
        self.temperature = 1.0
        self.maskgit_steps = 4
        self.step_delay_s = step_delay_s
        self.history: list[np.ndarray] = []
        self.actions: list[int] = []    # every code stepped, in order (undo does not remove it)
        self.resets: list[np.ndarray] = []  # every prompt frame reset to
        self.drawn: list[bool | None] = []  # reset's `drawn` for each of them

    @property
    def frame(self) -> np.ndarray:
        return self.history[-1].copy()

    @property
    def step_count(self) -> int:
        return len(self.history) - 1

    @property
    def can_undo(self) -> bool:
        return len(self.history) > 1

    def reset(self, image, drawn: bool | None = None) -> np.ndarray:
        first = self._load(image)
        self.drawn.append(drawn)
        self.history = [first]
        self.resets.append(first.copy())
        return self.frame

    def step(self, action: int) -> np.ndarray:
        if not 0 <= action < self.num_actions:
            raise ValueError(f"action {action} out of range")
        if self.step_delay_s:
            import time
            time.sleep(self.step_delay_s)
        dx, dy = SCENE_SHIFTS[action]
        frame = np.roll(self.history[-1], (dy, dx), axis=(0, 1))
        frame[0, 0] = (action * 30, 255 - action * 30, 7)
        self.history.append(frame)
        self.actions.append(action)
        return self.frame

    def undo(self) -> np.ndarray:
        if self.can_undo:
            self.history.pop()
        return self.frame

    def _load(self, image) -> np.ndarray:
        """path | PIL.Image | array -> (64, 64, 3) uint8, nearest resize; ImageError when bad."""
        if isinstance(image, (str, Path)):
            try:
                with Image.open(image) as opened:
                    image = opened.convert("RGB")
            except (OSError, UnidentifiedImageError) as error:
                raise ImageError(f"{image}: not a readable image ({type(error).__name__})") from None
        if isinstance(image, Image.Image):
            image = np.asarray(image.convert("RGB"))
        array = np.asarray(image, dtype=np.uint8)[..., :3]
        if array.shape[:2] != (self.image_size, self.image_size):
            array = np.asarray(Image.fromarray(array).resize((self.image_size,) * 2, Image.NEAREST))
        return array.copy()


def fake_cli(monkeypatch, tmp_path, make_world):
    """The app's typer commands with open_world replaced by `make_world()`; returns invoke(*args) -> result,
    with invoke.worlds listing the worlds it opened. Runs in tmp_path with its own config dir."""
    import typer
    from typer.testing import CliRunner

    from genie_play.app import commands

    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    worlds = []

    def fake_open_world(weights, device, seed, camera=True):
        worlds.append(make_world())
        worlds[-1].opened_with_camera = camera
        return worlds[-1]

    monkeypatch.setattr(commands, "open_world", fake_open_world)
    app = typer.Typer()
    commands.register(app)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    invoke.worlds = worlds
    return invoke


def fake_clip(codes, seed: int = 5) -> np.ndarray:
    """The frames FakeWorld makes for `codes` from texture(seed): (len(codes) + 1, 64, 64, 3)."""
    world = FakeWorld()
    frames = [world.reset(texture(seed))] + [world.step(code) for code in codes]
    return np.stack(frames)


def write_gif(path: Path, frames) -> Path:
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


def one_line_error(excinfo) -> str:
    """The message of a raised GenieError, checked to be one non-empty line."""
    from genie_play.errors import GenieError

    text = str(excinfo.value)
    assert isinstance(excinfo.value, GenieError) and "\n" not in text and text
    return text

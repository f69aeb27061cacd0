"""The headless README screenshots: every screen rendered to a PNG of the window's size."""

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from fake_world import FakeWorld, texture  # noqa: E402
from genie_play.app import commands, screenshot  # noqa: E402


def test_render_screens_writes_every_screen(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path / "config"))
    written = screenshot.render_screens(FakeWorld(), tmp_path / "shots", texture(1), actions=[1, 2], scale=4)
    assert set(written) == set(screenshot.SCREENS)
    pictures = {}
    for name, path in written.items():
        with Image.open(path) as image:
            pictures[name] = np.asarray(image.convert("RGB"))
    assert pictures["play"].shape == (256, 256, 3)
    assert not np.array_equal(pictures["play"], pictures["help"])  # the overlay is drawn
    assert pictures["sketch"].shape[1] > pictures["sketch"].shape[0]  # canvas + toolbar


def test_screenshot_main_uses_the_loaded_world(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(commands, "open_world", lambda weights, device, seed, camera=True: FakeWorld())
    assert screenshot.main([str(tmp_path / "out"), "--actions", "1,3", "--scale", "2"]) == 0
    assert len(capsys.readouterr().out.split()) == 4
    assert screenshot.main([str(tmp_path / "out"), "--actions", "99"]) == 2

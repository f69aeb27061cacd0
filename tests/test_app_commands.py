"""The player's CLI commands with a FakeWorld behind open_world: render, label, play, sketch."""

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import typer  # noqa: E402
from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from fake_world import fake_cli, EXPECTED_LABELS, FakeWorld, texture  # noqa: E402
from genie_play.app import commands  # noqa: E402
from genie_play.app.app import App  # noqa: E402
from genie_play.errors import CheckpointError  # noqa: E402


@pytest.fixture
def cli(monkeypatch, tmp_path):
    return fake_cli(monkeypatch, tmp_path, FakeWorld)


@pytest.fixture
def prompt_png(tmp_path):
    path = tmp_path / "prompt.png"
    Image.fromarray(texture(2)).save(path)
    return path


def test_render_writes_a_gif(cli, prompt_png, tmp_path):
    out = tmp_path / "clip.gif"
    result = cli("render", "--image", prompt_png, "--actions", "1, 1,2", "--out", out, "--scale", 2)
    assert result.exit_code == 0, result.output
    assert "4 frames" in result.output
    assert cli.worlds[-1].actions == [1, 1, 2]
    with Image.open(out) as image:
        assert image.n_frames == 4 and image.size == (128, 128)


@pytest.mark.parametrize("flags, camera", [((), True), (("--camera",), True), (("--no-camera",), False)])
def test_render_asks_for_the_camera_unless_told_not_to(cli, prompt_png, tmp_path, flags, camera):
    result = cli("render", "--image", prompt_png, "--actions", "1", "--out", tmp_path / "c.png", *flags)
    assert result.exit_code == 0, result.output
    assert cli.worlds[-1].opened_with_camera is camera


def test_render_writes_a_png_strip(cli, prompt_png, tmp_path):
    out = tmp_path / "strip.png"
    assert cli("render", "--image", prompt_png, "--actions", "0,3", "--out", out, "--scale", 1).exit_code == 0
    with Image.open(out) as image:
        strip = np.asarray(image.convert("RGB"))
    assert strip.shape == (64, 3 * 64, 3)
    assert np.array_equal(strip[:, :64], texture(2))


@pytest.mark.parametrize("actions, says", [("1,x", "'x'"), ("9", "0..7"), (",", "no actions given"),
                                           ("1,,2", "empty entry"), ("1,2,", "empty entry")])
def test_render_refuses_bad_actions(cli, prompt_png, tmp_path, actions, says):
    result = cli("render", "--image", prompt_png, "--actions", actions, "--out", tmp_path / "c.gif")
    assert result.exit_code == 2
    assert "--actions" in result.output and says in " ".join(result.output.split())
    assert not (tmp_path / "c.gif").exists()


def test_render_bad_image_is_one_line_error(cli, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    result = cli("render", "--image", bad, "--actions", "1", "--out", tmp_path / "c.gif")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "bad.png" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_render_into_an_unwritable_place_is_an_error(cli, prompt_png, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    result = cli("render", "--image", prompt_png, "--actions", "1", "--out", blocker / "c.gif")
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_genie_errors_exit_2_without_traceback(monkeypatch, cli):
    def no_weights(*args):
        raise CheckpointError("weights/dynamics.safetensors: checkpoint file not found")

    monkeypatch.setattr(commands, "open_world", no_weights)
    result = cli("label")
    assert result.exit_code == 2
    assert result.stderr == "error: weights/dynamics.safetensors: checkpoint file not found\n"


def test_label_prints_a_table_and_caches_it(cli, tmp_path):
    result = cli("label", "--prompts", 2, "--steps", 2)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(lines) == 8
    assert [line.split()[1] for line in lines] == EXPECTED_LABELS
    assert (tmp_path / "config" / "labels" / "fake-weights.json").exists()


def test_label_prompts_fill_up_with_generated_levels():
    prompts = commands.label_prompts(3)
    assert len(prompts) == 3


def test_label_prompts_are_the_prompt_images_not_plots_or_screenshots():
    bundled = sorted((commands.ASSETS / "prompts").glob("*.png"))
    assert len(bundled) >= 4 and (commands.ASSETS / "eval").is_dir()  # plots and screenshots sit beside them
    prompts = commands.label_prompts(len(bundled) + 2)
    assert prompts[:len(bundled)] == bundled
    assert all(isinstance(p, np.ndarray) and p.shape == (64, 64, 3) for p in prompts[len(bundled):])


def test_play_bad_image_fails_before_any_window(cli, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    result = cli("play", "--image", bad)
    assert result.exit_code == 2 and "bad.png" in result.stderr


def test_play_and_sketch_open_the_app(cli, monkeypatch, prompt_png):
    started = []
    monkeypatch.setattr(App, "run", lambda self: (started.append(self.screen), self.close()))
    assert cli("play", "--image", prompt_png, "--scale", 2).exit_code == 0
    assert cli("sketch", "--scale", 2).exit_code == 0
    assert [screen.__class__.__name__ for screen in started] == ["PlayScreen", "SketchScreen"]


def test_drawing_plays_the_image_as_a_drawing(cli, monkeypatch, prompt_png, tmp_path):
    kept = []
    monkeypatch.setattr(App, "run", lambda self: (kept.append(self.play.prompt_drawn), self.close()))
    assert cli("play", "--image", prompt_png, "--drawing").exit_code == 0
    assert cli("play", "--image", prompt_png).exit_code == 0
    assert [world.drawn[0] for world in cli.worlds] == [True, None]  # None: the world decides (a saved sketch)
    assert kept == [True, None]  # what Enter resets to
    assert cli("render", "--image", prompt_png, "--actions", "1", "--out", tmp_path / "c.gif", "--drawing").exit_code == 0
    assert cli.worlds[-1].drawn == [True]


@pytest.mark.parametrize("command", [("play",), ("render", "--actions", "1", "--out", "c.gif")])
def test_drawing_without_an_image_is_one_line(cli, tmp_path, command):
    result = cli(*command, "--drawing")
    assert result.exit_code != 0 and not cli.worlds and not (tmp_path / "c.gif").exists()
    assert result.stderr.strip() == "error: --drawing plays the --image as a drawing; give --image"


def test_default_prompt_is_the_asset_or_a_starter_level():
    prompt = commands.default_prompt()
    if commands.DEFAULT_PROMPT.exists():
        assert prompt == commands.DEFAULT_PROMPT
    else:
        assert prompt.shape == (64, 64, 3)

"""Mimic: latent codes read from a clip, replay, side-by-side GIF, the mimic command, ghost mode in the player."""

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from fake_world import (SCENE_SHIFTS, FakeWorld, fake_cli, fake_clip, one_line_error, texture,  # noqa: E402
                        write_gif)
from genie_play import mimic  # noqa: E402
from genie_play.app.app import App  # noqa: E402
from genie_play.data.clips import load_clip  # noqa: E402
from genie_play.errors import GenieError  # noqa: E402
from genie_play.labels import scene_shift  # noqa: E402
from genie_play.media import save_new_gif  # noqa: E402
from genie_play.metrics import psnr  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ASSET_CLIP = REPO / "assets" / "clips" / "coinrun-level-10056.gif"
SHIPPED = REPO / "weights"


# ------------------------------------------------------------------------------ fakes and helpers


class FakeLAM:
    """Reads FakeWorld's codes back: the code whose scene shift is nearest the measured one."""

    config = SimpleNamespace(context=0)

    def infer_actions(self, clip: torch.Tensor) -> torch.Tensor:
        frames = clip[0].numpy()
        codes = []
        for before, after in zip(frames[:-1], frames[1:]):
            dx, dy = scene_shift(before, after, window=False)
            codes.append(int(np.argmin([(dx - sx) ** 2 + (dy - sy) ** 2 for sx, sy in SCENE_SHIFTS])))
        return torch.tensor([codes], dtype=torch.int64)


class LamFakeWorld(FakeWorld):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lam = FakeLAM()


# ------------------------------------------------------------------------------ codes and replays


def test_tiny_lam_reads_n_minus_one_codes(tiny_weights, tmp_path):
    from genie_play.world import load_world

    world = load_world(tiny_weights, device="cpu")
    clip = load_clip(write_gif(tmp_path / "c.gif", fake_clip([0, 1, 2, 3, 4, 5])))
    codes = mimic.infer_codes(world, clip.frames)
    assert codes.shape == (6,) and codes.dtype == np.int64
    assert ((codes >= 0) & (codes < 8)).all()
    frames = mimic.replay(world, codes, clip.frames[0])
    assert frames.shape == (7, 64, 64, 3)


def test_infer_codes_needs_a_lam():
    with pytest.raises(GenieError) as excinfo:
        mimic.infer_codes(FakeWorld(), fake_clip([1]))
    assert "lam.safetensors" in one_line_error(excinfo)


def test_side_by_side_and_gif_output(tmp_path):
    source, replayed = fake_clip([1, 2]), fake_clip([0, 3], seed=6)
    frames = mimic.side_by_side(source, replayed, mimic.step_captions([1, 2], [f"code {k}" for k in range(8)]), scale=2)
    assert len(frames) == 3 and frames[0].shape == (128 + mimic.CAPTION_HEIGHT, (128 + mimic.GAP) * 2, 3)
    assert np.array_equal(frames[1][:128:2, :128:2], source[1])
    assert np.array_equal(frames[1][:128:2, (64 + mimic.GAP) * 2::2], replayed[1])
    out = save_new_gif(frames, tmp_path / "o.gif")
    with Image.open(out) as image:
        assert image.n_frames == 3
    with pytest.raises(GenieError) as excinfo:
        save_new_gif(frames, out)
    assert "--overwrite" in one_line_error(excinfo)
    save_new_gif(frames[:2], out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.gif"]  # no temp file left behind


@pytest.mark.skipif(not (SHIPPED / "lam.safetensors").exists(), reason="shipped weights not present")
def test_shipped_weights_replay_beats_shuffled_codes():
    """On the bundled CoinRun test clip, the replay from the clip's first frame with the codes the LAM
    reads is closer to the clip than replays of the same codes shuffled."""
    from genie_play.world import load_world

    clip = load_clip(ASSET_CLIP, frames=16)
    world = load_world(SHIPPED, device="cpu", batch=3)
    codes = mimic.infer_codes(world, clip.frames)
    assert codes.shape == (15,) and ((codes >= 0) & (codes < 8)).all()
    rng = np.random.default_rng(0)
    batch = np.stack([codes, rng.permutation(codes), rng.permutation(codes)])
    assert not (batch[1:] == codes).all(axis=1).any()
    frames = mimic.replay_batch(world, batch, [clip.frames[0]] * 3)
    scores = psnr(clip.frames[None, 1:], frames[:, 1:]).mean(axis=1)
    assert scores[0] > scores[1:].max(), scores


# --------------------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli(monkeypatch, tmp_path):
    return fake_cli(monkeypatch, tmp_path, lambda: LamFakeWorld(code_labels=["left", "right", "jump", "down", "jl", "jr", "still", "still"]))


def test_mimic_command_replays_the_clip(cli, tmp_path):
    codes = [1, 1, 2, 0, 3]
    clip = write_gif(tmp_path / "src.gif", fake_clip(codes))
    Image.fromarray(texture(8)).save(tmp_path / "prompt.png")
    out = tmp_path / "out.gif"
    result = cli("mimic", "--video", clip, "--image", tmp_path / "prompt.png", "--out", out, "--scale", 1)
    assert result.exit_code == 0, result.output
    assert "1,1,2,0,3" in result.output and "right" in result.output and "jump" in result.output
    assert cli.worlds[-1].actions == codes  # the world stepped the codes read from the clip
    with Image.open(out) as image:
        assert image.n_frames == 6 and image.size[0] == 2 * 64 + mimic.GAP
    again = cli("mimic", "--video", clip, "--out", out)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert cli("mimic", "--video", clip, "--out", out, "--overwrite").exit_code == 0


def test_mimic_says_env_does_not_apply_to_a_gif(cli, tmp_path):
    clip = write_gif(tmp_path / "src.gif", fake_clip([1, 2, 0]))
    result = cli("mimic", "--video", clip, "--out", tmp_path / "out.gif", "--env", 3)
    assert result.exit_code == 0, result.output
    assert f"note: --env picks an environment of a .npz shard; {clip} has one, so --env 3 was not used" in result.stderr
    quiet = cli("mimic", "--video", clip, "--out", tmp_path / "out2.gif")
    assert "--env" not in quiet.stderr


def test_mimic_command_bad_clip_is_one_line_error(cli, tmp_path):
    Image.fromarray(texture(1)).save(tmp_path / "still.png")
    result = cli("mimic", "--video", tmp_path / "still.png", "--out", tmp_path / "o.gif")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "only one frame" in result.output
    assert not (tmp_path / "o.gif").exists()
    assert cli("mimic", "--video", tmp_path / "still.png", "--out", tmp_path / "o.png").exit_code == 2


# ------------------------------------------------------------------------------------ ghost mode


@pytest.fixture
def ghost_app(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path / "config"))
    apps = []

    def make(world=None, **options):
        options.setdefault("steps_per_second", 0)  # a replay step every tick: the ticks, not the clock, drive it
        app = App(world or LamFakeWorld(), texture(0), scale=2, screenshot_dir=tmp_path / "shots",
                  recording_dir=tmp_path / "rec", sketch_dir=tmp_path / "sketches", **options)
        apps.append(app)
        run(app)
        return app

    yield make
    for app in apps:
        app.close()


def run(app, ticks: int = 1):
    for _ in range(ticks):
        assert app.worker.wait_idle(2.0)
        app.tick()


def test_dropping_a_clip_starts_a_ghost_replay(ghost_app, tmp_path):
    codes = [1, 1, 2, 0, 3, 3]
    app = ghost_app()
    app.handle_event(pygame.event.Event(pygame.DROPFILE, file=str(write_gif(tmp_path / "src.gif", fake_clip(codes)))))
    run(app)
    assert app.play.ghost is not None and app.play.ghost.codes.tolist() == codes
    run(app, 3)
    hud = " ".join(text for text, _ in app.play.hud_lines(0.0))
    assert "GHOST src.gif" in hud and "step 3/6" in hud and "clip read as code 2" in hud
    run(app, 5)
    assert app.play.ghost is None and app.world.actions == codes  # replayed from the prompt, then done
    assert np.array_equal(app.world.resets[-1], texture(0))
    assert "your turn" in " | ".join(app.toasts.texts())


def test_a_mapped_key_takes_over_from_the_ghost(ghost_app, tmp_path):
    app = ghost_app(clip=write_gif(tmp_path / "src.gif", fake_clip([1] * 8)))
    run(app, 3)
    assert app.play.ghost is not None and 0 < app.world.step_count < 8
    key = app.keymap.key_for_code(3)
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.key.key_code(key), mod=0))
    app.handle_event(pygame.event.Event(pygame.KEYUP, key=pygame.key.key_code(key), mod=0))
    run(app, 3)
    assert app.play.ghost is None and app.world.actions[-1] == 3 and app.world.actions.count(1) < 8
    assert "you took over" in " | ".join(app.toasts.texts())


def test_o_replays_a_bundled_clip_and_stops(ghost_app):
    app = ghost_app()
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_o, mod=0))
    run(app, 2)
    assert app.play.ghost is not None and "coinrun" in app.play.ghost.name
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_o, mod=0))
    assert app.play.ghost is None
    run(app)


def test_ghost_without_a_lam_is_a_message(ghost_app, tmp_path):
    app = ghost_app(world=FakeWorld())
    app.handle_event(pygame.event.Event(pygame.DROPFILE, file=str(write_gif(tmp_path / "c.gif", fake_clip([1])))))
    run(app, 2)
    assert app.play.ghost is None and app.running and app.play.frame is not None
    assert "lam.safetensors" in " | ".join(app.toasts.texts())


def test_infer_codes_in_chunks_equals_one_pass(monkeypatch):
    from conftest import make_lam, random_frames

    lam = make_lam(context=2)
    frames = random_frames(1, 11, seed=3)[0].numpy()
    whole = lam.infer_actions(torch.from_numpy(frames)[None])[0].numpy()
    monkeypatch.setattr(mimic, "INFER_CHUNK", 3)  # chunks must carry the context of their first transition
    assert np.array_equal(mimic.infer_codes(SimpleNamespace(lam=lam, device="cpu"), frames), whole)

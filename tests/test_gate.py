"""The camera gate: the model and its checkpoint, random pictures and photo crops, `train gate` on two games (tiny
preset), and the world moving only the views the gate lets scroll, up and down only so far."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from conftest import make_dynamics, make_lam, make_tokenizer, random_frames, write_two_game_data
from genie_play.checkpoint import describe, load_model, save_checkpoint
from genie_play.cli import app
from genie_play.data.datasets import Recording
from genie_play.data.pictures import PHOTO_SIDE, load_photos, random_crop, random_pictures, random_sketch, random_texture
from genie_play.errors import DataError
from genie_play.images import DRAWING_TEXT, load_image
from genie_play.media import save_png
from genie_play.models import CameraGate, CameraGateConfig
from genie_play.train.stages import NO_LABEL, PICTURE_SHARE, gate_loss, gate_run
from genie_play.world import World, load_world

RIGHT = [[-4.0, 0.0]] * 8  # every code scrolls the scene 4 px left a step: a whole token in two steps
RIGHT_UP = [[-4.0, -4.0]] * 8  # the same, and 4 px up a step


def gate_saying(scrolls: bool, vertical: bool | None = None) -> CameraGate:
    """A tiny gate whose answers are fixed by its head's bias; with `vertical` a second answer."""
    gate = CameraGate(CameraGateConfig(channels=4, depth=2, vertical=vertical is not None))
    with torch.no_grad():
        for head, says in ((gate.head, scrolls), (gate.vertical_head, vertical)):
            if head is not None:
                head.weight.zero_()
                head.bias.fill_(5.0 if says else -5.0)
    return gate.eval()


def make_world(gate, batch=1, code_motion=RIGHT):
    return World(make_tokenizer(), make_dynamics(), make_lam(), batch=batch, maskgit_steps=2, code_motion=code_motion,
                 camera_gate=gate)


def test_gate_gives_one_logit_and_one_answer_per_frame_for_both_axes():
    gate = CameraGate(CameraGateConfig(channels=4, depth=3))
    frames = random_frames(5)
    logits = gate(frames)
    assert logits.shape == (5, 1) and logits.dtype == torch.float32
    assert torch.equal(gate.camera_axes(frames)[:, 0], logits[:, 0] > 0)
    assert torch.equal(gate.camera_axes(frames), (logits > 0).expand(-1, 2))


def test_a_vertical_gate_answers_each_axis_on_its_own():
    gate = CameraGate(CameraGateConfig(channels=4, depth=3, vertical=True))
    frames = random_frames(5)
    logits = gate(frames)
    assert logits.shape == (5, 2)
    assert torch.equal(gate.camera_axes(frames), logits > 0)


def test_gate_checkpoint_rebuilds_the_same_model(tmp_path):
    gate = CameraGate(CameraGateConfig(channels=4, depth=2))
    save_checkpoint(tmp_path / "gate.safetensors", gate, provenance={"still_games": ["leaper"]})
    loaded = load_model(tmp_path / "gate.safetensors", "gate")
    assert loaded.config == gate.config and describe(tmp_path / "gate.safetensors")["kind"] == "gate"
    frames = random_frames(3, seed=4)
    assert torch.equal(loaded(frames), gate(frames))


def test_random_pictures_repeat_with_a_seed_and_differ_without():
    a, b = (random_pictures(12, np.random.default_rng(3)) for _ in range(2))
    assert a.shape == (12, 64, 64, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, random_pictures(12, np.random.default_rng(4)))
    for make in (random_sketch, random_texture):
        assert np.array_equal(make(9), make(9)) and len(np.unique(make(9).reshape(-1, 3), axis=0)) > 1


def write_photos(folder, count=2):
    """`count` random-noise photos of different sizes (PNG), one of them grey, and a text file to skip."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 256, (300 + 40 * i, 280, 3), dtype=np.uint8)
        Image.fromarray(pixels).convert("L" if i == 0 else "RGB").save(folder / f"photo{i}.png")
    (folder / "README.md").write_text("not a photo")
    return folder


def test_photos_load_as_squares_and_give_seeded_crops(tmp_path):
    photos = load_photos(write_photos(tmp_path / "photos"))
    assert len(photos) == 2 and all(p.shape == (PHOTO_SIDE, PHOTO_SIDE, 3) and p.dtype == np.uint8 for p in photos)
    crop = random_crop(photos, 5)
    assert crop.shape == (64, 64, 3) and np.array_equal(crop, random_crop(photos, 5))
    assert not np.array_equal(crop, random_crop(photos, 6))
    with_photos = random_pictures(64, np.random.default_rng(3), photos=photos)
    assert np.array_equal(with_photos, random_pictures(64, np.random.default_rng(3), photos=photos))
    assert not np.array_equal(with_photos, random_pictures(64, np.random.default_rng(3)))


def test_the_bundled_training_photos_load_and_none_is_a_held_out_prompt():
    assets = Path(__file__).resolve().parent.parent / "assets"
    training = [load_image(f) for f in sorted((assets / "photos").glob("*.jpg"))]
    held_out = [load_image(f) for f in sorted((assets / "heldout" / "photos").glob("*.png"))]
    assert len(load_photos(assets / "photos")) == len(training) >= 10 and held_out
    differences = [np.abs(a.astype(int) - b.astype(int)).mean() for a in training for b in held_out]  # 0..255
    assert min(differences) > 10


@pytest.mark.parametrize("make, message", [
    (lambda folder: folder, "not a folder of photos"),
    (lambda folder: folder.mkdir() or folder, "holds no photos"),
])
def test_a_folder_without_photos_is_one_clear_error(tmp_path, make, message):
    folder = make(tmp_path / "photos")
    with pytest.raises(DataError, match=message):
        load_photos(folder)


def test_the_camera_moves_a_view_the_gate_lets_scroll_and_keeps_one_it_stops(prompt_array):
    moved, kept = make_world(gate_saying(True)), make_world(gate_saying(False))
    ungated = World(make_tokenizer(), make_dynamics(), make_lam(), maskgit_steps=2, code_motion=RIGHT)
    still = World(make_tokenizer(), make_dynamics(), make_lam(), maskgit_steps=2, code_motion=None)
    for world in (moved, kept, ungated, still):
        world.reset(prompt_array)
        for _ in range(3):
            world.step(0)
    assert moved.camera_axes.tolist() == [[True, True]] and kept.camera_axes.tolist() == [[False, False]]
    assert kept.view_held and not moved.view_held and not ungated.view_held and not still.view_held
    assert np.array_equal(moved.frame, ungated.frame) and np.array_equal(kept.frame, still.frame)
    assert not np.array_equal(moved.frame, kept.frame)


def test_the_gate_decides_for_each_world_of_a_batch(prompt_array):
    gate = CameraGate(CameraGateConfig(channels=4, depth=2)).eval()
    world = make_world(gate, batch=2)
    prompts = [prompt_array, random_frames(seed=11).numpy()]
    world.reset(prompts)
    assert np.array_equal(world.camera_axes, gate.camera_axes(torch.from_numpy(np.stack(prompts))).numpy())


@pytest.mark.parametrize("vertical", [False, True])
def test_a_vertical_gate_decides_whether_the_camera_moves_up_and_down(prompt_array, vertical):
    gated = make_world(gate_saying(True, vertical), code_motion=RIGHT_UP)
    ungated = World(make_tokenizer(), make_dynamics(), make_lam(), maskgit_steps=2,
                    code_motion=RIGHT_UP if vertical else RIGHT)
    for world in (gated, ungated):
        world.reset(prompt_array)
        for _ in range(3):
            world.step(0)
    assert gated.camera_axes.tolist() == [[True, vertical]] and not gated.view_held
    assert gated.vertical_held is not vertical and not ungated.vertical_held
    assert np.array_equal(gated.frame, ungated.frame)


def test_a_drawing_made_in_the_app_moves_on_both_axes_whatever_the_gate_says(prompt_array):
    drawn, free = make_world(gate_saying(False, False), code_motion=RIGHT_UP), \
        World(make_tokenizer(), make_dynamics(), make_lam(), maskgit_steps=2, code_motion=RIGHT_UP)
    for world in (drawn, free):
        world.reset(prompt_array, drawn=world is drawn)
        for _ in range(3):
            world.step(0)
    assert drawn.camera_axes.tolist() == [[True, True]] and not drawn.view_held and not drawn.vertical_held
    assert np.array_equal(drawn.frame, free.frame)
    drawn.reset()  # a restart plays the same drawing as a drawing
    assert drawn.camera_axes.tolist() == [[True, True]]
    drawn.reset(prompt_array)  # a new image from elsewhere goes by the gate
    assert drawn.camera_axes.tolist() == [[False, False]] and drawn.view_held


def test_a_png_the_sketch_screen_saved_plays_as_a_drawing(tmp_path, prompt_array):
    saved, other = tmp_path / "level.png", tmp_path / "photo.png"
    save_png(prompt_array, saved, text=DRAWING_TEXT)
    save_png(prompt_array, other)
    world = make_world(gate_saying(False, False), code_motion=RIGHT_UP)
    world.reset(saved)
    assert world.prompt_drawn and world.camera_axes.tolist() == [[True, True]]
    world.reset(other)
    assert not world.prompt_drawn and world.camera_axes.tolist() == [[False, False]]
    world.reset(saved, drawn=False)  # the caller's word wins
    assert world.camera_axes.tolist() == [[False, False]]


def test_an_image_holding_the_hero_stamp_plays_as_a_drawing_unless_the_caller_says_not():
    from genie_play.levels import random_level

    world = make_world(gate_saying(False, False), code_motion=RIGHT_UP)
    world.reset(random_level(5))  # the sketch screen's hero stamp, in no game frame
    assert world.prompt_drawn is None and world.camera_axes.tolist() == [[True, True]]
    world.reset(random_level(5), drawn=False)
    assert world.camera_axes.tolist() == [[False, False]]
    world.reset()  # a restart keeps what the caller said
    assert world.camera_axes.tolist() == [[False, False]]


def _game_frame_with_a_player() -> np.ndarray:
    """Blocky level colours with a 4 x 6 cream player at the centre, where the games whose view follows their
    player draw it."""
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 4, (8, 8, 1)).repeat(8, 0).repeat(8, 1) * np.array([[[40, 30, 20]]], np.int64)
    frame = frame.astype(np.uint8)
    frame[26:40, 26:40] = (20, 20, 60)
    frame[30:36, 31:35] = (230, 218, 191)
    return frame


def test_a_game_frames_player_stays_at_the_centre_while_the_camera_moves_the_level():
    from genie_play.levels import find_player

    prompt = _game_frame_with_a_player()
    world = make_world(gate_saying(True, False))  # a game frame the camera moves sideways
    assert np.array_equal(world.reset(prompt), prompt)
    [hero] = world.heroes[0]
    assert not hero.stamp and hero.cover.sum() == 24
    assert find_player(world.pixels[0].numpy()) is None  # the world plays the level without its player
    for _ in range(5):
        frame = world.step(0)
        assert hero.shown_in(frame)
    assert world.camera[0].tolist() == [-4.0, 0.0]  # the level moved 20 px left: two whole tokens and a 4-px pan
    assert not np.array_equal(frame[26:40, 26:40], prompt[26:40, 26:40])  # what stood around the player moved on
    assert hero.shown_in(world.undo())


@pytest.mark.parametrize("vertical, drawn", [(True, None), (False, True)])
def test_a_picture_or_a_drawing_has_no_player_at_its_centre(vertical, drawn):
    world = make_world(gate_saying(True, vertical))
    world.reset(_game_frame_with_a_player(), drawn=drawn)
    assert world.heroes == [[]]


def test_the_camera_takes_a_view_up_or_down_only_so_far_and_undo_brings_it_back(prompt_array):
    held, stopped = (make_world(gate_saying(True, True), code_motion=RIGHT_UP) for _ in range(2))
    for world in (held, stopped):
        world.reset(prompt_array)
    for step in range(6):
        if step == 4:  # 16 px up by now: from here on the other world's camera only moves sideways
            stopped.code_motion = np.array(RIGHT, dtype=float)
        held.step(0)
        stopped.step(0)
    assert held.travel.tolist() == [-16.0] and np.array_equal(held.frame, stopped.frame)
    for _ in range(3):
        held.undo()
    assert held.travel.tolist() == [-12.0]
    held.reset(prompt_array)
    assert held.travel.tolist() == [0.0]


def test_load_world_uses_a_gate_beside_the_checkpoints_only_with_a_camera(tiny_weights, prompt_array):
    (tiny_weights / "play.json").write_text(json.dumps({"code_motion": RIGHT}))
    assert load_world(tiny_weights, device="cpu").camera_gate is None
    save_checkpoint(tiny_weights / "gate.safetensors", gate_saying(False))
    world = load_world(tiny_weights, device="cpu")
    world.reset(prompt_array)
    assert world.camera_gate is not None and world.camera_axes.tolist() == [[False, False]] and world.view_held
    assert load_world(tiny_weights, device="cpu", code_motion=None).camera_gate is None


def train_gate(data, out, *extra, preset="tiny"):
    return CliRunner().invoke(app, ["train", "gate", "--preset", preset, "--device", "cpu", "--threads", "1",
                                    "--data", str(data), "--out", str(out), *extra])


def test_train_gate_writes_a_checkpoint_with_its_games_and_resumes(tmp_path):
    data, _ = write_two_game_data(tmp_path / "data")
    out = tmp_path / "run"
    result = train_gate(data, out, "--still-games", "ninja", "--max-steps", "2")
    assert result.exit_code == 0, result.output
    info = describe(out / "gate.safetensors")
    assert info["provenance"]["still_games"] == ["ninja"] and info["provenance"]["step"] == 2
    assert not info["config"]["vertical"]
    assert train_gate(data, out, "--still-games", "ninja", "--max-steps", "4", "--resume").exit_code == 0
    assert describe(out / "gate.safetensors")["provenance"]["step"] == 4
    exported = CliRunner().invoke(app, ["export", str(out), str(tmp_path / "weights")])
    assert exported.exit_code == 0 and (tmp_path / "weights" / "gate.safetensors").exists()


def test_train_gate_crops_the_photos_of_a_folder_and_records_them(tmp_path):
    data, _ = write_two_game_data(tmp_path / "data")
    photos = write_photos(tmp_path / "photos")
    result = train_gate(data, tmp_path / "run", "--still-games", "ninja", "--max-steps", "2", "--photos", str(photos))
    assert result.exit_code == 0, result.output
    provenance = describe(tmp_path / "run" / "gate.safetensors")["provenance"]
    assert provenance["photos"] == str(photos) and provenance["photo_count"] == 2
    missing = train_gate(data, tmp_path / "run2", "--still-games", "ninja", "--photos", str(tmp_path / "nope"))
    assert missing.exit_code != 0 and "nope: not a folder of photos" in missing.output
    assert len(missing.output.strip().splitlines()) == 1


def test_gate_loss_counts_no_frame_without_a_label():
    labels = torch.tensor([[1.0, 1.0], [0.0, NO_LABEL], [1.0, 0.0]])  # (B, 2)
    logits = torch.tensor([[2.0, 3.0], [-1.0, 0.5], [-0.5, -2.0]])  # row 2 wrong sideways
    loss, metrics = gate_loss(lambda frames: logits, (None, labels))
    wild = logits.clone()
    wild[1, 1] = -50.0  # far wrong, had it a label
    assert torch.allclose(gate_loss(lambda frames: wild, (None, labels))[0], loss)
    assert metrics == {"accuracy": pytest.approx(2 / 3), "accuracy_vertical": 1.0}
    plain = torch.nn.functional.binary_cross_entropy_with_logits(logits[[0, 2]], labels[[0, 2]].clamp(min=0))
    assert not torch.allclose(loss, plain)  # each column is a mean over its own labelled frames
    columns = [torch.nn.functional.binary_cross_entropy_with_logits(logits[rows, k], labels[rows, k])
               for k, rows in ((0, [0, 1, 2]), (1, [0, 2]))]
    assert torch.allclose(loss, sum(columns) / 2)


def test_the_vertical_answer_learns_nothing_from_flat_colour_renders(tmp_path):
    data, _ = write_two_game_data(tmp_path / "data", ninja_variant="mono")
    assert sorted(Recording(data, "train").variants.tolist()) == ["default", "default", "mono", "mono"]
    run = gate_run(CameraGateConfig(channels=4, depth=2, vertical=True), data, torch.device("cpu"), ["ninja"])
    _, labels = run.next_batch(64)  # (64, 2): ninja frames scroll 0 and are mono, CoinRun's scroll 1
    games = labels[:64 - round(64 * PICTURE_SHARE)]
    assert set(games[games[:, 0] == 0, 1].tolist()) == {NO_LABEL}
    assert set(games[games[:, 0] == 1, 1].tolist()) == {0.0}
    assert set(labels[len(games):, 1].tolist()) == {1.0}
    assert run.provenance["vertical_unlabelled"] == ["mono", "plain"]


def test_train_gate_starts_a_vertical_gate_from_a_sideways_one(tmp_path):
    data, _ = write_two_game_data(tmp_path / "data")
    sideways = gate_saying(True)  # the tiny preset's size, without the vertical head
    save_checkpoint(tmp_path / "sideways.safetensors", sideways)
    out = tmp_path / "run"
    result = train_gate(data, out, "--still-games", "ninja", "--max-steps", "1", "--lr", "1e-9",
                        "--init", str(tmp_path / "sideways.safetensors"), preset="tiny-vertical")
    assert result.exit_code == 0, result.output
    trained = load_model(out / "gate.safetensors", "gate")
    assert trained.config.vertical and trained(random_frames(3)).shape == (3, 2)
    assert torch.allclose(trained.head.bias, sideways.head.bias, atol=1e-3)
    logged = [json.loads(line) for line in (out / "gate.metrics.jsonl").read_text().splitlines()]
    assert {"accuracy", "accuracy_vertical"} <= set(logged[-1])


@pytest.mark.parametrize("extra, message", [
    ((), "train gate needs --still-games"),
    (("--still-games", "leaper"), "no episodes of leaper; it holds coinrun, ninja"),
])
def test_train_gate_without_known_still_games_is_one_line(tmp_path, extra, message):
    data, _ = write_two_game_data(tmp_path / "data")
    result = train_gate(data, tmp_path / "run", *extra)
    assert result.exit_code != 0 and message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "gate.safetensors").exists()


def test_still_games_belong_to_the_gate_only(tmp_path):
    data, _ = write_two_game_data(tmp_path / "data")
    result = CliRunner().invoke(app, ["train", "lam", "--preset", "tiny", "--device", "cpu", "--data", str(data),
                                      "--out", str(tmp_path / "run"), "--still-games", "ninja"])
    assert result.exit_code != 0 and "--still-games is for the gate, not the lam" in result.output


def test_the_keep_threshold_decides_in_game_frames_and_leaves_pictures_to_plain_sampling(prompt_array):
    def tokens_after_a_step(vertical, keep_threshold):
        world = World(make_tokenizer(), make_dynamics(), make_lam(), maskgit_steps=2, code_motion=RIGHT_UP,
                      camera_gate=gate_saying(True, vertical), keep_threshold=keep_threshold)
        world.reset(prompt_array)
        before = world.tokens.clone()
        world.step(0)
        return before, world.tokens

    before, game = tokens_after_a_step(vertical=False, keep_threshold=1.0)
    assert (game != before).all()  # a game frame: every position under 100% keeping changes
    picture, plain = tokens_after_a_step(True, 1.0)[1], tokens_after_a_step(True, None)[1]
    assert torch.equal(picture, plain)  # a picture the camera moves up and down: sampled as without the threshold

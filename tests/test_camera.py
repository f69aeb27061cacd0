"""Camera motion: block rolls, mirrored rows, the pan, the world moving its token grid, pixels and KV cache with it
(and undo putting them back), the dynamics' vertical stand-in codes, the table measured from recorded play, and
play.json carrying it."""

import json

import numpy as np
import pytest
import torch

from conftest import make_dynamics, make_lam, make_tokenizer, random_frames, write_tiny_data, write_two_game_data
from genie_play.camera import (camera_motion, clip_shifts, fit_code_motion, mirror_rows, roll_blocks, scroll, shift_frames, split_motion,
                               vertical_stand_ins)
from genie_play.errors import CheckpointError
from genie_play.world import World, load_world

STILL = [[0.0, 0.0]] * 8


def make_world(code_motion, seed=0, **kw):
    kw.setdefault("maskgit_steps", 2)
    return World(make_tokenizer(), make_dynamics(), make_lam(), seed=seed, code_motion=code_motion, **kw)


def motion_for(code, dx, dy=0.0):
    table = [[0.0, 0.0] for _ in range(8)]
    table[code] = [dx, dy]
    return table


# --- rolls and pans -------------------------------------------------------------------------------------------
def test_roll_blocks_moves_whole_blocks_and_repeats_the_edge_block():
    x = torch.arange(12).view(1, 12)
    assert roll_blocks(x, 1, 1, 4).tolist() == [[0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7]]
    assert roll_blocks(x, 1, -2, 4).tolist() == [[8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11]]
    assert torch.equal(roll_blocks(x, 1, 0, 4), x)
    assert roll_blocks(x, 1, 20, 1).tolist() == [[0] * 12]  # further than the row: all edge, nothing wraps


def test_scroll_wraps_columns_around_and_mirrors_the_rows_at_the_edge():
    x = torch.arange(16).view(4, 4)
    assert scroll(x, 1, 0, 1, (0, 1)).tolist() == [[3, 0, 1, 2], [7, 4, 5, 6], [11, 8, 9, 10], [15, 12, 13, 14]]
    assert scroll(x, -1, 0, 1, (0, 1)).tolist() == [[1, 2, 3, 0], [5, 6, 7, 4], [9, 10, 11, 8], [13, 14, 15, 12]]
    assert scroll(x, 0, 1, 1, (0, 1)).tolist() == [[0, 1, 2, 3], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert scroll(x, 0, 2, 1, (0, 1))[:, 0].tolist() == [4, 0, 0, 4]  # rows 1, 0 mirrored above rows 0, 1
    assert scroll(x, 0, -1, 2, (0, 1))[:, 0].tolist() == [8, 12, 12, 8]  # one block of 2 rows up
    assert torch.equal(scroll(scroll(x, 3, 0, 1, (0, 1)), -3, 0, 1, (0, 1)), x)  # sideways nothing is lost
    cells = torch.arange(4 * 4 * 2).view(4, 4, 2)  # blocks of 2 columns, a trailing dim carried along
    assert torch.equal(scroll(cells, 1, 0, 2, (0, 1)), torch.cat([cells[:, 2:], cells[:, :2]], 1))


def test_mirror_rows_reflects_at_either_edge_and_keeps_the_rest():
    x = torch.arange(6) * 10
    assert mirror_rows(x, 0, 3).tolist() == [20, 10, 0, 0, 10, 20]
    assert mirror_rows(x, 0, -2).tolist() == [20, 30, 40, 50, 50, 40]
    assert mirror_rows(x, 0, 9).tolist() == [30, 40, 50, 50, 40, 30]  # further than the row: reflected twice
    frames = random_frames(1, seed=5)[0]  # (64, 64, 3)
    assert torch.equal(mirror_rows(frames, 0, 5)[5:], frames[:59])


def test_codes_the_labels_call_still_move_no_camera(prompt_array):
    table = [[-0.48, -0.04], [0.1, -1.2], [-0.01, -0.11], [0.0, 0.149], [0.16, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    assert camera_motion(table)[:5].tolist() == [[-0.48, -0.04], [0.1, -1.2], [0.0, 0.0], [0.0, 0.0], [0.16, 0.0]]
    world = make_world(motion_for(4, -0.1, 0.14))
    world.reset(prompt_array)
    for _ in range(3):
        world.step(4)
    assert world.camera.tolist() == [[0.0, 0.0]] and world.travel.tolist() == [0.0]


def test_vertical_stand_ins_replace_codes_that_move_up_or_down_by_their_sideways_part():
    table = [[-0.5, 0.0], [0.5, 0.0], [-0.2, -1.1], [0.0, -0.1], [0.0, 0.0], [0.45, 1.3], [0.0, 0.4], [-0.45, 0.6]]
    assert vertical_stand_ins(table).tolist() == [0, 1, 4, 3, 4, 1, 6, 0]
    assert vertical_stand_ins(STILL).tolist() == list(range(8))


def test_shift_frames_moves_pixels_and_fills_the_uncovered_edge():
    frames = random_frames(2, seed=3)  # (2, 64, 64, 3)
    moved = shift_frames(frames, np.array([[3, -2], [0, 0]]))
    assert torch.equal(moved[1], frames[1])
    assert torch.equal(moved[0, :62, 3:], frames[0, 2:, :61])
    assert torch.equal(moved[0, :62, :3], frames[0, 2:, :1].expand(62, 3, 3))  # left edge repeats column 0
    assert torch.equal(moved[0, 62:], moved[0, 61:62].expand(2, 64, 3))  # bottom edge repeats the last row


def test_split_motion_keeps_the_total_and_pans_under_half_a_token():
    camera = np.array([[3.9, -4.1], [12.5, 0.0], [-20.0, 4.0]])
    steps, pan = split_motion(camera, 8)
    assert np.allclose(steps * 8 + pan, camera)
    assert ((pan >= -4) & (pan < 4)).all()
    assert steps.tolist() == [[0, -1], [2, 0], [-2, 1]]


# --- the world ----------------------------------------------------------------------------------------------
def test_a_still_camera_gives_the_frames_of_no_camera(prompt_array):
    worlds = [make_world(None, seed=3), make_world(STILL, seed=3)]
    runs = []
    for world in worlds:
        world.reset(prompt_array)
        runs.append(np.stack([world.step(a) for a in (0, 3, 5, 1)]))
    assert np.array_equal(*runs)


def test_the_frame_on_screen_is_the_worlds_own_panned(prompt_array):
    world = make_world(motion_for(2, 3.0, -1.0), temperature=0.0)
    world.reset(prompt_array)
    shown = world.step(2)
    own = world.pixels[0].numpy()
    assert world.camera.tolist() == [[3.0, -1.0]]
    assert np.array_equal(shown[:63, 3:], own[1:, :61])
    world.step(0)  # a code without motion leaves the pan where it is
    assert world.camera.tolist() == [[3.0, -1.0]]


def test_a_whole_token_of_motion_moves_tokens_pixels_and_cache(prompt_array):
    world = make_world(motion_for(4, 8.0))  # one token right a step
    world.reset(prompt_array)
    world.step(1)
    world.settle()
    tokens, pixels = world.tokens.view(8, 8).clone(), world.pixels[0].clone()
    k = world.cache.k.view(world.cache.k.shape[0], 8, 8, *world.cache.k.shape[2:]).clone()  # (L, 8, 8, heads, window, hd)
    with torch.inference_mode():  # as in step(): the cache holds inference tensors
        world._move_camera(np.array([4]), _step_of(world))
    assert world.camera.tolist() == [[0.0, 0.0]]
    moved = world.tokens.view(8, 8)  # the last column wraps around to the first: tokens, pixels and past together
    assert torch.equal(moved[:, 1:], tokens[:, :-1]) and torch.equal(moved[:, 0], tokens[:, -1])
    assert torch.equal(world.pixels[0, :, 8:], pixels[:, :-8]) and torch.equal(world.pixels[0, :, :8], pixels[:, -8:])
    moved_k = world.cache.k.view_as(k)
    assert torch.equal(moved_k[:, :, 1:], k[:, :, :-1]) and torch.equal(moved_k[:, :, 0], k[:, :, -1])


def test_a_grouped_dynamics_moves_the_grid_by_whole_positions(prompt_array):
    """Patch-4 tokens, 2x2 to a position: the camera's whole moves are 8 px, two token columns, one cache column."""
    world = World(make_tokenizer(patch=4), make_dynamics(patch=4, group=2), make_lam(), seed=0,
                  code_motion=motion_for(4, 5.0), maskgit_steps=2)
    world.reset(prompt_array)
    world.step(1)
    world.settle()
    tokens, pixels = world.tokens.view(16, 16).clone(), world.pixels[0].clone()
    k = world.cache.k.view(world.cache.k.shape[0], 8, 8, *world.cache.k.shape[2:]).clone()
    with torch.inference_mode():
        world._move_camera(np.array([4]), _step_of(world))
    assert world.camera.tolist() == [[-3.0, 0.0]]  # 5 px: one 8-px move, -3 px left to pan
    moved = world.tokens.view(16, 16)
    assert torch.equal(moved[:, 2:], tokens[:, :-2]) and torch.equal(moved[:, :2], tokens[:, -2:])
    assert torch.equal(world.pixels[0, :, 8:], pixels[:, :-8])
    moved_k = world.cache.k.view_as(k)
    assert torch.equal(moved_k[:, :, 1:], k[:, :, :-1]) and torch.equal(moved_k[:, :, 0], k[:, :, -1])
    assert world.step(4).shape == (64, 64, 3)


def _step_of(world):
    from genie_play.world import _Step

    return _Step(world.frames, world.tokens, world.pixels, world.camera.copy(), world.travel.copy())


def test_holding_a_moving_code_scrolls_the_scene_its_way(prompt_array):
    from genie_play.labels import scene_shift

    world = make_world(motion_for(0, -2.0), temperature=0.0, maskgit_steps=1)
    first = world.reset(prompt_array)
    for _ in range(6):
        last = world.step(0)
    dx, dy = scene_shift(first, last)
    assert dx < -6 and abs(dy) < 2  # 12 px left in all, of which whatever the dynamics regenerates


def test_the_dynamics_gets_the_stand_in_only_where_the_camera_moves_the_view_up_and_down(prompt_array):
    table = motion_for(5, 0.0, 1.5)  # code 5 moves the view 1.5 px down a step; its stand-in is code 0
    world = make_world(table)
    world.reset(prompt_array)
    world.step(5)
    assert world.pending[1].tolist() == [0] and world.travel.tolist() == [1.5]
    world.step(2)
    assert world.pending[1].tolist() == [2]
    world.camera_axes[:] = [True, False]  # as a gate that keeps the view from moving up and down sets it
    world.step(5)
    assert world.pending[1].tolist() == [5] and world.travel.tolist() == [1.5]
    sideways_only = make_world(motion_for(5, 0.0, 0.0))
    sideways_only.reset(prompt_array)
    sideways_only.step(5)
    assert sideways_only.pending[1].tolist() == [5]


def test_undo_after_the_grid_moved_restores_frame_tokens_and_cache(prompt_array):
    world = make_world(motion_for(5, 0.0, 8.0), seed=2)
    world.reset(prompt_array)
    for code in (1, 2, 3):
        world.step(code)
    world.settle()
    frame, tokens, camera = world.frame.copy(), world.tokens.clone(), world.camera.copy()
    k, v, position = world.cache.k.clone(), world.cache.v.clone(), int(world.cache.position)
    world.step(5)
    world.settle()
    assert not torch.equal(world.cache.k, k)
    world.undo()
    assert np.array_equal(world.frame, frame) and torch.equal(world.tokens, tokens)
    assert np.array_equal(world.camera, camera) and int(world.cache.position) == position
    assert torch.equal(world.cache.k, k) and torch.equal(world.cache.v, v)


def test_camera_worlds_repeat_with_a_seed_and_batch_alike(prompt_array):
    table = [[-3.0, 0.5], [2.5, 0.0], [0.0, -9.0], [1.0, 1.0], [0.0, 0.0], [5.0, 0.0], [-0.5, -0.5], [0.0, 4.0]]
    codes = [0, 2, 5, 5, 7, 1, 3, 2]
    single = [make_world(table, seed=4) for _ in range(2)]
    runs = []
    for world in single:
        world.reset(prompt_array)
        runs.append(np.stack([world.step(c) for c in codes]))
    assert np.array_equal(*runs)
    batched = make_world(table, seed=4, batch=2)
    batched.reset(prompt_array)
    frames = np.stack([batched.step_batch([c, 4])[0] for c in codes])
    assert frames.shape == runs[0].shape and batched.camera[1].tolist() == [0.0, 0.0]


def test_graph_path_with_a_camera_gives_the_frames_of_the_eager_path(monkeypatch, prompt_array):
    from test_world import ACTIONS, _graphed_world, _rollout

    table = [[-5.0, 0.0], [3.0, 2.0], [0.0, -6.0], [9.0, 0.0], [0.0, 0.0], [-1.5, 4.5], [0.0, 0.0], [2.0, -8.0]]
    kw = dict(seed=4, batch=2, temperature=0.7, maskgit_steps=2, code_motion=table)
    eager = _rollout(World(make_tokenizer(), make_dynamics(), make_lam(), **kw), prompt_array, ACTIONS * 3)
    assert np.array_equal(_rollout(_graphed_world(monkeypatch, **kw), prompt_array, ACTIONS * 3), eager)


def test_bad_camera_motion_is_refused():
    with pytest.raises(CheckpointError, match="8 pairs"):
        make_world([[1.0, 2.0]] * 7)
    with pytest.raises(CheckpointError, match="8 pairs"):
        make_world([[float("nan"), 0.0]] * 8)


def test_load_world_reads_the_camera_from_play_json(tiny_weights):
    (tiny_weights / "play.json").write_text(json.dumps({"code_motion": motion_for(3, -0.5, 0.25)}))
    assert load_world(tiny_weights, device="cpu").code_motion[3].tolist() == [-0.5, 0.25]
    assert load_world(tiny_weights, device="cpu", code_motion=None).code_motion is None
    (tiny_weights / "play.json").write_text(json.dumps({"code_motion": [[0, 0]] * 3}))
    with pytest.raises(CheckpointError, match=r"play\.json: code_motion"):
        load_world(tiny_weights, device="cpu")


# --- measuring it -------------------------------------------------------------------------------------------
def _scrolling_clips(count, dx):
    """(count, 16, 64, 64, 3) uint8: a smooth random picture scrolling dx px a frame, wrapping around."""
    rng = np.random.default_rng(0)
    base = torch.nn.functional.interpolate(torch.from_numpy(rng.random((count, 3, 16, 16))).float(), size=64,
                                           mode="bicubic").clamp(0, 1).mul(255).byte().permute(0, 2, 3, 1).numpy()
    return np.stack([np.stack([np.roll(b, dx * t, axis=1) for t in range(16)]) for b in base])


def test_fit_code_motion_is_the_mean_shift_of_each_code():
    clips = _scrolling_clips(3, 2)
    shifts = clip_shifts(clips)
    assert np.allclose(shifts, [2.0, 0.0], atol=0.05)
    lam = make_lam()
    motion, share = fit_code_motion(lam, clips, batch=2)
    codes = lam.infer_actions(torch.from_numpy(clips)).numpy().ravel()
    used = np.bincount(codes, minlength=8) > 0
    assert np.allclose(motion[used], [2.0, 0.0], atol=0.05) and (motion[~used] == 0).all()
    assert np.isclose(share.sum(), 1.0) and np.allclose(share, np.bincount(codes, minlength=8) / codes.size)


def test_motion_command_prints_and_saves_into_play_json(tmp_path, tiny_weights):
    from typer.testing import CliRunner

    from genie_play.cli import app

    data = write_tiny_data(tmp_path / "data")
    (tiny_weights / "play.json").write_text(json.dumps({"temperature": 0.25}))
    result = CliRunner().invoke(app, ["motion", "--data", str(data), "--weights", str(tiny_weights),
                                      "--clips", "4", "--device", "cpu", "--save"])
    assert result.exit_code == 0, result.output
    assert result.output.count("px a step") == 8
    saved = json.loads((tiny_weights / "play.json").read_text())
    assert saved["temperature"] == 0.25 and np.asarray(saved["code_motion"]).shape == (8, 2)
    assert "genie-play motion" in saved["code_motion_source"]
    assert all(dy == 0 for _, dy in saved["code_motion"])  # --axes x, the default: the view moves sideways only
    assert load_world(tiny_weights, device="cpu").code_motion.shape == (8, 2)


def test_motion_command_names_the_codes_by_their_motion_only_when_asked(tmp_path, tiny_weights):
    from typer.testing import CliRunner

    from genie_play.cli import app

    data = write_tiny_data(tmp_path / "data")
    (tiny_weights / "play.json").write_text(json.dumps({"code_labels": [f"mine {k}" for k in range(8)]}))
    args = ["motion", "--data", str(data), "--weights", str(tiny_weights), "--clips", "4", "--device", "cpu", "--save"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert json.loads((tiny_weights / "play.json").read_text())["code_labels"][0] == "mine 0"  # kept without --labels
    result = CliRunner().invoke(app, args + ["--labels"])
    assert result.exit_code == 0, result.output
    saved = json.loads((tiny_weights / "play.json").read_text())
    printed = [line.split("transitions): ")[1].split(";")[0] for line in result.output.splitlines() if line.startswith("code ")]
    assert saved["code_labels"] == printed and len(set(printed)) == 8
    assert "--labels" in saved["code_labels_source"]
    assert load_world(tiny_weights, device="cpu").code_labels == printed


def test_motion_labels_need_save_and_fail_before_any_work(tmp_path, tiny_weights):
    from typer.testing import CliRunner

    from genie_play.cli import app

    result = CliRunner().invoke(app, ["motion", "--data", str(tmp_path / "none"), "--weights", str(tiny_weights),
                                      "--labels"])
    assert result.exit_code == 2 and "--labels writes the names into play.json, so it needs --save" in result.output
    assert not (tiny_weights / "play.json").exists()


def test_motion_command_refuses_unknown_axes_before_any_work(tmp_path, tiny_weights):
    from typer.testing import CliRunner

    from genie_play.cli import app

    result = CliRunner().invoke(app, ["motion", "--data", str(tmp_path / "none"), "--weights", str(tiny_weights),
                                      "--axes", "z", "--save"])
    assert result.exit_code == 2 and "--axes z: choose x or xy" in result.output
    assert not (tiny_weights / "play.json").exists()


def test_measured_motion_keeps_dy_only_with_both_axes(tmp_path, tiny_weights):
    from genie_play.camera import measure_code_motion

    data = write_tiny_data(tmp_path / "data")
    both = measure_code_motion(tiny_weights, data, clips=6, device="cpu", axes="xy")["code_motion"]
    sideways = measure_code_motion(tiny_weights, data, clips=6, device="cpu")["code_motion"]
    assert [dx for dx, _ in sideways] == [dx for dx, _ in both] and all(dy == 0 for _, dy in sideways)
    assert any(dy != 0 for _, dy in both)  # blocky noise: phase correlation finds some vertical shift


def test_render_no_camera_leaves_the_view_where_the_dynamics_puts_it(tmp_path, tiny_weights):
    from PIL import Image, ImageSequence
    from typer.testing import CliRunner

    from genie_play.cli import app

    (tiny_weights / "play.json").write_text(json.dumps({"temperature": 0.0, "maskgit_steps": 1,
                                                        "code_motion": motion_for(0, -3.0)}))
    strips = {}
    for flag in ("--camera", "--no-camera"):
        out = tmp_path / f"{flag.strip('-')}.png"
        result = CliRunner().invoke(app, ["render", "--weights", str(tiny_weights), "--actions", "0,0,0",
                                          "--out", str(out), "--scale", "1", "--device", "cpu", flag])
        assert result.exit_code == 0, result.output
        strips[flag] = np.array(Image.open(out).convert("RGB"))  # (64, 4 * 64, 3): prompt and 3 steps
    plain = load_world(tiny_weights, device="cpu", code_motion=None)
    plain.reset(strips["--camera"][:, :64])
    expected = np.concatenate([plain.frame] + [plain.step(0) for _ in range(3)], axis=1)
    assert np.array_equal(strips["--no-camera"], expected)
    assert not np.array_equal(strips["--camera"], strips["--no-camera"])


def test_recording_keeps_only_the_games_asked_for(tmp_path):
    from genie_play.data.datasets import Recording
    from genie_play.errors import DataError

    data, ninja_frames = write_two_game_data(tmp_path / "data")
    assert sorted(set(Recording(data, "train").games)) == ["coinrun", "ninja"]
    ninja = Recording(data, "train", games=["ninja"])
    assert set(ninja.games) == {"ninja"} and np.array_equal(ninja.frames, ninja_frames)
    assert len(ninja.arrays["first"]) == len(ninja_frames)
    for asked in (["bigfish"], ["ninja", "bigfish"]):  # one misspelt or absent game is enough to stop
        with pytest.raises(DataError, match=r"train\): no episodes of bigfish; it holds coinrun, ninja$"):
            Recording(data, "train", games=asked)


def test_motion_command_measures_on_the_games_asked_for(tmp_path, tiny_weights):
    from typer.testing import CliRunner

    from genie_play.camera import measure_code_motion
    from genie_play.cli import app

    data, _ = write_two_game_data(tmp_path / "data")
    ninja = measure_code_motion(tiny_weights, data, clips=6, device="cpu", games=["ninja"])
    both = measure_code_motion(tiny_weights, data, clips=6, device="cpu")
    assert ninja["code_motion"] != both["code_motion"]  # other clips, other shifts
    result = CliRunner().invoke(app, ["motion", "--data", str(data), "--weights", str(tiny_weights), "--clips", "6",
                                      "--device", "cpu", "--games", "ninja", "--save", "--labels"])
    assert result.exit_code == 0, result.output
    saved = json.loads((tiny_weights / "play.json").read_text())
    assert saved["code_motion"] == ninja["code_motion"]
    assert "games ninja" in saved["code_motion_source"] and "--games ninja" in saved["code_motion_source"]
    assert "games ninja" in saved["code_labels_source"] and "--games ninja --save --labels" in saved["code_labels_source"]


# --- the hero stays on screen ---------------------------------------------------------------------------------
def test_a_stamped_hero_stays_on_screen_while_the_camera_moves_the_level():
    from genie_play.levels import find_heroes, hero_size, hero_sprite, spawn_point, starter_level

    level = starter_level()
    world = make_world(motion_for(1, 3.0))
    first = world.reset(level, drawn=True)
    assert np.array_equal(first, level)  # the first frame is the prompt, hero and all
    assert find_heroes(world.pixels[0].numpy()) == []  # the world plays the level without the hero
    (left, top), (width, height) = spawn_point(), hero_size()
    drawn = hero_sprite()[1] > 0
    for _ in range(6):
        frame = world.step(1)
        box = frame[top:top + height, left:left + width]
        assert np.array_equal(box[drawn], level[top:top + height, left:left + width][drawn])
    assert world.camera[0].tolist() == [2.0, 0.0]  # the level moved 18 px: two whole tokens and a 2-px pan
    assert find_heroes(frame) == [spawn_point()]
    assert find_heroes(world.undo()) == [spawn_point()]


def test_without_a_camera_the_hero_stays_in_the_world(prompt_array):
    from genie_play.levels import find_heroes, starter_level

    world = make_world(None)
    world.reset(starter_level(), drawn=True)
    assert world.heroes == [[]] and find_heroes(world.pixels[0].numpy()) != []

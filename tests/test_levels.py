"""Level drawing below the app: palette, hero stamp, starter and procedural levels."""

import ast
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import genie_play
from genie_play.levels import (HERO_SPAWN, PALETTE, PARTIAL_COVER, Hero, find_heroes, find_player, hero_size, hero_sprite,
                               player_box, random_level, remove_heroes, remove_player, spawn_point, stamp_hero,
                               starter_level)

PROMPTS = Path(__file__).resolve().parent.parent / "assets" / "prompts"


def test_starter_and_random_levels_are_playable_frames():
    start = starter_level(64)
    assert start.shape == (64, 64, 3) and start.dtype == np.uint8
    assert tuple(start[0, 0]) == PALETTE["sky"] and tuple(start[63, 0]) == PALETTE["ground"]
    assert (np.all(start == PALETTE["player"], axis=2)).any()
    level = random_level(3)
    assert level.shape == (64, 64, 3)
    assert np.array_equal(level, random_level(3)) and not np.array_equal(level, random_level(4))


@pytest.mark.parametrize("level", [starter_level(64), random_level(5), random_level(6)], ids=["starter", "r5", "r6"])
def test_levels_start_with_the_hero_where_the_world_expects_its_player(level):
    left, top = HERO_SPAWN
    width, height = hero_size(64)
    colours, cover = hero_sprite()
    region = level[top:top + height, left:left + width]
    assert np.array_equal(region[cover == 1], colours[cover == 1])
    under = level[top + height, left:left + width]  # something to stand on, unlike the sky above
    assert not np.all(under == level[top - 2, left:left + width])


def test_starter_level_scales_with_the_frame():
    big = starter_level(128)
    assert big.shape == (128, 128, 3)
    assert hero_size(128) == (8, 12) and spawn_point(128) == (60, 58)
    assert (np.all(big == PALETTE["player"], axis=2)).sum() == 4 * (np.all(starter_level(64) == PALETTE["player"], axis=2)).sum()


def test_hero_stamp_blends_its_outline_and_clips_at_the_edges():
    black = np.zeros((64, 64, 3), np.uint8)
    stamp_hero(black, 10, 10)
    colours, cover = hero_sprite()
    region = black[10:16, 10:14].astype(int)
    assert np.array_equal(region[cover == 1], colours[cover == 1])
    partial = cover == PARTIAL_COVER
    assert partial.any() and np.all(np.abs(region[partial] - colours[partial] * PARTIAL_COVER) <= 1)
    assert not black[cover.shape[0] + 10:].any() and not black[:, :10].any()
    edge = np.zeros((64, 64, 3), np.uint8)
    stamp_hero(edge, 62, -3)  # partly outside
    assert edge[:3, 62:].any() and not edge[3:].any()
    outside = np.zeros((64, 64, 3), np.uint8)
    stamp_hero(outside, 70, 70)
    assert not outside.any()


@pytest.mark.parametrize("prompt", ["coinrun-test-level-10131.png", "coinrun-test-level-10729.png"])
def test_the_hero_looks_like_the_coinrun_player_in_real_frames(prompt):
    frame = np.asarray(Image.open(PROMPTS / prompt).convert("RGB")).astype(int)
    left, top = HERO_SPAWN
    colours, cover = hero_sprite()
    real = frame[top:top + cover.shape[0], left:left + cover.shape[1]]
    close = np.abs(real - colours).max(axis=-1)[cover == 1] <= 2
    assert close.sum() >= 10  # of 12 solid pixels; the legs blend a little


def test_nothing_below_the_app_imports_the_app():
    """cli.py is the entry point above everything: it registers the app's commands."""
    root = Path(genie_play.__file__).resolve().parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.relative_to(root).parts[0] in ("app", "cli.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {name}" for name in names if name.startswith("genie_play.app")]
    assert offenders == []


def test_find_heroes_finds_every_whole_stamp_and_nothing_else():
    level = random_level(3)
    assert find_heroes(level) == [spawn_point()]
    stamp_hero(level, 5, 40)
    stamp_hero(level, 62, 10)  # clipped at the right edge: not a whole stamp
    assert sorted(find_heroes(level)) == sorted([spawn_point(), (5, 40)])
    assert find_heroes(np.full((64, 64, 3), 200, np.uint8)) == []


def test_remove_heroes_fills_each_box_from_its_row_and_leaves_the_rest():
    level = starter_level()
    heroes = find_heroes(level)
    clean = remove_heroes(level, heroes)
    assert find_heroes(clean) == []
    (left, top), (width, height) = heroes[0], hero_size()
    assert (clean[top:top + height, left:left + width] == PALETTE["sky"]).all()  # the hero stood in the sky
    outside = np.ones((64, 64), bool)
    outside[top:top + height, left:left + width] = False
    assert np.array_equal(clean[outside], level[outside])
    stamp_hero(clean, left, top)
    assert np.array_equal(clean, level)  # the stamp over the filled sky is the level again


def _room_edge_with_a_player():
    """A grey floor-to-ceiling wall left of x = 30, where the player's box starts, a black room right of it and a
    4 x 6 player standing in the room, by its wall."""
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[:, :30] = (186, 200, 201)
    frame[30:36, 31:35] = (230, 218, 191)
    frame[32, 31:35] = (64, 51, 51)
    return frame


def test_find_player_marks_the_sprite_at_the_centre_and_not_the_level():
    frame = _room_edge_with_a_player()
    left, top, cover = find_player(frame)
    assert (left, top, cover.shape) == (*player_box()[:2], player_box()[:1:-1])
    marked = np.zeros((64, 64), bool)
    marked[top:top + cover.shape[0], left:left + cover.shape[1]] = cover
    expected = np.zeros((64, 64), bool)
    expected[30:36, 31:35] = True
    assert np.array_equal(marked, expected)  # the wall's edge through the box is not the player's
    room = _room_edge_with_a_player()
    room[30:36, 31:35] = 0
    assert find_player(room) is None  # the level alone: its edge stands out from two sides only
    assert find_player(np.full((64, 64, 3), 90, np.uint8)) is None


def test_the_real_coinrun_players_are_found_whole():
    for path in sorted(PROMPTS.glob("coinrun-*.png")):
        frame = np.array(Image.open(path).convert("RGB"))
        left, top, cover = find_player(frame)
        assert 12 <= cover.sum() <= 40, path.name  # a 4 x 6 sprite and its outline


def test_remove_player_fills_each_side_of_an_edge_from_its_own_side():
    frame = _room_edge_with_a_player()
    player = find_player(frame)
    clean = remove_player(frame, player)
    expected = frame.copy()
    expected[30:36, 31:35] = 0  # from the room's pixels in the box, not the wall's beside it
    assert np.array_equal(clean, expected)
    hero = Hero.player_in(frame)
    assert not hero.stamp and hero.shown_in(frame) and not hero.shown_in(clean)
    assert np.array_equal(hero.taken_out(frame), clean)
    hero.drawn_over(clean)
    assert np.array_equal(clean, frame)

"""Automatic labelling: phase correlation on synthetic shifts, labels from a FakeWorld, cache."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_world import EXPECTED_LABELS, SCENE_SHIFTS, FakeWorld, texture
from genie_play.levels import Hero
from genie_play.labels import (code_names, format_label_table, label_codes, label_for_motion, label_names,
                               load_labels, save_labels, scene_shift)
from genie_play.paths import labels_path

NOISE = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)


@settings(max_examples=40, deadline=None)
@given(st.integers(-31, 31), st.integers(-31, 31))
def test_phase_correlation_recovers_a_circular_shift_exactly(dx, dy):
    shifted = np.roll(NOISE, (dy, dx), axis=(0, 1))
    found_dx, found_dy = scene_shift(NOISE, shifted, window=False)
    assert (found_dx, found_dy) == pytest.approx((dx, dy), abs=1e-6)


@pytest.mark.parametrize("dx, dy", [(0, 0), (1, 0), (0, -1), (5, -3), (-7, 9), (12, 12)])
def test_phase_correlation_with_window_finds_the_integer_shift(dx, dy):
    shifted = np.roll(NOISE, (dy, dx), axis=(0, 1))
    found_dx, found_dy = scene_shift(NOISE, shifted)
    assert (round(found_dx), round(found_dy)) == (dx, dy)


def test_phase_correlation_on_a_non_circular_scroll():
    """A camera pan: a window sliding over a bigger world, so new content enters at one edge."""
    world = np.random.default_rng(1).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    before = world[10:74, 10:74]
    after = world[12:76, 7:71]  # camera moved left 3 and down 2 -> scene moved right 3, up 2
    found_dx, found_dy = scene_shift(before, after)
    assert (round(found_dx), round(found_dy)) == (3, -2)
    assert label_for_motion(found_dx, found_dy, change=0.1) == "down-left"  # the player went left, down


def test_sign_convention_scene_moving_left_means_player_moving_right():
    assert label_for_motion(dx=-2.0, dy=0.0, change=0.1) == "right"
    assert label_for_motion(dx=2.0, dy=0.0, change=0.1) == "left"
    assert label_for_motion(dx=0.0, dy=2.0, change=0.1) == "jump"
    assert label_for_motion(dx=-2.0, dy=2.0, change=0.1) == "jump-right"
    assert label_for_motion(dx=0.0, dy=-2.0, change=0.1) == "down"
    assert label_for_motion(dx=0.1, dy=0.0, change=0.001) == "still"
    assert label_for_motion(dx=0.1, dy=0.0, change=0.2) == "other"


def test_labels_from_a_world_whose_codes_shift_the_scene():
    world = FakeWorld()
    prompts = [texture(seed) for seed in range(3)]
    rows = label_codes(world, prompts, steps=3)
    assert [row["label"] for row in rows] == EXPECTED_LABELS
    for row, (dx, dy) in zip(rows, SCENE_SHIFTS):
        assert (round(row["dx"]), round(row["dy"])) == (dx, dy)
        assert set(row) == {"code", "dx", "dy", "change", "label"}
    assert world.actions.count(0) == 3 * 3


class HeroOnScreenWorld(FakeWorld):
    """FakeWorld scrolling the level under a player it keeps at the frame's centre, as World.heroes does."""

    def reset(self, image, drawn=None):
        self.level = super().reset(image, drawn)
        shown = self.level.copy()
        shown[30:36, 31:35] = (230, 218, 191)
        self.heroes = [[Hero.player_in(shown)]]
        self.history = [shown]
        return self.frame

    def step(self, action):
        self.history[-1] = self.level
        self.level = super().step(action)
        self.heroes[0][0].drawn_over(self.history[-1])
        return self.frame


def _faint_level(seed):
    """Large, faint blocks (a CoinRun-like level of flat areas), against which a bright hero stands out."""
    blocks = np.random.default_rng(seed).integers(100, 140, (4, 4, 3), dtype=np.uint8)
    return blocks.repeat(16, 0).repeat(16, 1)


def test_labels_measure_the_level_under_a_hero_the_world_keeps_on_screen():
    world = HeroOnScreenWorld()
    rows = label_codes(world, [_faint_level(seed) for seed in range(3)], steps=3)
    assert [row["label"] for row in rows] == EXPECTED_LABELS
    for row, (dx, dy) in zip(rows, SCENE_SHIFTS):
        assert (round(row["dx"]), round(row["dy"])) == (dx, dy)


def test_labels_from_motion_name_what_each_code_does_to_the_view():
    from genie_play.labels import labels_from_motion

    motion = [[-0.566, -0.101], [0.229, -0.111], [-0.19, -1.554], [-0.084, -1.873],  # the bundled LAM's codes
              [-0.046, -0.098], [-0.055, 1.799], [0.011, -0.033], [-0.061, 1.9]]
    assert labels_from_motion(motion) == ["right", "left", "down-right", "down", "still", "jump", "still 2", "jump 2"]
    assert labels_from_motion([[0.3, 0.3]], threshold=0.5) == ["still"]
    assert labels_from_motion([[0, 0], [0, 0], [0, 0]], used=[True, False, False]) == ["still", "unused", "unused 2"]
    assert labels_from_motion([[0.3, 0.3]], threshold=0.2) == ["jump-left"]  # the camera follows: scene right = player left


def test_label_codes_needs_a_prompt():
    with pytest.raises(ValueError):
        label_codes(FakeWorld(), [])


def test_table_lists_every_code():
    rows = label_codes(FakeWorld(), [texture(0)], steps=1)
    table = format_label_table(rows)
    for row in rows:
        assert f"{row['code']:>4}  {row['label']}" in table
    assert "camera follows" in table


def test_cache_round_trip_and_rejects_other_weights(tmp_path):
    rows = label_codes(FakeWorld(), [texture(0)], steps=1)
    path = tmp_path / "labels" / "w.json"
    save_labels(path, "w", rows)
    assert json.loads(path.read_text())["weights_id"] == "w"
    assert load_labels(path, "w") == rows
    assert load_labels(path, "other") is None
    assert label_names(load_labels(path, "w"), 8) == EXPECTED_LABELS


def test_corrupt_or_missing_cache_reads_as_none(tmp_path):
    assert load_labels(tmp_path / "missing.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text('{"codes": [{"code": 0}]}')
    assert load_labels(bad) is None
    assert label_names(None, 8) is None
    assert label_names([{"code": 0, "label": "left"}], 8) is None


def test_code_names_world_labels_then_cache_then_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path))
    assert code_names(FakeWorld(code_labels=list("abcdefgh"))) == list("abcdefgh")
    assert code_names(FakeWorld()) == [f"code {k}" for k in range(8)]
    rows = [dict(code=k, dx=0.0, dy=0.0, change=0.0, label=f"L{k}") for k in range(8)]
    save_labels(labels_path("fake-weights"), "fake-weights", rows)
    assert code_names(FakeWorld()) == [f"L{k}" for k in range(8)]

"""The sketch canvas as pure logic: tools, fill, hero stamp, history."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genie_play.canvas import SketchCanvas, line_points
from genie_play.levels import PALETTE, hero_size

RED = (255, 0, 0)


def blank(size=16) -> SketchCanvas:
    pixels = np.zeros((size, size, 3), np.uint8)
    pixels[:] = PALETTE["sky"]
    return SketchCanvas(pixels)


@settings(max_examples=50, deadline=None)
@given(st.integers(-5, 20), st.integers(-5, 20), st.integers(-5, 20), st.integers(-5, 20))
def test_line_points_join_the_ends_without_gaps(x0, y0, x1, y1):
    points = line_points(x0, y0, x1, y1)
    assert points[0] == (x0, y0) and points[-1] == (x1, y1)
    assert len(points) == max(abs(x1 - x0), abs(y1 - y0)) + 1
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        assert max(abs(bx - ax), abs(by - ay)) == 1


def test_dab_is_a_square_clipped_at_the_edges():
    canvas = blank()
    canvas.dab(0, 0, RED, 3)
    painted = np.all(canvas.pixels == RED, axis=2)
    assert painted.sum() == 4 and painted[:2, :2].all()


def test_rect_is_filled_between_any_two_corners():
    canvas = blank()
    canvas.rect(9, 6, 2, 3, RED)
    painted = np.all(canvas.pixels == RED, axis=2)
    assert painted.sum() == 8 * 4 and painted[3:7, 2:10].all()


def test_fill_stops_at_other_colours():
    canvas = blank()
    canvas.rect(0, 8, 15, 8, PALETTE["ground"])  # a wall across the middle
    canvas.fill(3, 3, RED)
    painted = np.all(canvas.pixels == RED, axis=2)
    assert painted[:8].all() and not painted[8:].any()


def test_fill_on_the_same_colour_adds_no_history():
    canvas = blank()
    canvas.fill(1, 1, PALETTE["sky"])
    assert not canvas.undo()


def test_undo_redo_walk_the_history():
    canvas = blank()
    states = [canvas.pixels.copy()]
    canvas.line(0, 0, 15, 15, RED, 1)
    states.append(canvas.pixels.copy())
    canvas.begin_stroke()
    canvas.segment(0, 15, 15, 0, PALETTE["coin"], 2)
    states.append(canvas.pixels.copy())
    assert canvas.undo() and np.array_equal(canvas.pixels, states[1])
    assert canvas.undo() and np.array_equal(canvas.pixels, states[0])
    assert not canvas.undo()
    assert canvas.redo() and np.array_equal(canvas.pixels, states[1])
    canvas.clear()  # a new edit drops the redo branch
    assert not canvas.redo()
    assert np.all(canvas.pixels == PALETTE["sky"])


def test_hero_stamp_is_centred_clipped_and_one_undo_step():
    canvas = blank(64)
    before = canvas.pixels.copy()
    canvas.hero(20, 20)
    width, height = hero_size(64)
    changed = np.any(canvas.pixels != before, axis=2)
    rows, cols = np.nonzero(changed)
    assert rows.min() >= 20 - height // 2 and rows.max() < 20 - height // 2 + height
    assert cols.min() >= 20 - width // 2 and cols.max() < 20 - width // 2 + width
    assert (np.all(canvas.pixels == PALETTE["player"], axis=2)).any()
    assert canvas.undo() and np.array_equal(canvas.pixels, before)
    canvas.hero(0, 63)  # mostly outside: the part on the canvas is drawn, nothing fails
    assert np.any(canvas.pixels != before)

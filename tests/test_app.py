"""The player driven frame by frame, headless: keys -> codes, undo, controls, files, screens."""

import errno
import json
import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from fake_world import FakeWorld, texture  # noqa: E402
from genie_play.app.app import App  # noqa: E402
from genie_play.app.keymap import RESERVED_KEYS  # noqa: E402
from genie_play.app.paths import keymap_path  # noqa: E402
from genie_play.images import is_saved_drawing  # noqa: E402
from genie_play.app.play import REPEAT_DELAY_S, STEPS_PER_SECOND  # noqa: E402
from genie_play.errors import GenieError  # noqa: E402
from genie_play.levels import HERO_SPAWN, PALETTE, hero_size, hero_sprite  # noqa: E402

PROMPT = texture(0)  # (64, 64, 3) uint8


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_app(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path / "config"))
    apps = []

    def make(world=None, prompt=PROMPT, **options):
        options = {"scale": 2, "clock": clock, "screenshot_dir": tmp_path / "shots",
                   "recording_dir": tmp_path / "recordings", "sketch_dir": tmp_path / "sketches", **options}
        app = App(world or FakeWorld(), prompt, **options)
        apps.append(app)
        settle(app)
        return app

    yield make
    for app in apps:
        app.close()


def settle(app):
    assert app.worker.wait_idle(2.0)
    app.tick()


def press(app, key, mod=0, release=True):
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod))
    if release:
        app.handle_event(pygame.event.Event(pygame.KEYUP, key=key, mod=mod))


def expected_after(prompt, actions):
    world = FakeWorld()
    world.reset(prompt)
    for action in actions:
        world.step(action)
    return world.frame


def toasts(app) -> str:
    return " | ".join(app.toasts.texts())


# -- play ----------------------------------------------------------------------------------------
def test_app_starts_on_the_prompt(make_app):
    app = make_app()
    assert np.array_equal(app.play.frame, PROMPT)
    assert app.play.step_count == 0


def test_mapped_key_generates_a_frame_with_its_code(make_app):
    app = make_app()
    code = app.keymap.code_for_key("right")
    press(app, pygame.K_RIGHT)
    settle(app)
    assert app.world.actions == [code]
    assert app.play.last_action == code
    assert app.play.step_count == 1
    assert np.array_equal(app.play.frame, expected_after(PROMPT, [code]))
    assert not np.array_equal(app.play.frame, PROMPT)


def test_keys_follow_the_worlds_labels(make_app):
    labels = ["still", "jump", "right", "left", "jump-right", "jump-left", "down", "other"]
    app = make_app(FakeWorld(code_labels=labels))
    press(app, pygame.K_LEFT)
    press(app, pygame.K_UP)
    settle(app)
    assert app.world.actions == [3, 1]


def test_unmapped_keys_do_nothing(make_app):
    app = make_app()
    press(app, pygame.K_F7)
    settle(app)
    assert app.world.actions == []


def test_a_tap_generates_one_frame(make_app):
    app = make_app()
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LEFT, mod=0))
    for _ in range(3):
        settle(app)
    app.handle_event(pygame.event.Event(pygame.KEYUP, key=pygame.K_LEFT, mod=0))
    settle(app)
    assert len(app.world.actions) == 1


def test_holding_a_key_keeps_generating(make_app, clock):
    app = make_app()
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0))
    settle(app)
    clock.advance(REPEAT_DELAY_S + 0.01)
    for _ in range(4):
        app.tick()  # the worker is idle and the key still down: one more step each 1/15 s
        assert app.worker.wait_idle(2.0)
        clock.advance(1 / STEPS_PER_SECOND)
    code = app.keymap.code_for_key("right")
    assert app.world.actions == [code] * 5
    app.handle_event(pygame.event.Event(pygame.KEYUP, key=pygame.K_RIGHT, mod=0))
    app.tick()
    settle(app)
    assert len(app.world.actions) == 5


def test_a_held_key_steps_at_the_set_rate_not_every_frame(make_app, clock):
    app = make_app(steps_per_second=10)
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0))
    settle(app)
    clock.advance(REPEAT_DELAY_S + 0.01)
    for _ in range(60):  # one second of 60 frames a second: 10 steps, however fast the world is
        app.tick()
        assert app.worker.wait_idle(2.0)
        clock.advance(1 / 60)
    assert len(app.world.actions) == 1 + 10


def test_rate_zero_steps_as_fast_as_the_world_runs(make_app):
    app = make_app(steps_per_second=0)
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0))
    settle(app)
    app.play.held["right"] -= REPEAT_DELAY_S + 0.01  # held long enough, the clock standing still
    for _ in range(5):
        app.tick()
        assert app.worker.wait_idle(2.0)
    assert len(app.world.actions) == 1 + 5


def test_presses_beyond_the_short_queue_are_dropped(make_app):
    app = make_app(FakeWorld(step_delay_s=0.05))
    for _ in range(12):
        press(app, pygame.K_RIGHT)
    settle(app)
    assert 4 <= len(app.world.actions) <= 5  # one running + at most four queued


def test_undo_restores_the_previous_frame_exactly(make_app):
    app = make_app()
    press(app, pygame.K_RIGHT)
    settle(app)
    before = app.play.frame.copy()
    press(app, pygame.K_UP)
    settle(app)
    assert not np.array_equal(app.play.frame, before)
    press(app, pygame.K_BACKSPACE)
    settle(app)
    assert np.array_equal(app.play.frame, before)
    assert app.play.step_count == 1
    press(app, pygame.K_z)
    settle(app)
    assert np.array_equal(app.play.frame, PROMPT)


def test_undo_at_the_start_says_so(make_app):
    app = make_app()
    press(app, pygame.K_BACKSPACE)
    settle(app)
    assert np.array_equal(app.play.frame, PROMPT)
    assert "nothing to undo" in toasts(app)


@pytest.mark.parametrize("reset_key", [pygame.K_RETURN, pygame.K_r])
def test_reset_returns_to_the_prompt(make_app, reset_key):
    app = make_app()
    press(app, pygame.K_RIGHT)
    press(app, pygame.K_LEFT)
    settle(app)
    press(app, reset_key)
    settle(app)
    assert np.array_equal(app.play.frame, PROMPT)
    assert app.play.step_count == 0


def test_temperature_and_maskgit_steps_controls(make_app):
    app = make_app()
    press(app, pygame.K_RIGHTBRACKET)
    press(app, pygame.K_RIGHTBRACKET)
    press(app, pygame.K_EQUALS)
    settle(app)
    assert app.world.temperature == pytest.approx(1.2)
    assert app.world.maskgit_steps == 5
    for _ in range(30):
        press(app, pygame.K_LEFTBRACKET)
        press(app, pygame.K_MINUS)
    settle(app)
    assert app.world.temperature == 0.0
    assert app.world.maskgit_steps == 1


def test_pause_holds_the_world_still(make_app):
    app = make_app()
    press(app, pygame.K_p)
    press(app, pygame.K_RIGHT)
    settle(app)
    assert app.world.actions == []
    assert "paused" in toasts(app)
    press(app, pygame.K_p)
    press(app, pygame.K_RIGHT)
    settle(app)
    assert len(app.world.actions) == 1


def test_hud_and_help_toggle_and_draw(make_app):
    app = make_app()
    press(app, pygame.K_RIGHT)
    settle(app)
    text = " ".join(line for line, _ in app.play.hud_lines(app.clock()))
    assert "frames/s" in text and "ms" in text and "step 1" in text and "MaskGIT 4" in text
    assert f"code {app.play.last_action}" in text
    press(app, pygame.K_TAB)
    assert not app.play.hud_visible
    press(app, pygame.K_h)
    settle(app)
    assert app.play.help_visible
    help_text = " ".join(left + " " + right for left, right, _ in app.play.help_rows())
    for code in range(8):
        assert f"code {code}" in help_text and app.keymap.key_for_code(code) in help_text
    press(app, pygame.K_F1)
    assert not app.play.help_visible


def test_every_control_key_is_reserved_from_bindings(make_app):
    app = make_app()
    assert set(app.play.controls) == set(RESERVED_KEYS)


def test_escape_closes_help_then_quits(make_app):
    app = make_app()
    press(app, pygame.K_h)
    press(app, pygame.K_ESCAPE)
    assert app.running and not app.play.help_visible
    press(app, pygame.K_ESCAPE)
    assert not app.running


def test_window_close_stops_the_loop(make_app):
    app = make_app()
    app.handle_event(pygame.event.Event(pygame.QUIT))
    assert app.tick() is False


def test_run_is_bounded_by_max_frames(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path))
    app = App(FakeWorld(), PROMPT, scale=1, screenshot_dir=tmp_path)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0))
    app.run(max_frames=3)
    assert not app.worker._thread.is_alive()


def test_step_errors_become_messages(make_app):
    class BrokenWorld(FakeWorld):
        def step(self, action):
            raise GenieError("the model fell over")

    app = make_app(BrokenWorld())
    press(app, pygame.K_RIGHT)
    settle(app)
    assert "the model fell over" in toasts(app)
    assert app.running and np.array_equal(app.play.frame, PROMPT)


# -- files ---------------------------------------------------------------------------------------
def test_screenshots_are_numbered_pngs(make_app, tmp_path):
    app = make_app()
    press(app, pygame.K_F12)
    press(app, pygame.K_s)
    shots = sorted((tmp_path / "shots").iterdir())
    assert [p.name for p in shots] == ["genie-0001.png", "genie-0002.png"]
    with Image.open(shots[0]) as image:
        assert image.size == (128, 128)
        assert np.array_equal(np.asarray(image.convert("RGB"))[::2, ::2], PROMPT)


def test_a_failed_screenshot_names_its_folder_and_play_goes_on(make_app, tmp_path):
    app = make_app()
    (tmp_path / "shots").write_text("a file where the folder should be")
    press(app, pygame.K_F12)
    assert "screenshot failed" in toasts(app) and str(tmp_path / "shots") in toasts(app)
    press(app, pygame.K_RIGHT)
    settle(app)
    assert app.play.step_count == 1


def test_recording_writes_an_animated_gif(make_app, tmp_path, clock):
    app = make_app()
    press(app, pygame.K_g)
    assert app.play.recorder.recording
    for key in (pygame.K_RIGHT, pygame.K_UP, pygame.K_LEFT):
        press(app, key)
        clock.advance(0.1)
        settle(app)
    press(app, pygame.K_g)
    gif = tmp_path / "recordings" / "session-0001.gif"
    with Image.open(gif) as image:
        assert image.n_frames == 4
        assert image.size == (256, 256)
    press(app, pygame.K_g)
    press(app, pygame.K_g)
    assert (tmp_path / "recordings" / "session-0002.gif").exists()


def test_recording_into_an_unwritable_folder_fails_softly(make_app, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    app = make_app(recording_dir=blocker / "recordings")
    press(app, pygame.K_g)
    press(app, pygame.K_RIGHT)
    settle(app)
    press(app, pygame.K_g)
    assert "recording not saved" in toasts(app)
    assert app.running and not app.play.recorder.recording
    assert blocker.read_text() == "not a folder"


def test_recording_on_a_full_disk_leaves_no_partial_file(make_app, tmp_path, monkeypatch):
    app = make_app()
    press(app, pygame.K_g)
    press(app, pygame.K_RIGHT)
    settle(app)

    def write_half_then_fail(image, target, *args, **kwargs):
        with open(target, "wb") as handle:
            handle.write(b"GIF89a partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", write_half_then_fail)
    press(app, pygame.K_g)
    assert "No space left on device" in toasts(app)
    assert list((tmp_path / "recordings").iterdir()) == []


def test_closing_while_recording_saves_the_gif(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(tmp_path))
    app = App(FakeWorld(), PROMPT, scale=1, recording_dir=tmp_path / "rec")
    app.worker.wait_idle(2.0)
    app.tick()
    press(app, pygame.K_g)
    app.close()
    assert (tmp_path / "rec" / "session-0001.gif").exists()


def test_dropping_a_bad_file_shows_a_message_and_keeps_playing(make_app, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_text("not an image")
    app = make_app()
    app.handle_event(pygame.event.Event(pygame.DROPFILE, file=str(bad)))
    settle(app)
    assert "broken.png" in toasts(app)
    assert app.running and np.array_equal(app.play.frame, PROMPT)
    press(app, pygame.K_RETURN)
    settle(app)
    assert np.array_equal(app.play.frame, PROMPT)


def test_dropping_an_image_plays_from_it(make_app, tmp_path):
    other = texture(7)
    path = tmp_path / "level.png"
    Image.fromarray(other).save(path)
    app = make_app()
    press(app, pygame.K_RIGHT)
    app.handle_event(pygame.event.Event(pygame.DROPFILE, file=str(path)))
    settle(app)
    assert np.array_equal(app.play.frame, other)
    press(app, pygame.K_RIGHT)
    settle(app)
    press(app, pygame.K_RETURN)
    settle(app)
    assert np.array_equal(app.play.frame, other)  # the dropped image is the new prompt


# -- keymap screen -------------------------------------------------------------------------------
def test_remapping_moves_a_conflicting_key_and_is_saved(make_app):
    app = make_app()
    press(app, pygame.K_k)
    assert app.screen is app.keymap_screen
    press(app, pygame.K_3)  # select code 3 and listen
    press(app, pygame.K_LEFT)  # "left" was on code 0
    assert app.keymap.key_for_code(3) == "left"
    assert app.keymap.key_for_code(0) is None
    assert "moved from code 0 to code 3" in toasts(app) and "code 0 is now unbound" in toasts(app)
    saved = json.loads(keymap_path(app.world.weights_id).read_text())
    assert saved["codes"]["3"] == "left" and saved["codes"]["0"] is None
    app.tick()  # draws the unbound row
    press(app, pygame.K_ESCAPE)
    assert app.screen is app.play
    press(app, pygame.K_LEFT)
    settle(app)
    assert app.world.actions == [3]


def test_remap_refuses_a_control_key_and_keeps_listening(make_app):
    app = make_app()
    press(app, pygame.K_k)
    press(app, pygame.K_RETURN)  # listen for code 0
    press(app, pygame.K_r)
    assert "reserved" in toasts(app)
    assert app.keymap_screen.listening
    press(app, pygame.K_j)
    assert app.keymap.key_for_code(0) == "j"


def test_keymap_screen_navigation_unbind_and_defaults(make_app):
    app = make_app()
    press(app, pygame.K_k)
    press(app, pygame.K_DOWN)
    press(app, pygame.K_DOWN)
    press(app, pygame.K_DELETE)
    assert app.keymap.key_for_code(2) is None
    press(app, pygame.K_F5)
    assert app.keymap.key_for_code(2) is not None
    app.tick()


def test_saved_keymap_is_loaded_next_time(make_app):
    first = make_app()
    press(first, pygame.K_k)
    press(first, pygame.K_7)
    press(first, pygame.K_m)
    second = make_app()
    assert second.keymap.key_for_code(7) == "m"


def test_corrupt_keymap_is_reported_and_defaults_are_used(make_app, tmp_path):
    path = keymap_path(FakeWorld().weights_id)
    path.parent.mkdir(parents=True)
    path.write_text('{"codes": {"0": "left", "1": "left"}}')
    app = make_app()
    assert "bound to two codes" in toasts(app)
    assert path.with_name(path.name + ".bak").exists()
    assert app.keymap.key_for_code(1) == "right"


def test_unsavable_keymap_is_a_message_not_a_crash(make_app, tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("GENIE_PLAY_CONFIG_DIR", str(blocker))
    app = make_app()
    press(app, pygame.K_k)
    press(app, pygame.K_0)
    press(app, pygame.K_j)
    assert "keymap not saved" in toasts(app)
    assert app.keymap.key_for_code(0) == "j"


# -- sketch screen -------------------------------------------------------------------------------
def canvas_pos(app, x, y):
    """Window position of canvas pixel (x, y)'s centre."""
    rect = app.sketch.canvas_rect()
    cell = rect.width / app.sketch.canvas.size
    return int(rect.x + (x + 0.5) * cell), int(rect.y + (y + 0.5) * cell)


def drag(app, start, end, button=1):
    app.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=canvas_pos(app, *start), button=button))
    app.handle_event(pygame.event.Event(pygame.MOUSEMOTION, pos=canvas_pos(app, *end), rel=(0, 0),
                                        buttons=(1, 0, 0)))
    app.handle_event(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=canvas_pos(app, *end), button=button))


def test_sketch_strokes_become_the_prompt(make_app):
    app = make_app()
    press(app, pygame.K_d)
    assert app.screen is app.sketch
    press(app, pygame.K_4)  # hazard
    drag(app, (5, 10), (20, 10))
    press(app, pygame.K_l)  # line tool
    press(app, pygame.K_5)  # coin
    drag(app, (30, 2), (30, 12))
    press(app, pygame.K_r)  # rect tool
    press(app, pygame.K_3)  # platform
    drag(app, (40, 30), (50, 33))
    app.tick()
    press(app, pygame.K_RETURN)
    settle(app)
    assert app.screen is app.play
    prompt = app.world.resets[-1]
    assert tuple(prompt[10, 12]) == PALETTE["hazard"]
    assert tuple(prompt[7, 30]) == PALETTE["coin"]
    assert tuple(prompt[32, 45]) == PALETTE["platform"]
    assert np.array_equal(app.play.frame, app.sketch.canvas.pixels)
    press(app, pygame.K_RIGHT)
    press(app, pygame.K_RETURN)
    settle(app)
    assert np.array_equal(app.play.frame, prompt)  # reset goes back to the sketch


def test_sketch_fill_undo_redo_and_picker(make_app):
    app = make_app()
    press(app, pygame.K_d)
    sky = app.sketch.canvas.pixels.copy()
    press(app, pygame.K_f)
    press(app, pygame.K_6)
    app.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=canvas_pos(app, 1, 1), button=1))
    filled = app.sketch.canvas.pixels.copy()
    assert tuple(filled[1, 1]) == PALETTE["player"] and tuple(filled[63, 0]) == PALETTE["ground"]
    press(app, pygame.K_z)
    assert np.array_equal(app.sketch.canvas.pixels, sky)
    press(app, pygame.K_y)
    assert np.array_equal(app.sketch.canvas.pixels, filled)
    app.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=canvas_pos(app, 0, 63), button=3))
    assert app.sketch.color_name == "free" and app.sketch.color == PALETTE["ground"]
    press(app, pygame.K_c)
    assert app.sketch.color != PALETTE["ground"]
    press(app, pygame.K_n)
    assert np.all(app.sketch.canvas.pixels == PALETTE["sky"])


def test_sketch_save_never_overwrites_other_files(make_app, tmp_path):
    existing = tmp_path / "mine.png"
    existing.write_bytes(b"precious")
    app = make_app(sketch_out=existing)
    press(app, pygame.K_d)
    press(app, pygame.K_s)
    assert existing.read_bytes() == b"precious"
    saved = tmp_path / "mine-0001.png"
    with Image.open(saved) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), app.sketch.canvas.pixels)
    drag(app, (3, 3), (9, 3))
    press(app, pygame.K_s)  # saving again updates this session's own file
    with Image.open(saved) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), app.sketch.canvas.pixels)
    assert sorted(p.name for p in tmp_path.glob("mine*")) == ["mine-0001.png", "mine.png"]
    assert is_saved_drawing(saved) and not is_saved_drawing(existing)  # opened again, it plays as a drawing
    first = saved.read_bytes()
    press(app, pygame.K_n)  # a new drawing saves to a new file and leaves the first one as it was
    drag(app, (20, 20), (30, 20))
    press(app, pygame.K_s)
    assert saved.read_bytes() == first
    with Image.open(tmp_path / "mine-0002.png") as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), app.sketch.canvas.pixels)


def test_sketch_default_folder_is_numbered(make_app, tmp_path):
    app = make_app()
    press(app, pygame.K_d)
    press(app, pygame.K_s)
    assert (tmp_path / "sketches" / "sketch-0001.png").exists()


def test_sketch_trace_image(make_app, tmp_path):
    pytest.importorskip("genie_play.images")
    path = tmp_path / "trace.png"
    Image.fromarray(texture(3)).save(path)
    app = make_app()
    press(app, pygame.K_d)
    app.handle_event(pygame.event.Event(pygame.DROPFILE, file=str(path)))
    assert app.sketch.trace is not None and app.sketch.trace.shape == (64, 64, 3)
    app.tick()
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    app.handle_event(pygame.event.Event(pygame.DROPFILE, file=str(bad)))
    assert "bad.png" in toasts(app)


def test_starting_on_the_sketch_screen(make_app):
    app = make_app(prompt=None, start="sketch")
    assert app.screen is app.sketch and app.play.frame is None
    assert app.window.get_width() > app.window.get_height()  # room for the toolbar
    press(app, pygame.K_ESCAPE)
    settle(app)
    assert app.screen is app.play and app.play.frame is not None


@pytest.mark.parametrize("key", [pygame.K_h, pygame.K_F1])
def test_sketch_help_opens_with_h_or_f1_and_esc_closes_it(make_app, key):
    app = make_app()
    press(app, pygame.K_d)
    press(app, key)
    assert app.sketch.help_visible
    app.tick()  # the overlay draws
    press(app, pygame.K_ESCAPE)
    assert app.screen is app.sketch and not app.sketch.help_visible
    press(app, key)
    press(app, key)
    assert not app.sketch.help_visible


def test_sketch_help_lists_every_sketch_key():
    from genie_play.app.sketch_screen import HELP_KEYS, TOOL_KEYS

    listed = {token.upper() for keys, _ in HELP_KEYS for token in keys.replace("/", " ").replace("+", " ").split()}
    for key in [*TOOL_KEYS, "N", "S", "Z", "Y", "T", "C", "V", "Enter", "Esc", "H", "F1"]:
        assert key.upper() in listed


def test_esc_with_nothing_drawn_goes_back_to_the_session(make_app):
    app = make_app()
    press(app, pygame.K_RIGHT)
    settle(app)
    session = app.play.frame.copy()
    press(app, pygame.K_d)
    press(app, pygame.K_ESCAPE)
    settle(app)
    assert app.screen is app.play and len(app.world.resets) == 1
    assert np.array_equal(app.play.frame, session)


def test_esc_after_drawing_plays_the_drawing(make_app):
    app = make_app()
    press(app, pygame.K_d)
    press(app, pygame.K_4)
    drag(app, (5, 10), (20, 10))
    press(app, pygame.K_ESCAPE)
    settle(app)
    assert app.screen is app.play
    assert np.array_equal(app.world.resets[-1], app.sketch.canvas.pixels)
    assert np.array_equal(app.play.frame, app.sketch.canvas.pixels)
    assert app.world.drawn == [None, True]  # the bundled prompt, then the drawing: the camera moves it both ways
    assert "playing your drawing" in toasts(app)
    press(app, pygame.K_RIGHT)
    settle(app)
    press(app, pygame.K_RETURN)  # Enter restarts the drawing, still as a drawing
    settle(app)
    assert app.world.drawn[-1] and np.array_equal(app.world.resets[-1], app.sketch.canvas.pixels)
    press(app, pygame.K_RIGHT)
    settle(app)
    stepped = app.play.frame.copy()
    press(app, pygame.K_d)  # back to the sketch, nothing new drawn: Esc returns to that session
    press(app, pygame.K_ESCAPE)
    settle(app)
    assert len(app.world.resets) == 3 and np.array_equal(app.play.frame, stepped)


def test_sketch_default_level_has_the_hero_and_p_places_another(make_app):
    app = make_app()
    press(app, pygame.K_d)
    colours, cover = hero_sprite()
    left, top = HERO_SPAWN
    width, height = hero_size(64)
    start = app.sketch.canvas.pixels.copy()
    assert np.array_equal(start[top:top + height, left:left + width][cover == 1], colours[cover == 1])
    press(app, pygame.K_p)
    assert app.sketch.tool == "hero"
    app.handle_event(pygame.event.Event(pygame.MOUSEMOTION, pos=canvas_pos(app, 10, 40), rel=(0, 0), buttons=(0, 0, 0)))
    assert np.array_equal(app.sketch.canvas.pixels, start)  # only a preview until the click
    assert not np.array_equal(app.sketch.preview_pixels(), start)
    app.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=canvas_pos(app, 10, 40), button=1))
    placed = app.sketch.canvas.pixels[40 - height // 2:40 - height // 2 + height, 10 - width // 2:10 - width // 2 + width]
    assert np.array_equal(placed[cover == 1], colours[cover == 1])
    press(app, pygame.K_z)
    assert np.array_equal(app.sketch.canvas.pixels, start)


def test_a_prompt_that_fails_to_load_leaves_a_usable_window(make_app, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    app = make_app(prompt=bad)
    assert app.play.frame is None and "bad.png" in toasts(app)
    assert "drop an image" in app.play.no_frame_reason
    press(app, pygame.K_RIGHT)  # stepping before any frame is a message, not a crash
    settle(app)
    assert app.running
    press(app, pygame.K_d)
    press(app, pygame.K_RETURN)  # play the sketch instead
    settle(app)
    assert app.play.frame is not None


def hud_text(app) -> str:
    return " | ".join(line for line, _ in app.play.hud_lines(app.clock()))


def test_hud_says_when_the_camera_gate_holds_the_view(make_app):
    app = make_app()
    assert "view held" not in hud_text(app)
    app.world.view_held = True
    assert "view held: the camera gate judged this picture not to scroll" in hud_text(app)


def test_hud_says_when_the_camera_gate_leaves_up_and_down_to_the_world(make_app):
    app = make_app()
    assert "up/down" not in hud_text(app)
    app.world.vertical_held = True
    assert "camera up/down off: the gate took this for a game frame" in hud_text(app)


def test_hud_code_line_follows_undo(make_app):
    app = make_app()
    right, left = app.keymap.code_for_key("right"), app.keymap.code_for_key("left")
    for key in (pygame.K_RIGHT, pygame.K_LEFT):
        press(app, key)
        settle(app)
    assert f"code {app.play.code_text(left)}" in hud_text(app)
    press(app, pygame.K_BACKSPACE)
    settle(app)
    assert app.play.last_action == right and f"code {app.play.code_text(right)} |" in hud_text(app)
    press(app, pygame.K_BACKSPACE)
    settle(app)
    assert app.play.last_action is None and "code - |" in hud_text(app)


def test_hud_latency_clears_on_reset(make_app):
    app = make_app()
    press(app, pygame.K_RIGHT)
    settle(app)
    assert " ms" in hud_text(app).split(" | ")[0]
    press(app, pygame.K_RETURN)
    settle(app)
    assert "latency -" in hud_text(app) and "code - |" in hud_text(app)

"""`eval --prompts`: every code held on every prompt image, kept PSNR, spreads, scene shifts, strips."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from fake_world import SCENE_SHIFTS, texture
from genie_play.cli import app
from genie_play.errors import GenieError
from genie_play.images import DRAWING_TEXT
from genie_play.levels import Hero, find_heroes, random_level, spawn_point, stamp_hero, starter_level, without_heroes
from genie_play.media import save_png
from genie_play.prompt_eval import (STEPS, PromptEvalSettings, check_prompt_report_paths, evaluate_prompts,
                                    find_prompts, hold_each_code, open_prompt_world, prompt_kind, score_prompt,
                                    strips_folder, summarize, write_prompt_report)

REPORT_KEYS = {"prompts", "kept_psnr_t1", "kept_psnr_t8", "spread_codes_t8", "spread_seeds_t8", "spread_ratio_t8",
               "consistent_codes", "codes"}


SHIFT_PER_STEP = [(int(np.sign(dx)), int(np.sign(dy))) for dx, dy in SCENE_SHIFTS]  # (dx, dy) px per step


class ScrollingWorld:
    """A batched stand-in for World: world b scrolls its scene by SHIFT_PER_STEP[code] a step (circularly) and
    gets one seeded random pixel, so seeds differ a little and codes a lot."""

    num_actions = 8
    image_size = 64

    def __init__(self):
        self.seed = 0
        self.frames = None

    def reset(self, image, drawn=False):
        self.drawn = drawn
        self.rng = np.random.default_rng(self.seed)
        self.frames = np.repeat(np.asarray(image)[None], self.num_actions, axis=0)
        return self.frames[0]

    def step_batch(self, codes):
        frames = np.stack([np.roll(frame, SHIFT_PER_STEP[code][::-1], axis=(0, 1)) for frame, code in zip(self.frames, codes)])
        y, x = self.rng.integers(0, 64, 2)
        frames[:, y, x] = self.rng.integers(0, 256, 3)
        self.frames = frames
        return frames


def write_prompts(root):
    (root / "sketches").mkdir(parents=True)
    (root / "photos").mkdir()
    Image.fromarray(starter_level()).save(root / "sketches" / "starter.png")
    Image.fromarray(random_level(1)).save(root / "sketches" / "level-1.png")
    Image.fromarray(texture(2, size=96)).save(root / "photos" / "texture.jpg")
    (root / "notes.txt").write_text("not an image")
    return root


def test_prompt_kind_is_the_folder_else_the_name_prefix(tmp_path):
    assert prompt_kind(Path("photos/a-b.png")) == "photos"
    assert prompt_kind(Path("sketch-flat-01.png")) == "sketch"
    assert prompt_kind(Path("photo_tree.jpg")) == "photo"
    found = find_prompts(write_prompts(tmp_path / "prompts"))
    assert [(p.name, p.kind) for p in found] == [("photos/texture", "photos"), ("sketches/level-1", "sketches"),
                                                 ("sketches/starter", "sketches")]


def test_find_prompts_errors_are_one_line(tmp_path):
    with pytest.raises(GenieError, match="not a folder"):
        find_prompts(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenieError, match="no prompt images"):
        find_prompts(tmp_path / "empty")


def test_hold_each_code_shapes_and_the_prompt_first():
    world = ScrollingWorld()
    prompt = texture(0)
    frames = hold_each_code(world, prompt, seeds=[0, 1])
    assert frames.shape == (2, 8, STEPS + 1, 64, 64, 3) and frames.dtype == np.uint8
    assert np.all(frames[:, :, 0] == prompt)


def test_scores_of_codes_that_scroll_and_codes_that_stay():
    prompt = texture(0)
    frames = hold_each_code(ScrollingWorld(), prompt, seeds=[0, 1])
    row = score_prompt(frames, prompt)
    assert len(row["kept_psnr"]) == STEPS and len(row["scene_shift_t8"]) == 8
    per_code = row["kept_psnr_t8_per_code"]
    assert per_code[6] > 30 and per_code[7] > 30  # still codes keep the picture (one noisy pixel a step)
    assert per_code[0] < 20  # 8 px of scroll is beyond the 4 px tolerance
    assert row["kept_psnr_t1"] > 35  # 1 px after one step: within the tolerance
    for code, (dx, dy) in enumerate(SHIFT_PER_STEP):
        measured = row["scene_shift_t8"][code]
        assert measured[0] == pytest.approx(dx * STEPS, abs=1) and measured[1] == pytest.approx(dy * STEPS, abs=1)
    assert row["spread_codes_t8"] > 10 * row["spread_seeds_t8"] > 0
    assert row["spread_ratio_t8"] == pytest.approx(row["spread_codes_t8"] / row["spread_seeds_t8"], rel=1e-2)


class HeroOnScreenWorld(ScrollingWorld):
    """ScrollingWorld scrolling the level without its hero and drawing the hero back where the prompt has it."""

    def reset(self, image, drawn=False):
        self.heroes = [Hero.stamped(np.asarray(image), left, top) for left, top in find_heroes(np.asarray(image))]
        super().reset(without_heroes(np.asarray(image), self.heroes), drawn)
        return self.shown()[0]

    def step_batch(self, codes):
        self.frames = self.level
        super().step_batch(codes)
        return self.shown()

    def shown(self):
        self.level = self.frames
        self.frames = self.level.copy()
        for frame in self.frames:
            for hero in self.heroes:
                hero.drawn_over(frame)
        return self.frames


def test_a_hero_kept_on_screen_is_scored_apart_from_the_level():
    prompt = texture(0)
    stamp_hero(prompt, *spawn_point())
    frames = hold_each_code(HeroOnScreenWorld(), prompt, seeds=[0, 1])
    row = score_prompt(frames, prompt, heroes=[Hero.stamped(prompt, *spawn_point())])
    assert row["hero_stays"] is True and row["heroes"] == [list(spawn_point())]
    for code, (dx, dy) in enumerate(SHIFT_PER_STEP):  # the level's shift, whatever the hero does
        measured = row["scene_shift_t8"][code]
        assert measured[0] == pytest.approx(dx * STEPS, abs=1) and measured[1] == pytest.approx(dy * STEPS, abs=1)
    assert row["kept_psnr_t1"] > 35
    moved = hold_each_code(ScrollingWorld(), prompt, seeds=[0, 1])  # the hero scrolls with the level
    assert score_prompt(moved, prompt, heroes=[Hero.stamped(prompt, *spawn_point())])["hero_stays"] is False
    assert summarize([row])["heroes_stayed"] == 1 and summarize([row])["prompts_with_heroes"] == 1


def test_consistent_codes_count_the_same_horizontal_sign_on_most_prompts():
    rows = [score_prompt(hold_each_code(ScrollingWorld(), texture(seed), seeds=[0, 1]), texture(seed)) for seed in range(3)]
    summary = summarize(rows)
    assert REPORT_KEYS <= set(summary)
    assert [code["sign"] for code in summary["codes"]] == ["+", "-", "0", "0", "+", "-", "0", "0"]
    assert summary["consistent_codes"] == 4  # the codes that scroll sideways
    assert summary["consistent_or_still_codes"] == 8  # and the four that never scroll sideways
    assert [code["sign_dy"] for code in summary["codes"]] == ["0", "0", "+", "-", "+", "+", "0", "0"]
    assert summary["consistent_codes_dy"] == 4  # the codes that scroll up or down
    flipped = [dict(row, scene_shift_t8=[[-dx, dy] for dx, dy in row["scene_shift_t8"]]) if i == 0 else row
               for i, row in enumerate(rows)]
    assert summarize(flipped)["consistent_codes"] == 0  # 2 of 3 prompts agree: below 80%
    assert summarize(flipped)["consistent_or_still_codes"] == 4
    assert summarize(flipped)["consistent_codes_dy"] == 4  # dy as it was


def test_evaluate_prompts_on_tiny_weights_is_deterministic(tiny_weights, tmp_path):
    found = find_prompts(write_prompts(tmp_path / "prompts"))
    settings = PromptEvalSettings(seed=3)
    report, strips = evaluate_prompts(tiny_weights, found, settings, device="cpu")
    again, strips_again = evaluate_prompts(tiny_weights, found, settings, device="cpu")
    assert report == again and all(np.array_equal(strips[k], strips_again[k]) for k in strips)
    assert REPORT_KEYS <= set(report) and set(report["kinds"]) == {"photos", "sketches"}
    assert report["kinds"]["sketches"]["prompts"] == 2 and report["seeds"] == [3, 4]
    assert report["temperature"] == 0.7 and report["maskgit_steps"] == 3  # the weights' play settings
    assert [row["name"] for row in report["per_prompt"]] == [p.name for p in found]
    assert all(0 <= row["kept_psnr_t8"] <= 100 for row in report["per_prompt"])
    assert strips["sketches/starter"].shape == (8 * 64, (STEPS + 1) * 64, 3)
    assert np.array_equal(strips["sketches/starter"][:64, :64], starter_level())  # step 0 is the prompt as shown
    other, _ = evaluate_prompts(tiny_weights, found, PromptEvalSettings(seed=4), device="cpu")
    assert other != report


def test_prompt_world_takes_overrides(tiny_weights):
    world = open_prompt_world(tiny_weights, PromptEvalSettings(temperature=0.0, maskgit_steps=2), "cpu")
    assert world.batch == world.num_actions == 8 and world.temperature == 0.0 and world.maskgit_steps == 2


def test_report_files_refuse_to_replace_and_write_atomically(tmp_path):
    found = find_prompts(write_prompts(tmp_path / "prompts"))
    out = tmp_path / "out" / "report.json"
    check_prompt_report_paths(out, found)
    strips = {p.name: np.zeros((8, 9, 3), np.uint8) for p in found}
    paths = write_prompt_report({"prompts": 3}, strips, out, found)
    assert json.loads(out.read_text()) == {"prompts": 3}
    assert (strips_folder(out) / "sketches" / "starter.png").exists() and len(paths) == 4
    with pytest.raises(GenieError, match="already exists"):
        check_prompt_report_paths(out, found)
    out.unlink()
    with pytest.raises(GenieError, match="texture.png: already exists"):  # a strip alone is not replaced either
        check_prompt_report_paths(out, found)
    check_prompt_report_paths(out, found, overwrite=True)


def test_cli_eval_prompts_writes_report_and_strips(tiny_weights, tmp_path):
    prompts = write_prompts(tmp_path / "prompts")
    out = tmp_path / "prompt-report.json"
    runner = CliRunner()
    args = ["eval", "--weights", str(tiny_weights), "--prompts", str(prompts), "--out", str(out), "--device", "cpu"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert REPORT_KEYS <= set(report) and len(report["per_prompt"]) == 3
    assert "sketches (2 prompts): kept@1" in result.output and "consistent codes" in result.output
    strips = sorted(p.relative_to(strips_folder(out)).as_posix() for p in strips_folder(out).rglob("*.png"))
    assert strips == ["photos/texture.png", "sketches/level-1.png", "sketches/starter.png"]
    before = out.read_bytes()
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "already exists" in refused.output and out.read_bytes() == before
    assert runner.invoke(app, args + ["--overwrite"]).exit_code == 0
    assert json.loads(out.read_text())["drawn"] is False
    assert runner.invoke(app, args + ["--overwrite", "--drawings"]).exit_code == 0
    assert json.loads(out.read_text())["drawn"] is True
    assert all(row["drawn"] for row in json.loads(out.read_text())["per_prompt"])


def test_eval_prompts_plays_a_png_the_sketch_screen_saved_as_a_drawing(tiny_weights, tmp_path):
    prompts = write_prompts(tmp_path / "prompts")
    save_png(starter_level(), prompts / "sketches" / "saved.png", text=DRAWING_TEXT)
    report, _ = evaluate_prompts(tiny_weights, find_prompts(prompts), device="cpu")
    assert {row["name"]: row["drawn"] for row in report["per_prompt"]} == {
        "photos/texture": False, "sketches/level-1": False, "sketches/saved": True, "sketches/starter": False}
    assert report["drawn"] is False


def test_drawings_are_held_as_drawings():
    world = ScrollingWorld()
    hold_each_code(world, texture(0), seeds=[0], drawn=True)
    assert world.drawn is True
    hold_each_code(world, texture(0), seeds=[0])
    assert world.drawn is None  # the world decides (a hero stamp makes a drawing)


def test_cli_eval_drawings_needs_prompts(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--data", str(tmp_path), "--drawings", "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 2 and "--drawings" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("extra", [[], ["--data", "somewhere"]], ids=["neither", "both"])
def test_cli_eval_needs_data_or_prompts(tmp_path, extra):
    args = ["eval", "--out", str(tmp_path / "r.json")] + extra + (["--prompts", str(tmp_path)] if extra else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--data" in result.output and "--prompts" in result.output
    assert "Traceback" not in result.output

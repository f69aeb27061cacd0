"""The whole pipeline through the CLI, the issue's "done when": collect CoinRun (disjoint train/test levels),
train the three stages (tiny preset, a few steps), evaluate into report.json + PNGs, export, render, info."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genie_play.app.commands import RENDER_FRAME_MS
from genie_play.checkpoint import load_model
from genie_play.cli import app
from genie_play.data.shards import list_shards, read_shard
from genie_play.world import load_world

pytest.importorskip("procgen")

STAGES = ("tokenizer", "lam", "dynamics")
LENGTH = 6
REPORT_KEYS = {"tokenizer_psnr", "tokenizer_ssim", "rollout_psnr", "rollout_psnr_t4", "delta_psnr_t4", "action_nmi",
               "code_usage", "clips", "copy_psnr_t4"}


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, f"genie-play {' '.join(map(str, args))}\n{result.output}"
    return result


def levels_of(data: Path, split: str) -> set[int]:
    return {int(x) for p in list_shards(data, split) for x in np.unique(read_shard(p)[0]["level"])}


def test_collect_train_eval_export_render_info(tmp_path):
    data, out, weights = tmp_path / "data", tmp_path / "out", tmp_path / "weights"
    small = ("--steps", 200, "--envs", 4, "--shard-steps", 50, "--workers", 1)
    cli("collect", data, "--game", "coinrun", "--levels", "0:20", "--split", "train", *small)
    cli("collect", data, "--game", "coinrun", "--levels", "100:110", "--split", "test", *small)
    train_levels, test_levels = levels_of(data, "train"), levels_of(data, "test")
    assert train_levels <= set(range(0, 20)) and test_levels <= set(range(100, 110))
    assert not train_levels & test_levels

    for stage in STAGES:
        cli("train", stage, "--preset", "tiny", "--max-steps", 3, "--device", "cpu", "--threads", 1,
            "--data", data, "--out", out)
        assert load_model(out / f"{stage}.safetensors", kind=stage, with_extra=True)[1]["step"] == 3

    cli("export", out, weights)
    assert sorted(p.name for p in weights.iterdir()) == [f"{s}.safetensors" for s in sorted(STAGES)]

    report_path = tmp_path / "eval" / "report.json"
    printed = cli("eval", "--weights", weights, "--data", data, "--out", report_path, "--clips", 4, "--batch", 2,
                  "--length", LENGTH, "--device", "cpu").stdout
    report = json.loads(report_path.read_text())
    assert REPORT_KEYS <= set(report), REPORT_KEYS - set(report)
    assert report["clips"] == 4
    assert len(report["rollout_psnr"]) == LENGTH - 1
    assert report["rollout_psnr_t4"] == report["rollout_psnr"][3]
    assert len(report["code_usage"]) == 8 and sum(report["code_usage"]) == pytest.approx(1.0)
    assert all(0 <= u <= 1 for u in report["code_usage"])
    assert 0 <= report["action_nmi"] <= 1 + 1e-9
    assert all(0 <= report["token_change"][k] <= 1 for k in ("real", "rollout"))
    assert report["action_effects"] == {"coinrun": ["left", "right", "jump", "jump-left", "jump-right", "still"]}
    used = [row for row in report["code_effects"] if row["effect"] is not None]
    assert len(report["code_effects"]) == 8 and used, "every code has a row; the codes in use name a CoinRun effect"
    assert all(row["effect"].startswith("coinrun:") and 0 < row["share"] <= 1 for row in used)
    assert -1 <= report["tokenizer_ssim"] <= 1
    for key in ("tokenizer_psnr", "rollout_psnr_t4", "copy_psnr_t4"):
        assert 0 < report[key] <= 100, key
    assert np.isfinite(report["delta_psnr_t4"])
    assert "clips: 4" in printed and "code_usage:" in printed
    assert set(report["standard_error_t4"]) == {"rollout_psnr", "copy_psnr", "delta_psnr", "rollout_minus_copy",
                                                "real_tokens_minus_copy"}
    assert f"real_tokens_minus_copy_t4: {report['real_tokens_minus_copy_t4']:.4g} ± " in printed
    assert f"rollout_psnr_t4: {report['rollout_psnr_t4']:.4g} ± " in printed
    assert "action_nmi classes (coinrun): left, right, jump, jump-left, jump-right, still" in printed
    assert report["keep_still_pixels"] is True
    assert report["frame_skip"] == {"data": 1, "dynamics": 1} and "warning" not in printed
    decoded_path = tmp_path / "eval" / "decoded.json"
    cli("eval", "--weights", weights, "--data", data, "--out", decoded_path, "--clips", 4, "--batch", 2,
        "--length", LENGTH, "--device", "cpu", "--decoded-frames")
    decoded = json.loads(decoded_path.read_text())
    assert decoded["keep_still_pixels"] is False and decoded["copy_psnr"] == report["copy_psnr"]

    skipped = tmp_path / "skip2"
    cli("collect", skipped, "--levels", "100:110", "--split", "test", "--frame-skip", 2, *small)
    warned = cli("eval", "--weights", weights, "--data", skipped, "--out", tmp_path / "eval" / "skip2.json",
                 "--clips", 4, "--batch", 2, "--length", LENGTH, "--device", "cpu")
    assert "warning: the test data has 2 game ticks a frame, the dynamics trained on 1" in warned.stderr

    # a second eval to the same report is refused at once, and nothing of the first report changes
    before = {p.name: p.read_bytes() for p in (tmp_path / "eval").glob("report*")}
    refused = CliRunner().invoke(app, [str(a) for a in ("eval", "--weights", weights, "--data", data, "--out", report_path,
                                                         "--clips", 4, "--batch", 2, "--length", LENGTH, "--device", "cpu")])
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.strip() == f"error: {report_path}: already exists (pass --overwrite to replace it)"
    assert {p.name: p.read_bytes() for p in (tmp_path / "eval").glob("report*")} == before
    cli("eval", "--weights", weights, "--data", data, "--out", report_path, "--clips", 4, "--batch", 2,
        "--length", LENGTH, "--device", "cpu", "--seed", 1, "--overwrite")
    assert json.loads(report_path.read_text())["clips"] == 4

    grid = Image.open(report_path.with_name("report_grid.png"))
    plot = Image.open(report_path.with_name("report_psnr.png"))
    assert grid.format == plot.format == "PNG"
    assert grid.size == (LENGTH * 64, 4 * 2 * 64)  # per clip a real row and a generated row
    assert plot.size == (480, 320)
    grid.load(), plot.load()

    frame = read_shard(list_shards(data, "test")[0])[0]["frames"][0, 0]
    prompt = tmp_path / "frame.png"
    Image.fromarray(frame).save(prompt)
    gif = tmp_path / "clip.gif"
    rendered = cli("render", "--weights", weights, "--image", prompt, "--actions", "0,1,2", "--out", gif,
                   "--device", "cpu", "--scale", 1)
    assert "(4 frames)" in rendered.stdout  # the prompt's frame and one per action
    with Image.open(gif) as clip:
        assert clip.format == "GIF" and clip.size == (64, 64)
        durations = []
        for i in range(clip.n_frames):
            clip.seek(i)
            durations.append(clip.info["duration"])
        assert sum(durations) == 4 * RENDER_FRAME_MS
        # Pillow folds a frame identical to the one before it into that one's duration: count as render does
        world = load_world(weights, device="cpu", seed=0)
        frames = [world.reset(prompt)] + [world.step(a) for a in (0, 1, 2)]
        assert clip.n_frames == 1 + sum(not np.array_equal(a, b) for a, b in zip(frames, frames[1:]))

    for path in [*(out / f"{s}.safetensors" for s in STAGES), *(weights / f"{s}.safetensors" for s in STAGES)]:
        lines = cli("info", path).stdout.splitlines()
        kind = path.stem
        assert lines[0].startswith(f"{path}: {kind}, ") and lines[0].endswith(" parameters")
        assert any(line.startswith("config: ") for line in lines)
        provenance = json.loads(next(line for line in lines if line.startswith("provenance: "))[len("provenance: "):])
        assert provenance["step"] == 3 and provenance["preset"] == "tiny"

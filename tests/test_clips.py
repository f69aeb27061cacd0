"""Clips from disk: animated images, folders of frames, collect shards; one-line errors for bad ones."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fake_world import fake_clip, one_line_error, texture, write_gif
from genie_play.data.clips import ClipError, bundled_clips, is_clip_file, load_clip
from genie_play.data.shards import write_shard

ASSET_CLIP = Path(__file__).resolve().parent.parent / "assets" / "clips" / "coinrun-level-10056.gif"


def test_gif_clip_loads_every_frame(tmp_path):
    frames = fake_clip([1, 1, 0, 2])
    clip = load_clip(write_gif(tmp_path / "clip.gif", frames))
    assert clip.frames.shape == (5, 64, 64, 3) and clip.frames.dtype == np.uint8
    assert len(load_clip(tmp_path / "clip.gif", start=1, frames=3)) == 3


def test_folder_clip_in_natural_order(tmp_path):
    frames = fake_clip([0] * 10)
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(tmp_path / f"frame{index}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    clip = load_clip(tmp_path)
    assert len(clip) == 11
    assert np.array_equal(clip.frames, frames)  # frame10 after frame9, not after frame1


def test_shard_clip_picks_env_start_and_frames(tmp_path):
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (2, 40, 64, 64, 3), dtype=np.uint8)
    first = np.zeros((2, 40), bool)
    first[:, 0] = True
    first[1, 20] = True
    arrays = {"frames": video, "actions": np.zeros((2, 40), np.int64), "first": first,
              "level": np.zeros((2, 40), np.int64)}
    write_shard(tmp_path / "s.npz", arrays, {"game": "coinrun"})
    clip = load_clip(tmp_path / "s.npz", env=1, start=5)
    assert len(clip) == 32 and np.array_equal(clip.frames, video[1, 5:37])
    assert clip.episode_starts == [15]
    assert len(load_clip(tmp_path / "s.npz", start=30)) == 10  # what is left of the recording
    with pytest.raises(ClipError) as excinfo:
        load_clip(tmp_path / "s.npz", env=2)
    assert "--env 2" in one_line_error(excinfo)


def test_bad_clips_give_one_line_errors(tmp_path):
    (tmp_path / "junk.gif").write_bytes(b"GIF89a not really")
    Image.fromarray(texture(1)).save(tmp_path / "still.png")
    write_gif(tmp_path / "one.gif", fake_clip([])[:1])
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.fromarray(texture(1)).save(mixed / "a.png")
    Image.fromarray(texture(1, size=32)).save(mixed / "b.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.npz").write_text("nope")
    cases = {"junk.gif": "junk.gif", "still.png": "only one frame", "one.gif": "only one frame",
             "mixed": "mixed sizes", "empty": "no frame images", "bad.npz": "bad.npz", "missing.gif": "no such"}
    for name, expected in cases.items():
        with pytest.raises(ClipError) as excinfo:
            load_clip(tmp_path / name)
        assert expected in one_line_error(excinfo), name
    with pytest.raises(ClipError) as excinfo:
        load_clip(np.zeros((1, 64, 64, 3), np.uint8))
    assert "only one frame" in one_line_error(excinfo)


def test_is_clip_file(tmp_path):
    Image.fromarray(texture(1)).save(tmp_path / "still.png")
    assert is_clip_file(write_gif(tmp_path / "clip.gif", fake_clip([1])))
    assert is_clip_file(tmp_path)
    assert not is_clip_file(tmp_path / "still.png")
    assert not is_clip_file(tmp_path / "missing.gif")


def test_the_bundled_clip_is_small_and_loads():
    assert ASSET_CLIP.exists() and ASSET_CLIP.stat().st_size < 200_000
    assert ASSET_CLIP in bundled_clips()
    assert len(load_clip(ASSET_CLIP)) >= 16

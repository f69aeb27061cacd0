"""Recording Procgen episodes into shards: contents, resuming, errors, the policies and clip windows."""

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

import genie_play.data.collect as collect_mod
from genie_play.cli import app
from genie_play.data.collect import NUM_PROCGEN_ACTIONS, Policy, collect, plan_jobs
from genie_play.data.datasets import Recording, clip_starts
from genie_play.data.shards import SHARD_KEYS, list_shards, read_shard
from genie_play.errors import DataError, GenieError

pytest.importorskip("procgen")

ENVS, SHARD_STEPS = 2, 20  # 40 frames a shard


def shard_times(root):
    return {p.name: p.stat().st_mtime_ns for p in list_shards(root)}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("collect") / "data"
    stats = collect(root, "coinrun", (3, 9), 40, split="val", policy="explore", workers=1, num_envs=ENVS,
                    steps_per_shard=SHARD_STEPS, seed=5)
    return root, stats


def test_shard_arrays_shapes_dtypes_and_meta(recorded):
    root, stats = recorded
    paths = list_shards(root, "val")
    assert [p.name for p in paths] == ["coinrun-3-9-explore-00000.npz"]
    assert paths[0].parent == root / "val"
    arrays, meta = read_shard(paths[0])
    assert set(arrays) == set(SHARD_KEYS)
    assert arrays["frames"].shape == (ENVS, SHARD_STEPS, 64, 64, 3) and arrays["frames"].dtype == np.uint8
    for key, dtype in (("actions", np.int64), ("first", np.bool_), ("level", np.int64)):
        assert arrays[key].shape == (ENVS, SHARD_STEPS) and arrays[key].dtype == dtype, key
    assert arrays["frames"].std() > 0  # real pictures, not an empty buffer
    assert arrays["first"][:, 0].all()  # every environment starts an episode
    assert ((arrays["actions"] >= 0) & (arrays["actions"] < NUM_PROCGEN_ACTIONS)).all()
    assert meta["game"] == "coinrun" and meta["levels"] == [3, 9]
    assert meta["split"] == "val" and meta["policy"] == "explore"
    assert set(meta["coverage"]) == {"episodes", "mean_episode_length", "coin_rate"}
    assert stats == [meta["coverage"]]


def test_recording_knows_the_game_of_every_environment(recorded, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(recorded[0], root)  # the module's recording stays as it is
    collect(root, "bigfish", (3, 9), 40, split="val", policy="uniform", workers=1, num_envs=ENVS,
            steps_per_shard=SHARD_STEPS, seed=6)
    recording = Recording(root, "val")
    by_path = [p.name.split("-")[0] for p in recording.paths]
    assert by_path == ["bigfish", "coinrun"]  # shards in name order
    assert recording.games.tolist() == ["bigfish"] * ENVS + ["coinrun"] * ENVS
    assert len(recording.games) == len(recording.frames)


def test_level_ids_stay_inside_the_requested_range(recorded):
    root, _ = recorded
    level = read_shard(list_shards(root)[0])[0]["level"]
    assert ((level >= 3) & (level < 9)).all(), np.unique(level)


def test_rerun_skips_finished_shards_and_more_steps_only_adds_shards(recorded, tmp_path, monkeypatch):
    root, _ = recorded
    before = shard_times(root)

    def must_not_record(job):
        raise AssertionError(f"re-recorded {job.out_path}")

    with monkeypatch.context() as m:
        m.setattr(collect_mod, "record", must_not_record)
        again = collect(root, "coinrun", (3, 9), 40, split="val", workers=1, num_envs=ENVS,
                        steps_per_shard=SHARD_STEPS, seed=5)
    assert len(again) == 1
    assert shard_times(root) == before

    # more steps: the finished shard stays as it is, two new ones are recorded (in worker processes)
    more = collect(root, "coinrun", (3, 9), 100, split="val", workers=2, num_envs=ENVS,
                   steps_per_shard=SHARD_STEPS, seed=5)
    after = shard_times(root)
    assert len(more) == 3
    assert sorted(after) == [f"coinrun-3-9-explore-{i:05d}.npz" for i in range(3)]
    for name, mtime in before.items():
        assert after[name] == mtime
    seeds = {read_shard(root / "val" / name)[1]["seed"] for name in after}
    assert len(seeds) == 3  # each shard its own environments
    assert not [p for p in (root / "val").iterdir() if p.suffix != ".npz"]  # no temp files


@pytest.mark.parametrize("game, levels, fragment", [
    ("pong", (0, 10), "unknown game 'pong'"),
    ("coinrun", (5, 5), "bad level range 5:5"),
    ("coinrun", (9, 2), "bad level range 9:2"),
    ("coinrun", (-1, 4), "bad level range -1:4"),
])
def test_bad_game_or_level_range_is_a_one_line_data_error(tmp_path, game, levels, fragment):
    with pytest.raises(DataError) as info:
        collect(tmp_path / "d", game, levels, 10, workers=1, num_envs=1, steps_per_shard=10)
    assert isinstance(info.value, GenieError)
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("levels", ["abc", "5", "1:2:3", "9:2", "x:4"])
def test_cli_bad_levels_exit_code_2_with_one_line(tmp_path, levels):
    result = CliRunner().invoke(app, ["collect", str(tmp_path / "d"), "--levels", levels, "--steps", "10",
                                      "--envs", "1", "--shard-steps", "10", "--workers", "1"])
    assert result.exit_code == 2, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "d").exists()


def test_plan_jobs_rounds_up_to_whole_shards(tmp_path):
    jobs = plan_jobs(tmp_path, "coinrun", (0, 20), 161, "train", "explore", num_envs=4, steps_per_shard=20)
    assert len(jobs) == 3  # 80 frames a shard: 161 frames need 3
    assert len({j.out_path for j in jobs}) == len({j.seed for j in jobs}) == 3


# --- policies --------------------------------------------------------------------------------
def run_lengths(actions: np.ndarray) -> np.ndarray:
    """actions (E, S) -> lengths of the runs of equal consecutive actions in every row."""
    lengths = []
    for row in actions:
        change = np.flatnonzero(np.diff(row) != 0)
        bounds = np.concatenate([[-1], change, [len(row) - 1]])
        lengths.extend(np.diff(bounds))
    return np.asarray(lengths)


def roll(kind: str, envs: int = 4, steps: int = 1500, seed: int = 0) -> np.ndarray:
    policy = Policy(kind, envs, np.random.default_rng(seed))
    return np.stack([policy() for _ in range(steps)], axis=1)


def test_explore_policy_holds_actions_longer_than_uniform():
    explore, uniform = roll("explore"), roll("uniform")
    assert explore.shape == uniform.shape == (4, 1500)
    mean_explore, mean_uniform = run_lengths(explore).mean(), run_lengths(uniform).mean()
    assert mean_uniform < 1.2  # a fresh action each step: 15/14 on average
    assert mean_explore > 3 * mean_uniform
    assert ((explore >= 0) & (explore < NUM_PROCGEN_ACTIONS)).all()
    assert len(np.unique(explore)) == NUM_PROCGEN_ACTIONS  # the 25% uniform share reaches every action


def test_uniform_policy_covers_all_actions_about_evenly():
    counts = np.bincount(roll("uniform").ravel(), minlength=NUM_PROCGEN_ACTIONS)
    assert len(counts) == NUM_PROCGEN_ACTIONS and (counts > 0).all()
    share = counts / counts.sum()
    assert np.all(np.abs(share - 1 / NUM_PROCGEN_ACTIONS) < 0.02)


def test_unknown_policy_is_a_data_error():
    with pytest.raises(DataError, match="unknown policy"):
        Policy("greedy", 2, np.random.default_rng(0))


# --- clip windows ----------------------------------------------------------------------------
def brute_force_starts(first: np.ndarray, length: int) -> set[tuple[int, int]]:
    E, S = first.shape
    return {(e, s) for e in range(E) for s in range(S - length + 1) if not first[e, s + 1 : s + length].any()}


def test_clip_starts_by_hand():
    first = np.zeros((2, 10), bool)
    first[0, [0, 4, 7]] = True  # episodes 0-3, 4-6, 7-9
    first[1, 0] = True  # one episode
    starts = clip_starts(first, 3)
    assert starts.dtype == np.int64 and starts.shape[1] == 2
    got = {tuple(map(int, s)) for s in starts}
    assert got == {(0, 0), (0, 1), (0, 4), (0, 7)} | {(1, s) for s in range(8)}
    for e, s in starts:
        assert not first[e, s + 1 : s + 3].any()  # no episode starts inside the window
    # a window may begin on an episode's first frame, never cross into the next one
    assert (0, 2) not in got and (0, 3) not in got and (0, 5) not in got and (0, 6) not in got


def test_clip_starts_length_one_two_and_too_long():
    first = np.zeros((1, 5), bool)
    first[0, [0, 1, 2, 3, 4]] = True  # every frame its own episode
    assert len(clip_starts(first, 1)) == 5
    assert len(clip_starts(first, 2)) == 0
    assert clip_starts(np.ones((3, 4), bool), 5).shape == (0, 2)


def test_clip_starts_match_brute_force_on_random_episodes():
    rng = np.random.default_rng(3)
    first = rng.random((5, 60)) < 0.15
    first[:, 0] = True
    for length in (2, 4, 7):
        got = {tuple(map(int, s)) for s in clip_starts(first, length)}
        assert got == brute_force_starts(first, length), length


class TickCountingEnv:
    """Stands in for a gym3 env: each act is one tick, reward 1 on tick 3, a new episode after tick 4."""

    def __init__(self, num: int):
        self.ticks, self.acted = 0, []
        self.num = num

    def act(self, action):
        self.acted.append(action.copy())
        self.ticks += 1

    def observe(self):
        reward = np.full(self.num, float(self.ticks == 3), np.float32)
        return reward, {"rgb": None}, np.full(self.num, self.ticks == 4)


def test_hold_action_plays_the_key_every_tick_sums_rewards_and_flags_a_restart_inside_the_skip():
    env = TickCountingEnv(2)
    reward, restarted = collect_mod.hold_action(env, np.array([7, 1]), 3)
    assert [a.tolist() for a in env.acted] == [[7, 1]] * 3
    assert reward.tolist() == [1.0, 1.0] and not restarted.any()
    reward, restarted = collect_mod.hold_action(env, np.array([5, 5]), 3)  # ticks 4..6: restart on tick 4
    assert reward.tolist() == [0.0, 0.0] and restarted.all()


def test_frame_skip_is_in_the_name_and_meta_and_episodes_still_start_at_first(tmp_path):
    root = tmp_path / "d"
    collect(root, "coinrun", (3, 9), 40, split="val", policy="explore", workers=1, num_envs=ENVS,
            steps_per_shard=SHARD_STEPS, seed=5, frame_skip=3)
    (path,) = list_shards(root, "val")
    assert path.name == "coinrun-3-9-explore-skip3-00000.npz"
    arrays, meta = read_shard(path)
    assert meta["frame_skip"] == 3 and arrays["first"][:, 0].all()
    assert arrays["frames"].shape == (ENVS, SHARD_STEPS, 64, 64, 3)


def test_frame_skip_below_one_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="bad frame skip 0"):
        collect(tmp_path / "d", "coinrun", (0, 4), 10, workers=1, num_envs=1, steps_per_shard=10, frame_skip=0)


def test_a_split_mixing_frame_skips_is_refused_by_name(recorded, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(recorded[0], root)
    assert Recording(root, "val").frame_skip == 1
    collect(root, "coinrun", (3, 9), 40, split="val", policy="explore", workers=1, num_envs=ENVS,
            steps_per_shard=SHARD_STEPS, seed=5, frame_skip=2)
    with pytest.raises(DataError, match=r"val: shards recorded with different frame skips \[1, 2\]"):
        Recording(root, "val")


def test_frame_skip_k_records_every_kth_frame_of_the_same_run(tmp_path, monkeypatch):
    """With a fixed key and the same seed, frame s at skip 2 is frame 2s at skip 1 (the key held between)."""
    monkeypatch.setattr(Policy, "__call__", lambda self: np.full(len(self.current), 7))  # always "right"
    runs = {}
    for skip, steps in ((1, 20), (2, 10)):
        root = tmp_path / f"skip{skip}"
        collect(root, "coinrun", (3, 9), ENVS * steps, split="val", workers=1, num_envs=ENVS, steps_per_shard=steps,
                seed=5, frame_skip=skip)
        runs[skip] = read_shard(list_shards(root, "val")[0])[0]
    np.testing.assert_array_equal(runs[2]["frames"], runs[1]["frames"][:, ::2])
    np.testing.assert_array_equal(runs[2]["level"], runs[1]["level"][:, ::2])
    assert not np.array_equal(runs[2]["frames"][:, 1:], runs[1]["frames"][:, 1:10])  # it did skip


def test_collect_prints_no_gym_notice(tmp_path):
    """procgen imports gym, whose import prints a notice about gym to stderr; collect shows the user none of it."""
    import subprocess
    import sys

    code = ("from genie_play.data.collect import collect; "
            f"collect({str(tmp_path / 'd')!r}, 'coinrun', (0, 2), 4, split='val', workers=1, num_envs=1, steps_per_shard=4)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Gym" not in done.stderr and "gym" not in done.stderr, done.stderr
    assert list_shards(tmp_path / "d", "val")


def test_an_error_before_any_work_prints_one_line_and_no_progress_bar(tmp_path):
    result = CliRunner().invoke(app, ["collect", str(tmp_path / "d"), "--game", "nogame", "--steps", "10"])
    assert result.exit_code == 2
    assert result.stdout == ""  # the bar only appears with the first progress
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "unknown game 'nogame'" in result.stderr

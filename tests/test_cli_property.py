"""Every command driven with generated option values (numbers of every size and sign, NaN and infinities, empty
and odd strings, missing paths, files where folders belong) against tiny weights and data. Whatever is typed:
exit code 0 or 2, never a traceback; on 2, one `error:` line or typer's usage box; and no file changes outside
the output paths the command line names.

Valid values are drawn only where they are cheap (a step or two, one clip, tiny shards), so every command that
succeeds finishes in about a second."""

import itertools
import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from conftest import make_dynamics, make_lam, make_tokenizer, random_frames, write_tiny_data  # noqa: E402
from genie_play.app.app import App  # noqa: E402
from genie_play.checkpoint import save_checkpoint  # noqa: E402
from genie_play.cli import app  # noqa: E402

# --- the generated values -------------------------------------------------------------------------------
ODD_TEXT = ["", " ", "abc", "nan", "inf", "-inf", "1e309", "0.5", "-0", "1,,2", ",", "-", "--x", "../../escape", "é",
            "0x10", "1_000", "9" * 30]
ODD = st.sampled_from(ODD_TEXT)


def integers(valid: tuple[int, int], low: int | None = None, high: int | None = None) -> st.SearchStrategy:
    """Text of an integer: the cheap `valid` ones, those below `low` and above `high` (out of range), odd text."""
    parts = [st.integers(*valid), st.sampled_from([0, -1, -2, 10 ** 12, 10 ** 20, -10 ** 20])]
    if low is not None:
        parts.append(st.integers(max_value=low - 1))
    if high is not None:
        parts.append(st.integers(min_value=high + 1))
    return st.one_of(st.one_of(parts).map(str), ODD)


def floats(valid: tuple[float, float]) -> st.SearchStrategy:
    return st.one_of(st.floats(*valid).map(str), st.floats(allow_nan=True, allow_infinity=True).filter(
        lambda x: not valid[0] <= x <= 1e3).map(str), ODD)


def choice(valid: list[str], odd: list[str] = ()) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(valid + list(odd)), ODD)


FLAG = st.just(None)  # the option given alone


def spec(files: dict) -> dict:
    """command -> (base arguments, {option: values}); a generated option is appended after the base ones, so
    it replaces a base value (typer keeps the last). "#N" keys replace the N-th positional argument."""
    w, data, out = files["weights"], files["data"], files["out"]
    paths_in = [files["weights"], files["image"], files["garbage"], files["missing"], files["blocked"], files["data"]]
    inputs = choice([str(p) for p in paths_in])
    outputs = lambda *names: choice([str(out / n) for n in names] + [str(out), str(files["blocked_out"])])  # noqa: E731
    seed = st.one_of(st.integers(0, 2 ** 31 - 1).map(str), integers((0, 3), 0, 2 ** 31 - 1))
    device = choice(["cpu"], ["", "gpu", "cuda:x", "CPU"])
    common = {"--weights": choice([str(w)], [str(files["missing"]), str(files["image"]), str(data)]),
              "--device": device, "--seed": seed}
    scale = integers((1, 2), 1, 32)
    return {
        "info": ([str(w / "tokenizer.safetensors")], {"#0": inputs}),
        "collect": ([str(out / "d"), "--steps", "2", "--envs", "1", "--shard-steps", "2", "--workers", "1",
                     "--levels", "0:3"], {
            "#0": outputs("d", "e"), "--steps": integers((1, 3), 1, 10 ** 8), "--envs": integers((1, 2), 1, 256),
            "--shard-steps": integers((1, 3), 1, 10_000), "--workers": integers((1, 1), 1, 256),
            "--seed": seed, "--frame-skip": integers((1, 2), 1, 32),
            "--levels": choice(["0:3", "2147483646:2147483648", "900000:900004"],
                               ["5", "9:2", "-1:4", "0:2147483649", "1:2:3", "a:b", ":"]),
            "--split": choice(["train", "val"], ["a/b", ".", "..", "x y"]),
            "--policy": choice(["explore", "uniform"], ["random"]), "--game": choice(["coinrun", "bigfish"], ["nogame"]),
            "--variant": choice(["default", "mono"], ["nope"])}),
        "train": (["tokenizer", "--preset", "tiny", "--data", str(data), "--out", str(out / "run"), "--max-steps", "1",
                   "--device", "cpu", "--threads", "1"], {
            "#0": choice(["tokenizer", "lam", "dynamics", "all"], ["x"]), "--preset": choice(["tiny"], ["huge"]),
            "--data": choice([str(data)], [str(files["missing"]), str(files["image"]), str(w)]),
            "--out": outputs("run", "other"), "--max-steps": integers((1, 2), 1, 10 ** 9),
            "--batch-size": integers((1, 2), 1, 4096), "--lr": floats((1e-4, 1e-2)), "--max-minutes": floats((1e-3, 1e-2)),
            "--threads": integers((1, 1), 1, 256), "--seed": seed, "--device": device, "--resume": FLAG,
            "--tokenizer": choice([str(w / "tokenizer.safetensors")], [str(files["garbage"]), str(files["missing"])]),
            "--lam": choice([str(w / "lam.safetensors")], [str(w / "tokenizer.safetensors")]),
            "--init": choice([str(w / "tokenizer.safetensors"), str(w)], [str(files["garbage"])])}),
        "eval": (["--weights", str(w), "--data", str(data), "--out", str(out / "r.json"), "--clips", "1", "--length", "5",
                  "--batch", "1", "--device", "cpu"], {
            **common, "--data": choice([str(data)], [str(files["missing"]), str(w)]), "--out": outputs("r.json", "r2.json"),
            "--overwrite": FLAG, "--clips": integers((1, 3), 1, 4096), "--length": integers((5, 6), 5, 64),
            "--batch": integers((1, 3), 1, 1024), "--split": choice(["test", "train"], ["val", "a/b"]),
            "--temperature": floats((0.0, 2.0)), "--maskgit-steps": integers((1, 3), 1, 64),
            "--decoded-frames": FLAG}),
        "eval-prompts": (["--weights", str(w), "--prompts", str(files["prompts"]), "--out", str(out / "p.json"),
                          "--device", "cpu"], {
            **common, "--prompts": choice([str(files["prompts"])], [str(files["missing"]), str(files["image"])]),
            "--out": outputs("p.json"), "--temperature": floats((0.0, 2.0)), "--maskgit-steps": integers((1, 3), 1, 64)}),
        "export": ([str(files["run"]), str(out / "w")], {
            "#0": choice([str(files["run"])], [str(files["missing"]), str(files["image"])]),
            "#1": outputs("w", "w2"), "--dtype": choice(["float16", "float32"], ["int8"]), "--overwrite": FLAG}),
        "bench": (["--weights", str(w), "--device", "cpu", "--steps", "1", "--batches", "1"], {
            **common, "--steps": integers((1, 2), 1, 100_000), "--maskgit-steps": integers((1, 3), 1, 64),
            "--batches": choice(["1", "1,2"], ["0", "-1", "1,,2", "4097", ""]), "--json": FLAG, "--fp32": FLAG}),
        "play": (["--weights", str(w), "--device", "cpu"], {
            **common, "--image": inputs, "--scale": scale, "--clip": choice([str(files["clip"])], [str(files["image"])])}),
        "sketch": (["--weights", str(w), "--device", "cpu"], {
            **common, "--out": outputs("s.png", "s.jpg", "s"), "--trace": inputs, "--scale": scale}),
        "render": (["--weights", str(w), "--device", "cpu", "--actions", "1", "--out", str(out / "c.gif")], {
            **common, "--image": inputs, "--out": outputs("c.gif", "s.png", "c.jpg"), "--overwrite": FLAG,
            "--actions": choice(["0,1", "c1,C2", "7"], ["8", "-1", "x", "c9", "1;2"]), "--scale": scale}),
        "label": (["--weights", str(w), "--device", "cpu", "--prompts", "1", "--steps", "1"], {
            **common, "--prompts": integers((1, 1), 1, 64), "--steps": integers((1, 2), 1, 64)}),
        "mimic": (["--weights", str(w), "--device", "cpu", "--video", str(files["clip"]), "--out", str(out / "m.gif")], {
            **common, "--video": choice([str(files["clip"]), str(files["shard"])], [str(files["image"]), str(files["missing"])]),
            "--out": outputs("m.gif", "m.png"), "--image": inputs, "--env": integers((0, 1), 0),
            "--start": integers((0, 1), 0), "--frames": integers((2, 3), 2, 10_000), "--overwrite": FLAG, "--scale": scale}),
    }


# --- the tiny world the commands run in -------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("property")
    files = {"root": root, "out": root / "out", "data": write_tiny_data(root / "data"), "missing": root / "missing"}
    files["weights"] = w = root / "weights"
    save_checkpoint(w / "tokenizer.safetensors", make_tokenizer())
    save_checkpoint(w / "lam.safetensors", make_lam())
    save_checkpoint(w / "dynamics.safetensors", make_dynamics(),
                    provenance={"play": {"maskgit_steps": 2, "code_labels": [f"c{i}" for i in range(8)]}})
    files["run"] = root / "run"  # a training folder: a checkpoint with optimizer state
    save_checkpoint(files["run"] / "tokenizer.safetensors", make_tokenizer(), extra={"step": torch.tensor([1])})
    files["image"] = root / "prompt.png"
    Image.fromarray(random_frames(seed=9).numpy()).save(files["image"])
    files["prompts"] = root / "prompts"
    files["prompts"].mkdir()
    Image.fromarray(random_frames(seed=8).numpy()).save(files["prompts"] / "sketch-a.png")
    files["clip"] = root / "clip.gif"
    frames = [Image.fromarray(f) for f in random_frames(4, seed=7).numpy()]
    frames[0].save(files["clip"], save_all=True, append_images=frames[1:], duration=100, loop=0)
    files["shard"] = next((root / "data" / "test").glob("*.npz"))
    files["garbage"] = root / "garbage.safetensors"
    files["garbage"].write_bytes(b"\x80\x04 not a checkpoint" * 4)
    files["blocked"] = root / "a-file" / "sub"
    (root / "a-file").write_text("")
    (root / "cwd").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root / "cwd")
        patch.setenv("GENIE_PLAY_CONFIG_DIR", str(files["out"] / "config"))
        patch.setenv("COLUMNS", "120")
        patch.setattr(App, "run", lambda self, max_frames=None: self.close())  # open the window, then quit
        yield files


def snapshot(root, skip) -> dict:
    """Every file under root but those under `skip`: path -> (size, modification time)."""
    found = {}
    for folder, dirs, names in os.walk(root):
        if skip is not None and os.path.abspath(folder).startswith(str(skip)):
            continue
        for name in names:
            path = os.path.join(folder, name)
            stat = os.lstat(path)
            found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def check_result(result, args):
    line = "genie-play " + " ".join(repr(a) if a == "" or " " in a else a for a in args)
    assert result.exit_code in (0, 2), f"{line}\nexit {result.exit_code}\n{result.output}"
    assert "Traceback" not in result.output, f"{line}\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{line}\n{result.exception!r}"
    if result.exit_code == 2:
        err = result.stderr.strip()
        usage_box = err.startswith("Usage:") and "╭─ Error" in err
        one_line = err.startswith("error: ") and "\n" not in err
        assert usage_box or one_line, f"{line}\n{result.stderr}"


COMMANDS = {"info": 20, "collect": 25, "train": 25, "eval": 30, "eval-prompts": 12, "export": 20, "bench": 20,
            "play": 20, "sketch": 20, "render": 30, "label": 12, "mimic": 25}  # examples each
OUTPUTS = {"collect": {"#0"}, "train": {"--out"}, "eval": {"--out"}, "eval-prompts": {"--out"}, "export": {"#1"},
           "sketch": {"--out"}, "render": {"--out"}, "mimic": {"--out"}}
counter = itertools.count()


def named_outputs(command: str, base: list[str], drawn: dict) -> list[Path]:
    """The paths the command line names as outputs (the generated value, else the base one), made absolute."""
    paths = []
    for name in OUTPUTS.get(command, ()):
        if name in drawn:
            value = drawn[name]
        elif name.startswith("#"):
            value = base[int(name[1:])]
        elif name in base:
            value = base[base.index(name) + 1]
        else:
            continue
        if value and value.strip():
            paths.append(Path(os.path.abspath(value)))
    return paths


def changes_outside(before: dict, after: dict, allowed: list[Path]) -> list[str]:
    """Files added, changed or removed, except those under an output path or beside an output file with its
    stem (an eval report writes <stem>_grid.png next to <stem>.json)."""
    def allowed_path(path: str) -> bool:
        return any(path.startswith(str(p)) or path.startswith(str(p.parent / p.stem)) for p in allowed)

    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    return sorted(path for path in changed if not allowed_path(path))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_any_command_line_exits_0_or_2_with_one_clear_line(world, command):
    if command == "collect":
        pytest.importorskip("procgen")
    placeholder = str(world["out"] / "PLACEHOLDER")
    base, options = spec({**world, "out": Path(placeholder), "blocked_out": world["blocked"]})[command]

    @settings(max_examples=COMMANDS[command], deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def drive(data):
        case = world["out"] / f"case-{next(counter)}"
        cwd = case / "cwd"  # relative paths land here: a file in it that no output names is a stray write
        cwd.mkdir(parents=True)
        names = data.draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=4), label="options")
        drawn = {}
        for name in names:
            value = data.draw(options[name], label=name)
            drawn[name] = value if value is None else value.replace(placeholder, str(case))
        args = [a.replace(placeholder, str(case)) for a in base]
        extra = []
        for name, value in drawn.items():
            if name.startswith("#"):
                args[int(name[1:])] = value
            else:
                extra += [name] if value is None else [name, value]
        argv = ["eval" if command.startswith("eval") else command] + args + extra
        before = {**snapshot(world["root"], world["out"]), **snapshot(cwd, None)}
        old_cwd = os.getcwd()
        os.chdir(cwd)
        try:
            allowed = named_outputs(command, args, drawn)
            result = CliRunner().invoke(app, argv)
        finally:
            os.chdir(old_cwd)
        check_result(result, argv)
        event(f"exit {result.exit_code}")
        after = {**snapshot(world["root"], world["out"]), **snapshot(cwd, None)}
        assert changes_outside(before, after, allowed) == [], f"files outside the outputs changed: {argv}"

    drive()

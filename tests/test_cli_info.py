"""`genie-play info PATH`."""

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from conftest import make_dynamics, make_lam, make_tokenizer
from genie_play.checkpoint import count_parameters, save_checkpoint
from genie_play.cli import app

MAKERS = {"tokenizer": make_tokenizer, "lam": make_lam, "dynamics": make_dynamics}


def run(*args):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("kind", ["tokenizer", "lam", "dynamics"])
def test_info_prints_kind_parameters_config(tmp_path, kind):
    model = MAKERS[kind]()
    path = tmp_path / f"{kind}.safetensors"
    save_checkpoint(path, model, provenance={"stage": kind, "steps": 7})
    result = run("info", str(path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path}: {kind}, {count_parameters(model):,} parameters"
    config_line = next(line for line in lines if line.startswith("config: "))
    assert json.loads(config_line[len("config: "):]) == dataclasses.asdict(model.config)
    prov_line = next(line for line in lines if line.startswith("provenance: "))
    assert json.loads(prov_line[len("provenance: "):]) == {"stage": kind, "steps": 7}


def _one_error_line(result, *fragments):
    assert result.exit_code == 2, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, result.stderr
    assert err[0].startswith("error: ")
    for f in fragments:
        assert f in err[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_info_missing_file(tmp_path):
    path = tmp_path / "missing.safetensors"
    _one_error_line(run("info", str(path)), str(path), "not found")


def test_info_garbage_file(tmp_path):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(b"\x80\x04 this is not a checkpoint at all" * 10)
    _one_error_line(run("info", str(path)), str(path))


def test_info_truncated_file(tmp_path):
    path = tmp_path / "t.safetensors"
    save_checkpoint(path, make_lam())
    path.write_bytes(path.read_bytes()[:-100])
    _one_error_line(run("info", str(path)), str(path), "truncated")


def test_info_without_argument_is_a_usage_error():
    assert run("info").exit_code != 0

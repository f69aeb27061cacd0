"""Checkpoints: save/load round trips, and a one-line CheckpointError naming the file for every bad case."""

import dataclasses
import json
import os
import pickle
import struct

import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import make_dynamics, make_lam, make_tokenizer
from genie_play import checkpoint as ckpt
from genie_play.checkpoint import count_parameters, describe, load_model, read_header, save_checkpoint
from genie_play.errors import CheckpointError, GenieError
from genie_play.models import Dynamics, LatentActionModel, Tokenizer

MAKERS = {"tokenizer": make_tokenizer, "lam": make_lam, "dynamics": make_dynamics}
CLASSES = {"tokenizer": Tokenizer, "lam": LatentActionModel, "dynamics": Dynamics}


@pytest.fixture(autouse=True)
def never_unpickle(monkeypatch):
    """Nothing in checkpoint loading may unpickle: make every unpickling entry point explode."""

    def boom(*args, **kwargs):
        raise AssertionError("checkpoint code tried to unpickle")

    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    monkeypatch.setattr(torch, "load", boom)


def expect_error(path, *fragments, kind=None):
    with pytest.raises(CheckpointError) as info:
        load_model(path, kind=kind)
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    for fragment in fragments:
        assert fragment in msg, msg
    assert isinstance(info.value, GenieError)
    return msg


def rewrite(path, out, tensors=None, metadata=None):
    """Writes `path`'s tensors/metadata, changed, to `out` with safetensors directly."""
    meta = read_header(path)
    save_file(tensors if tensors is not None else load_file(str(path)), str(out),
              metadata=metadata if metadata is not None else meta)
    return out


# --- round trips --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tokenizer", "lam", "dynamics"])
def test_save_load_round_trip(tmp_path, kind):
    model = MAKERS[kind]()
    path = tmp_path / f"{kind}.safetensors"
    save_checkpoint(path, model, provenance={"steps": 3})
    loaded = load_model(path, kind=kind)
    assert type(loaded) is CLASSES[kind]
    assert loaded.config == model.config
    assert not loaded.training
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    info = describe(path)
    assert info["kind"] == kind
    assert info["config"] == dataclasses.asdict(model.config)
    assert info["provenance"] == {"steps": 3}
    assert count_parameters(loaded) == count_parameters(model) > 0
    # load without naming the kind gives the same model kind
    assert type(load_model(path)) is CLASSES[kind]


def test_fp16_save_loads_as_float32(tmp_path):
    model = make_dynamics()
    path = tmp_path / "d16.safetensors"
    save_checkpoint(path, model, dtype=torch.float16)
    assert os.path.getsize(path) < 0.6 * sum(t.numel() * 4 for t in model.state_dict().values())
    assert all(t.dtype == torch.float16 for t in load_file(str(path)).values())
    loaded = load_model(path)
    for name, t in loaded.state_dict().items():
        assert t.dtype == torch.float32, name
        torch.testing.assert_close(t, model.state_dict()[name], atol=2e-3, rtol=2e-3)


def test_extra_tensors_round_trip_and_are_ignored_by_the_model(tmp_path):
    model = make_lam()
    path = tmp_path / "lam.safetensors"
    step = torch.tensor([42])
    save_checkpoint(path, model, extra={"step": step, "opt.m": torch.ones(3)})
    loaded, prov, extra = load_model(path, kind="lam", with_extra=True)
    assert prov == {}
    assert set(extra) == {"step", "opt.m"} and torch.equal(extra["step"], step)
    assert "extra.step" not in loaded.state_dict()


def test_save_is_atomic_no_temp_files_left(tmp_path):
    save_checkpoint(tmp_path / "sub" / "t.safetensors", make_tokenizer())
    assert os.listdir(tmp_path / "sub") == ["t.safetensors"]


# --- bad files ----------------------------------------------------------------------------------------
@pytest.fixture
def tok_file(tmp_path):
    path = tmp_path / "tokenizer.safetensors"
    save_checkpoint(path, make_tokenizer())
    return path


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.safetensors", "not found")


def test_folder(tmp_path):
    (tmp_path / "dir.safetensors").mkdir()
    expect_error(tmp_path / "dir.safetensors", "folder")


def test_wrong_kind(tok_file):
    expect_error(tok_file, "tokenizer", "lam", kind="lam")


def test_missing_tensor(tok_file, tmp_path):
    tensors = load_file(str(tok_file))
    del tensors["encoder.0.weight"]
    bad = rewrite(tok_file, tmp_path / "missing.safetensors", tensors=tensors)
    expect_error(bad, "missing tensor", "encoder.0.weight")


def test_unexpected_tensor(tok_file, tmp_path):
    tensors = load_file(str(tok_file))
    tensors["bogus.weight"] = torch.zeros(2)
    bad = rewrite(tok_file, tmp_path / "unexpected.safetensors", tensors=tensors)
    expect_error(bad, "unexpected tensor", "bogus.weight")


def test_shape_mismatch_from_config(tok_file, tmp_path):
    meta = read_header(tok_file)
    config = json.loads(meta["config"])
    config["channels"] = 16
    bad = rewrite(tok_file, tmp_path / "shape.safetensors", metadata={**meta, "config": json.dumps(config)})
    expect_error(bad, "shape")


def test_shape_mismatch_from_tensor(tok_file, tmp_path):
    tensors = load_file(str(tok_file))
    tensors["encoder.0.weight"] = torch.zeros(3, 3)
    bad = rewrite(tok_file, tmp_path / "shape2.safetensors", tensors=tensors)
    expect_error(bad, "encoder.0.weight", "(3, 3)")


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_in_data(tok_file, tmp_path, keep):
    data = tok_file.read_bytes()
    bad = tmp_path / "trunc.safetensors"
    bad.write_bytes(data[: int(len(data) * keep)])
    expect_error(bad, "truncated")


@pytest.mark.parametrize("keep", [3, 8, 40])
def test_truncated_in_header(tok_file, tmp_path, keep):
    bad = tmp_path / "trunc.safetensors"
    bad.write_bytes(tok_file.read_bytes()[:keep])
    expect_error(bad, "not a safetensors file")


def test_empty_file(tmp_path):
    bad = tmp_path / "empty.safetensors"
    bad.write_bytes(b"")
    expect_error(bad, "not a safetensors file")


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes(tmp_path, seed):
    bad = tmp_path / "random.safetensors"
    g = torch.Generator().manual_seed(seed)
    bad.write_bytes(bytes(torch.randint(0, 256, (4096,), generator=g, dtype=torch.uint8).tolist()))
    expect_error(bad)


def test_absurd_header_length(tmp_path):
    bad = tmp_path / "absurd.safetensors"
    bad.write_bytes(struct.pack("<Q", 2 ** 62) + b"{}" * 10)
    expect_error(bad, "not a safetensors file")


def test_header_length_within_file_but_not_json(tmp_path):
    bad = tmp_path / "garbage.safetensors"
    bad.write_bytes(struct.pack("<Q", 16) + b"\xff" * 16 + b"\0" * 16)
    expect_error(bad, "unreadable header")


def test_header_json_not_an_object(tmp_path):
    body = b"[1, 2, 3]"
    bad = tmp_path / "list.safetensors"
    bad.write_bytes(struct.pack("<Q", len(body)) + body)
    expect_error(bad, "not a JSON object")


@pytest.mark.parametrize("header", [
    {"x": {"dtype": "F32", "shape": [1]}},  # no data_offsets
    {"x": {"dtype": "F32", "shape": [1], "data_offsets": "zz"}},
    {"__metadata__": "not a dict"},
    {"__metadata__": {"format": "genie_play", "format_version": "one"}},
    {"__metadata__": {"format": "genie_play", "format_version": "1"}},  # no kind / config
    {"__metadata__": {"format": "genie_play", "format_version": "1", "kind": "tokenizer", "config": "{not json"}},
    {"__metadata__": {"format": "genie_play", "format_version": "1", "kind": "tokenizer", "config": "[1, 2]"}},
    {"__metadata__": {"format": "genie_play", "format_version": "1", "kind": "robot", "config": "{}"}},
])
def test_malformed_headers(tmp_path, header):
    body = json.dumps(header).encode()
    bad = tmp_path / "malformed.safetensors"
    bad.write_bytes(struct.pack("<Q", len(body)) + body)
    expect_error(bad)


def test_pickle_renamed_is_refused_and_never_unpickled(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(pickle.dumps({"weights": [1, 2, 3], "note": "harmless"}, protocol=4))
    expect_error(bad, "pickle")


def test_torch_save_zip_renamed_is_refused(tmp_path):
    bad = tmp_path / "zip.safetensors"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 200)
    expect_error(bad, "pickle/zip")


def test_plain_safetensors_file(tmp_path):
    bad = tmp_path / "plain.safetensors"
    save_file({"a": torch.zeros(3)}, str(bad))
    expect_error(bad, "not a genie_play checkpoint")


def test_other_metadata_safetensors_file(tmp_path):
    bad = tmp_path / "other.safetensors"
    save_file({"a": torch.zeros(3)}, str(bad), metadata={"format": "pt"})
    expect_error(bad, "not a genie_play checkpoint")


def test_newer_format_version(tok_file, tmp_path):
    meta = read_header(tok_file)
    bad = rewrite(tok_file, tmp_path / "newer.safetensors", metadata={**meta, "format_version": str(ckpt.FORMAT_VERSION + 1)})
    expect_error(bad, "newer")


def test_unknown_config_field(tok_file, tmp_path):
    meta = read_header(tok_file)
    config = {**json.loads(meta["config"]), "wormholes": 3}
    bad = rewrite(tok_file, tmp_path / "unknown.safetensors", metadata={**meta, "config": json.dumps(config)})
    expect_error(bad, "wormholes")


@pytest.mark.parametrize("change", [{"patch": 5}, {"channels": "eight"}, {"levels": 5}, {"depth": -1.5}])
def test_invalid_config_value(tok_file, tmp_path, change):
    meta = read_header(tok_file)
    config = {**json.loads(meta["config"]), **change}
    bad = rewrite(tok_file, tmp_path / "invalid.safetensors", metadata={**meta, "config": json.dumps(config)})
    expect_error(bad, "invalid tokenizer config")


def test_unknown_kind(tok_file, tmp_path):
    meta = read_header(tok_file)
    bad = rewrite(tok_file, tmp_path / "kind.safetensors", metadata={**meta, "kind": "robot"})
    expect_error(bad, "robot")


def test_describe_errors_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        describe(tmp_path / "missing.safetensors")

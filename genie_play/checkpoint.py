"""One checkpoint format for every model: safetensors, with the kind, the dataclass config (JSON),
a format version and provenance in the metadata header. Loading rebuilds the model from the config.
Nothing is ever unpickled."""

import dataclasses
import json
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from genie_play.atomic import atomic_path, refuse_to_replace
from genie_play.errors import CheckpointError
from genie_play.models import MODEL_KINDS

FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100 * 1024 * 1024


def kind_of(model: torch.nn.Module) -> str:
    for kind, (cls, _) in MODEL_KINDS.items():
        if isinstance(model, cls):
            return kind
    raise TypeError(f"not a genie_play model: {type(model).__name__}")


def save_checkpoint(path: str | Path, model: torch.nn.Module, provenance: dict | None = None,
                    dtype: torch.dtype | None = None, extra: dict[str, torch.Tensor] | None = None) -> None:
    """Writes atomically. `dtype` (e.g. torch.float16) stores floating weights smaller; `extra` adds
    tensors under their own names (e.g. optimizer state for resuming) that load_model ignores."""
    tensors = {}
    for name, t in model.state_dict().items():
        t = t.detach().cpu()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.contiguous()
    for name, t in (extra or {}).items():
        tensors[f"extra.{name}"] = t.detach().cpu().contiguous()
    metadata = {
        "format": "genie_play",
        "format_version": str(FORMAT_VERSION),
        "kind": kind_of(model),
        "config": json.dumps(dataclasses.asdict(model.config)),
        "provenance": json.dumps(provenance or {}),
    }
    # Serialised in memory and written into atomic_path's temp file: safetensors' save_file would write its own
    # temp file (mode 0o600, an unknown name a kill leaves behind) and rename it over ours.
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(save(tensors, metadata=metadata))


def read_header(path: str | Path) -> dict:
    """The metadata header, checked: raises CheckpointError with one line naming the file and the problem."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: not a safetensors file (only {size} bytes)")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or n + 8 > size:
            if head[:1] == b"\x80" or head[:2] == b"PK":
                raise CheckpointError(f"{path}: looks like a pickle/zip (torch.save) file; only safetensors checkpoints are loaded")
            raise CheckpointError(f"{path}: not a safetensors file or truncated (header claims {n} bytes, file has {size})")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CheckpointError(f"{path}: not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a safetensors file (header is not a JSON object)")
    try:
        end = max((int(info["data_offsets"][1]) for k, info in header.items() if k != "__metadata__"), default=0)
    except (TypeError, KeyError, IndexError, ValueError):
        raise CheckpointError(f"{path}: not a safetensors file (malformed tensor entries in the header)") from None
    if n + 8 + end > size:
        raise CheckpointError(f"{path}: truncated (tensors need {n + 8 + end} bytes, file has {size})")
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or meta.get("format") != "genie_play":
        raise CheckpointError(f"{path}: a safetensors file, but not a genie_play checkpoint (no genie_play metadata)")
    try:
        version = int(meta.get("format_version", "0"))
    except (TypeError, ValueError):
        raise CheckpointError(f"{path}: unreadable checkpoint format version {meta.get('format_version')!r}") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {meta['format_version']} is newer than this genie_play supports ({FORMAT_VERSION})")
    return meta


def describe(path: str | Path) -> dict:
    """Kind, config and provenance of a checkpoint, without building the model."""
    meta = read_header(path)
    if "kind" not in meta or "config" not in meta:
        raise CheckpointError(f"{path}: genie_play metadata lacks the model kind or config")
    try:
        config, provenance = json.loads(meta["config"]), json.loads(meta.get("provenance", "{}"))
    except (TypeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: unreadable config or provenance in the metadata") from None
    if not isinstance(config, dict) or not isinstance(provenance, dict):
        raise CheckpointError(f"{path}: config and provenance in the metadata must be JSON objects")
    return {"kind": meta["kind"], "config": config, "provenance": provenance}


MAX_CONFIG_INT = 2 ** 20  # larger sizes than any model here has; beyond them a config is damaged, not big
CONFIG_TYPE_NAMES = {int: f"an integer from 0 to {MAX_CONFIG_INT}", bool: "true or false",
                     list[int]: f"a list of integers from 1 to {MAX_CONFIG_INT}"}


def config_value_fits(annotation, value) -> bool:
    """Whether a config value read from a checkpoint has its field's type (int, bool, list[int]) and a sane size."""
    def small_int(x, low):
        return isinstance(x, int) and not isinstance(x, bool) and low <= x <= MAX_CONFIG_INT

    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return small_int(value, 0)
    if annotation == list[int]:
        return isinstance(value, list) and bool(value) and all(small_int(x, 1) for x in value)
    return True


def build_config(kind: str, config: dict, path: Path):
    if kind not in MODEL_KINDS:
        raise CheckpointError(f"{path}: unknown model kind {kind!r}")
    config_cls = MODEL_KINDS[kind][1]
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(config) - names
    if unknown:
        raise CheckpointError(f"{path}: config has fields this genie_play does not know: {', '.join(sorted(unknown))}")
    for field in dataclasses.fields(config_cls):
        if field.name in config and not config_value_fits(field.type, config[field.name]):
            raise CheckpointError(f"{path}: invalid {kind} config (field {field.name} is {config[field.name]!r:.40}, "
                                  f"expected {CONFIG_TYPE_NAMES.get(field.type, field.type)})")
    try:
        return config_cls(**config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: invalid {kind} config ({e})") from None


def load_model(path: str | Path, kind: str | None = None, device="cpu", with_extra: bool = False):
    """Rebuilds the model from the checkpoint's config and loads its weights (float32, eval mode).

    kind: the expected model kind; another kind is an error. Returns the model, and with
    with_extra=True also (provenance dict, extra tensors dict).
    """
    path = Path(path)
    info = describe(path)
    if kind is not None and info["kind"] != kind:
        raise CheckpointError(f"{path}: is a {info['kind']} checkpoint, expected a {kind}")
    config = build_config(info["kind"], info["config"], path)
    try:
        model = MODEL_KINDS[info["kind"]][0](config)
    except (TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: invalid {info['kind']} config ({' '.join(str(e).split())})") from None
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: unreadable safetensors data ({e})") from None
    extra = {k[len("extra."):]: t for k, t in tensors.items() if k.startswith("extra.")}
    weights = {k: t for k, t in tensors.items() if not k.startswith("extra.")}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise CheckpointError(f"{path}: missing tensor {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    unexpected = sorted(set(weights) - set(expected))
    if unexpected:
        raise CheckpointError(f"{path}: unexpected tensor {unexpected[0]} for a {info['kind']} with this config")
    for name, t in weights.items():
        if t.shape != expected[name].shape:
            raise CheckpointError(f"{path}: tensor {name} has shape {tuple(t.shape)}, the config needs {tuple(expected[name].shape)}")
    model.load_state_dict({k: t.float() if t.is_floating_point() else t for k, t in weights.items()})
    model.to(device).eval()
    if with_extra:
        return model, info["provenance"], extra
    return model


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def export_checkpoint(src: str | Path, dst: str | Path, dtype: torch.dtype = torch.float16) -> None:
    """A play/ship copy: weights only (no optimizer state), floating tensors stored as `dtype`."""
    model, provenance, _ = load_model(src, with_extra=True)
    save_checkpoint(dst, model, provenance, dtype=dtype)


def carries_training_state(path: Path) -> bool:
    """Whether `path` is a checkpoint that training saved with its optimizer state (tensors named extra.*)."""
    if not path.is_file():
        return False
    try:
        with safe_open(str(path), "pt") as f:
            return any(key.startswith("extra.") for key in f.keys())
    except (SafetensorError, OSError, ValueError):
        return False


def export_weights(src: str | Path, dst: str | Path, dtype: torch.dtype = torch.float16,
                   overwrite: bool = False) -> dict[str, Path | None]:
    """Exports every checkpoint a training folder has into a weights folder. -> {kind: path written, or None
    where src has none}. Refuses before writing anything when src has nothing, or a target already exists."""
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise CheckpointError(f"{src}: training output folder not found")
    names = [f"{kind}.safetensors" for kind in MODEL_KINDS]
    found = {kind: name for kind, name in zip(MODEL_KINDS, names) if (src / name).exists()}
    if not found:
        raise CheckpointError(f"{src}: no checkpoint to export (no {' or '.join(names)})")
    if dst.is_dir() and dst.resolve() == src.resolve():
        raise CheckpointError(f"{dst}: is the training folder itself; export into another folder (an exported copy "
                              "drops the optimizer state that --resume needs)")
    for name in found.values():
        refuse_to_replace(dst / name, overwrite)
        if carries_training_state(dst / name):
            raise CheckpointError(f"{dst / name}: is a training checkpoint (it holds the optimizer state that --resume "
                                  "needs); export into another folder")
    for name in found.values():
        export_checkpoint(src / name, dst / name, dtype)
    return {kind: dst / found[kind] if kind in found else None for kind in MODEL_KINDS}

"""The values a user gives the CLI, checked in one place before they reach library code.

The commands hand typer the ranges below (`min=`/`max=`: refused with typer's usage box, and shown in
--help). What a range cannot say is said here: parsers (`parser=`, they see the text as typed) refuse empty
paths, wrong file types and malformed lists; callbacks refuse NaN, infinities and bad names. All of them
raise typer.BadParameter, so typer prints its usage box and exits 2. The check_* functions raise GenieError
(one `error:` line, exit 2) and serve library code as well: output folders are tried before any work starts.
"""

import math
import os
import re
import tempfile
from pathlib import Path

from genie_play.errors import GenieError

MAX_SEED = 2 ** 31 - 1          # numpy, torch and procgen all take seeds up to here
MAX_LEVEL = 2 ** 31 - 1         # procgen's level seeds are 32-bit signed integers
MAX_SCALE = 32                  # output (or window) pixels per frame pixel
MAX_THREADS = 256
MAX_TRAIN_STEPS = 10 ** 9
MAX_TRAIN_BATCH = 4096
MAX_LR = 1.0
MAX_TEMPERATURE = 10.0
MAX_EVAL_CLIPS = 4096
MAX_EVAL_LENGTH = 64
MAX_EVAL_BATCH = 1024
MAX_EVAL_FRAMES = 65_536        # clips x length: the report keeps four arrays of that many frames in memory
MAX_BENCH_STEPS = 100_000
MAX_BENCH_BATCH = 4096         # the GPU throughput figures go up to 1024
MAX_COLLECT_STEPS = 10 ** 8
MAX_WORKERS = 256
MAX_ENVS = 256
MAX_SHARD_STEPS = 10_000
MAX_SHARD_FRAMES = 100_000      # envs x shard steps: one shard is held in memory while it records (1.2 GB)
MAX_FRAME_SKIP = 32
MAX_LABEL_PROMPTS = 64
MAX_LABEL_STEPS = 64
MAX_CLIP_FRAMES = 10_000
MAX_RENDER_CODES = 1000
MAX_OUTPUT_BYTES = 2 ** 30      # uncompressed pixels of one GIF or PNG strip
SPLIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
PROBE_BYTES = 4096


def bad_parameter(message: str) -> Exception:
    import typer  # lazy: library code imports this module too

    return typer.BadParameter(message)


# --- parsers: the text as typed -> the value --------------------------------------------------------
def path_text(text: str) -> Path:
    """Any path, but not an empty one (Path("") would be the working folder)."""
    if not str(text).strip():
        raise bad_parameter("an empty path (give a file or folder name)")
    return Path(text)


def png_path(text: str) -> Path:
    path = path_text(text)
    if path.suffix.lower() != ".png":
        raise bad_parameter(f"{text}: use a .png file name (the file is written as PNG)")
    return path


def batch_sizes(text: str) -> tuple[int, ...]:
    """"1,8,64" -> (1, 8, 64), each in 1..MAX_BENCH_BATCH."""
    parts = [part.strip() for part in str(text).split(",")]
    if not all(re.fullmatch(r"[0-9]+", part) for part in parts):
        raise bad_parameter(f"{text!r}: expected batch sizes like 1,8,64")
    sizes = tuple(int(part) for part in parts)
    if not all(1 <= size <= MAX_BENCH_BATCH for size in sizes):
        raise bad_parameter(f"{text!r}: each batch size must be in 1..{MAX_BENCH_BATCH}")
    return sizes


# --- callbacks: the parsed value -> the same value, or a usage error ---------------------------------
def positive_finite(value: float | None) -> float | None:
    """For floats that must be > 0 (minutes); None means 'the default'."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise bad_parameter(f"{value}: must be a finite number > 0")
    return value


def learning_rate(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and 0 < value <= MAX_LR):
        raise bad_parameter(f"{value}: must be a number > 0 and <= {MAX_LR:g}")
    return value


def temperature(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_TEMPERATURE):
        raise bad_parameter(f"{value}: must be a number from 0 (argmax) to {MAX_TEMPERATURE:g}")
    return value


def device_name(value: str) -> str:
    if not str(value).strip():
        raise bad_parameter("an empty device name (choose auto, cpu or cuda)")
    return value


def split_name(value: str) -> str:
    try:
        return check_split(value)
    except GenieError as error:
        raise bad_parameter(str(error)) from None


# --- checks that library code calls too ----------------------------------------------------------------
def check_split(name: str) -> str:
    """A split is one folder inside the data folder: a plain name, never a path."""
    if not SPLIT_NAME.fullmatch(str(name)):
        raise GenieError(f"split {name!r}: use a plain name of letters, digits, - and _ (e.g. train, val, test)")
    return name


def check_level_range(start: int, stop: int) -> None:
    """Procgen levels are 0..MAX_LEVEL; A:B is every level from A up to, not including, B."""
    if not 0 <= start < stop <= MAX_LEVEL + 1 or stop - start > MAX_LEVEL:
        raise GenieError(f"bad level range {start}:{stop} (need 0 <= A < B <= {MAX_LEVEL + 1}, "
                         f"at most {MAX_LEVEL} levels)")


def check_shard_size(envs: int, shard_steps: int) -> None:
    if envs * shard_steps > MAX_SHARD_FRAMES:
        raise GenieError(f"--envs {envs} x --shard-steps {shard_steps} is {envs * shard_steps} frames a shard; at most "
                         f"{MAX_SHARD_FRAMES} are held in memory while a shard records")


def check_output_folder(folder: str | os.PathLike) -> None:
    """Refuses, before any work, a folder that results cannot be written into: a file in the way, a read-only
    folder or file system, a full disk. A folder that does not exist yet is tried at its nearest existing parent,
    with an unnamed temp file (nothing is left behind)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == folder else f" (so {folder} cannot be made)"
        raise GenieError(f"{existing}: is a file, not a folder{where}")
    try:
        with tempfile.TemporaryFile(dir=existing) as probe:
            probe.write(b"\0" * PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise GenieError(f"{folder}: cannot write there ({error.strerror or error})") from None


def check_output_file(path: str | os.PathLike) -> None:
    """check_output_folder for the folder a file goes into; a folder at `path` itself is refused."""
    path = Path(path)
    if path.is_dir():
        raise GenieError(f"{path}: is a folder, not a file name")
    check_output_folder(path.parent)


def check_output_pixels(frames: int, height: int, width: int, scale: int, what: str = "the output") -> None:
    """Refuses an image or animation whose pixels alone would take more than MAX_OUTPUT_BYTES of memory."""
    size = frames * height * width * 3 * scale * scale
    if size > MAX_OUTPUT_BYTES:
        raise GenieError(f"{what} would be {frames} frames of {width * scale}x{height * scale} pixels "
                         f"({size / 2 ** 30:.1f} GB): use a smaller --scale or fewer frames")


def check_eval_size(clips: int, length: int) -> None:
    if clips * length > MAX_EVAL_FRAMES:
        raise GenieError(f"--clips {clips} x --length {length} is {clips * length} frames; "
                         f"at most {MAX_EVAL_FRAMES} are held in memory (ask for fewer clips or shorter ones)")

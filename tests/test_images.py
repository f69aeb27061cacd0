"""Tests for genie_play.images: every input kind, every PIL mode, every bad input, plus fuzzing."""

import io
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from genie_play.errors import GenieError, ImageError
from genie_play.images import BACKGROUND, DRAWING_TEXT, MAX_PIXELS, is_saved_drawing, load_image
from genie_play.media import save_png

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
WHITE = np.array(BACKGROUND, np.uint8)


# ----------------------------------------------------------------------------- helpers


def check_frame(frame, size=64):
    assert isinstance(frame, np.ndarray)
    assert frame.shape == (size, size, 3)
    assert frame.dtype == np.uint8
    return frame


def save(im: Image.Image, path: Path, **kw) -> Path:
    im.save(path, **kw)
    return path


def image_error(src, match_name: str | None = None, **kw) -> str:
    """Load `src`, expect ImageError with a one-line message naming the source; return it."""
    with pytest.raises(ImageError) as info:
        load_image(src, **kw)
    msg = str(info.value)
    assert len(msg.splitlines()) == 1, msg
    assert isinstance(info.value, GenieError)
    if match_name is not None:
        assert match_name in msg, msg
    return msg


def noise(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny real PNG whose IHDR is patched to declare width x height (CRC fixed)."""
    buf = io.BytesIO()
    Image.new("1", (8, 8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


# ----------------------------------------------------------------------------- geometry


def test_only_a_png_saved_with_the_drawing_entry_is_a_saved_drawing(tmp_path):
    frame = np.zeros((64, 64, 3), np.uint8)
    drawing, plain, jpeg = tmp_path / "d.png", tmp_path / "p.png", tmp_path / "j.jpg"
    save_png(frame, drawing, text=DRAWING_TEXT)
    save_png(frame, plain, text={"genie_play": "something else"})
    Image.fromarray(frame).save(jpeg)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    assert is_saved_drawing(drawing) and is_saved_drawing(str(drawing))
    assert np.array_equal(load_image(drawing), frame)  # the entry changes nothing in the pixels
    for other in (plain, jpeg, tmp_path / "bad.png", tmp_path / "missing.png", frame, None):
        assert not is_saved_drawing(other)


def test_same_size_rgb_png_is_exact(tmp_path):
    arr = noise(64, 64)
    p = save(Image.fromarray(arr), tmp_path / "a.png")
    out = check_frame(load_image(p))
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable and out.flags.c_contiguous


def test_str_path_and_pathlike(tmp_path):
    p = save(Image.new("RGB", (10, 10), GREEN), tmp_path / "g.png")
    for src in (p, str(p)):
        assert (check_frame(load_image(src)) == GREEN).all()


def test_landscape_is_center_cropped(tmp_path):
    arr = np.zeros((100, 300, 3), np.uint8)
    arr[:, :100] = RED
    arr[:, 100:200] = BLUE
    arr[:, 200:] = RED
    out = check_frame(load_image(save(Image.fromarray(arr), tmp_path / "l.png")))
    assert (np.abs(out.astype(int) - BLUE) <= 2).all()


def test_portrait_is_center_cropped(tmp_path):
    arr = np.zeros((300, 100, 3), np.uint8)
    arr[:100] = RED
    arr[100:200] = GREEN
    arr[200:] = RED
    out = check_frame(load_image(save(Image.fromarray(arr), tmp_path / "p.png"), size=32), 32)
    assert (np.abs(out.astype(int) - GREEN) <= 2).all()


@pytest.mark.parametrize("shape", [(1, 4000), (4000, 1), (3, 5000), (1, 1)])
def test_extreme_aspect_and_single_pixel(tmp_path, shape):
    h, w = shape
    arr = np.full((h, w, 3), (10, 200, 30), np.uint8)
    out = check_frame(load_image(save(Image.fromarray(arr), tmp_path / "e.png")))
    assert (out == (10, 200, 30)).all()
    check_frame(load_image(arr))


def test_upscale_tiny_pixel_art_stays_crisp(tmp_path):
    art = np.array([[RED, BLUE], [GREEN, (255, 255, 0)]], np.uint8)
    out = check_frame(load_image(save(Image.fromarray(art), tmp_path / "art.png")))
    assert (out[:32, :32] == RED).all() and (out[:32, 32:] == BLUE).all()
    assert (out[32:, :32] == GREEN).all() and (out[32:, 32:] == (255, 255, 0)).all()
    assert len(np.unique(out.reshape(-1, 3), axis=0)) == 4


def test_downscale_averages(tmp_path):
    checker = (np.indices((256, 256)).sum(0) % 2 * 255).astype(np.uint8)
    out = check_frame(load_image(save(Image.fromarray(checker), tmp_path / "c.png")))
    assert abs(out.mean() - 127.5) < 3 and out.std() < 5  # a real filter, not point sampling


@pytest.mark.parametrize("size", [1, 7, 64, 128])
def test_other_sizes(size):
    check_frame(load_image(noise(50, 90), size=size), size)


@pytest.mark.parametrize("size", [0, -1, 2.5, "64", True, None])
def test_bad_size_is_a_programming_error(size):
    with pytest.raises(ValueError):
        load_image(noise(4, 4), size=size)


def test_large_jpeg_uses_draft_and_still_fits(tmp_path):
    p = save(Image.fromarray(noise(1200, 1600)), tmp_path / "big.jpg", quality=80)
    check_frame(load_image(p))


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((40, 20, 3), np.uint8)
    arr[:20] = RED
    arr[20:] = BLUE
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 3  # rotate 180
    p = save(im, tmp_path / "rot.png", exif=exif)
    sq = Image.fromarray(np.concatenate([arr[10:20], arr[20:30]]))  # center square of the upright image
    out = load_image(p, size=20)
    np.testing.assert_array_equal(out, np.asarray(sq.rotate(180)))
    # a PIL image passed in is taken as it is
    with Image.open(p) as im2:
        np.testing.assert_array_equal(load_image(im2, size=20), np.asarray(sq))


# ----------------------------------------------------------------------------- modes


@pytest.mark.parametrize(
    "mode,fmt,expect",
    [
        ("L", "png", (90, 90, 90)),
        ("1", "png", (255, 255, 255)),
        ("P", "png", (200, 40, 10)),
        ("P", "gif", (200, 40, 10)),
        ("RGB", "bmp", (200, 40, 10)),
        ("CMYK", "tiff", None),
        ("CMYK", "jpg", None),
        ("YCbCr", "jpg", None),
    ],
)
def test_opaque_modes_from_files(tmp_path, mode, fmt, expect):
    if mode == "L":
        im = Image.new("L", (30, 20), 90)
    elif mode == "1":
        im = Image.new("1", (30, 20), 1)
    elif mode == "P":
        im = Image.new("RGB", (30, 20), (200, 40, 10)).convert("P", palette=Image.Palette.ADAPTIVE)
    else:
        im = Image.new("RGB", (30, 20), (200, 40, 10)).convert(mode)
    p = save(im, tmp_path / f"m.{fmt}")
    with Image.open(p) as check:
        assert check.mode == (mode if fmt != "jpg" else check.mode)
    out = check_frame(load_image(p))
    if expect is None:
        ref = np.asarray(Image.new("RGB", (1, 1), (200, 40, 10)).convert(mode).convert("RGB"))[0, 0]
        assert (np.abs(out.astype(int) - ref) <= 8).all()
    else:
        assert (out == expect).all()


def test_one_bit_pattern(tmp_path):
    bits = np.zeros((16, 16), bool)
    bits[:, 8:] = True
    p = save(Image.fromarray(bits), tmp_path / "bits.png")
    with Image.open(p) as im:
        assert im.mode == "1"
    out = check_frame(load_image(p, size=16), 16)
    assert (out[:, :8] == 0).all() and (out[:, 8:] == 255).all()


def test_la_half_transparent_black_becomes_grey(tmp_path):
    la = Image.merge("LA", [Image.new("L", (8, 8), 0), Image.new("L", (8, 8), 128)])
    out = check_frame(load_image(save(la, tmp_path / "la.png"), size=8), 8)
    assert (np.abs(out.astype(int) - 127) <= 1).all()


def test_rgba_composited_on_background(tmp_path):
    im = Image.new("RGBA", (10, 10), (255, 0, 0, 128))
    out = check_frame(load_image(save(im, tmp_path / "rgba.png"), size=10), 10)
    expect = (np.array(RED) * 128 + WHITE.astype(float) * 127) / 255
    assert (np.abs(out - expect) <= 1).all()


@pytest.mark.parametrize("fmt", ["png", "gif", "webp"])
def test_fully_transparent_is_background(tmp_path, fmt):
    im = Image.new("RGBA", (20, 30), (12, 34, 56, 0))
    p = save(im, tmp_path / f"clear.{fmt}", **({"lossless": True} if fmt == "webp" else {}))
    out = check_frame(load_image(p))
    assert (out == WHITE).all()


def test_palette_with_transparency_index(tmp_path):
    im = Image.new("P", (4, 4), 0)
    im.putpalette([10, 20, 30, 200, 100, 50] + [0] * (254 * 3))
    im.putpixel((0, 0), 1)
    im.info["transparency"] = 0
    p = save(im, tmp_path / "pt.png", transparency=0)
    with Image.open(p) as check:
        assert check.mode == "P" and "transparency" in check.info
    out = check_frame(load_image(p, size=4), 4)
    assert tuple(out[0, 0]) == (200, 100, 50)
    assert (out[1:, :] == WHITE).all() and (out[:, 1:] == WHITE).all()


def test_palette_with_per_entry_alpha(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (0, 0, 255, 255))
    rgba.putpixel((0, 0), (255, 0, 0, 0))
    p = save(rgba.convert("P"), tmp_path / "pa.png")  # PIL keeps the palette alpha as tRNS bytes
    out = check_frame(load_image(p, size=4), 4)
    assert tuple(out[0, 0]) == tuple(WHITE)
    assert tuple(out[3, 3]) == BLUE


def test_palette_without_transparency(tmp_path):
    im = Image.new("RGB", (6, 6), (1, 2, 3)).convert("P", palette=Image.Palette.ADAPTIVE)
    p = save(im, tmp_path / "p.png")
    assert (check_frame(load_image(p)) == (1, 2, 3)).all()


def test_sixteen_bit_png(tmp_path):
    a = np.full((10, 10), 65535 // 2, np.uint16)
    a[:, :5] = 65535
    p = save(Image.fromarray(a), tmp_path / "g16.png")
    with Image.open(p) as check:
        assert check.mode.startswith("I")
    out = check_frame(load_image(p, size=10), 10)
    assert (out[:, :5] == 255).all() and (np.abs(out[:, 5:].astype(int) - 127) <= 1).all()


def test_thirty_two_bit_int_tiff(tmp_path):
    a = np.full((8, 8), 40000, np.int32)
    a[0, 0] = -5
    p = save(Image.fromarray(a), tmp_path / "i32.tif")
    with Image.open(p) as check:
        assert check.mode == "I"
    out = check_frame(load_image(p, size=8), 8)
    assert tuple(out[0, 0]) == (0, 0, 0) and tuple(out[4, 4]) == (156,) * 3


def test_mode_i_with_eight_bit_values():
    im = Image.new("L", (5, 5), 200).convert("I")
    assert (check_frame(load_image(im, size=5), 5) == 200).all()


def test_float_tiff_unit_range_and_wide_range(tmp_path):
    p = save(Image.fromarray(np.full((6, 6), 0.5, np.float32)), tmp_path / "f.tif")
    with Image.open(p) as check:
        assert check.mode == "F"
    assert (np.abs(check_frame(load_image(p)).astype(int) - 128) <= 1).all()
    wide = Image.fromarray(np.full((6, 6), 300.0, np.float32))
    assert (check_frame(load_image(wide)) == 255).all()


def test_float_pil_image_with_nan_is_refused():
    im = Image.fromarray(np.full((4, 4), np.nan, np.float32))
    assert "NaN" in image_error(im, "<image>")


@pytest.mark.parametrize("mode", ["RGBa", "La", "PA", "RGBX", "I;16B", "I;16L", "HSV", "LAB", "YCbCr"])
def test_other_pil_modes_in_memory(mode):
    base = Image.fromarray(noise(12, 20, 4))
    if mode.startswith("I;16"):
        im = base.convert("L").convert(mode)
    elif mode == "La":
        im = base.convert("LA").convert("La")
    else:
        im = base.convert(mode)
    assert im.mode == mode
    check_frame(load_image(im))


# ----------------------------------------------------------------------------- multi-frame


def test_animated_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, GREEN, BLUE)]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(p) as check:
        assert check.n_frames == 3
    assert (check_frame(load_image(p)) == RED).all()


def test_apng_first_frame(tmp_path):
    frames = [Image.new("RGBA", (16, 16), c + (255,)) for c in (BLUE, RED)]
    p = tmp_path / "anim.png"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(p) as check:
        assert check.n_frames == 2
    assert (check_frame(load_image(p)) == BLUE).all()


def test_multipage_tiff_first_page(tmp_path):
    pages = [Image.new("RGB", (10, 12), GREEN), Image.new("L", (30, 30), 0)]
    p = tmp_path / "pages.tif"
    pages[0].save(p, save_all=True, append_images=pages[1:])
    with Image.open(p) as check:
        assert check.n_frames == 2
    assert (check_frame(load_image(p)) == GREEN).all()


def test_pil_image_input_is_not_mutated_beyond_load():
    im = Image.new("RGBA", (30, 10), (0, 0, 0, 0))
    before = im.tobytes()
    check_frame(load_image(im))
    assert im.mode == "RGBA" and im.size == (30, 10) and im.tobytes() == before


# ----------------------------------------------------------------------------- arrays


@pytest.mark.parametrize("shape", [(20, 30), (20, 30, 1), (20, 30, 3), (20, 30, 4)])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", ">u2", "bool", "float16", "float32", "float64"])
def test_array_shapes_and_dtypes(shape, dtype):
    full = {"uint8": 255, "uint16": 65535, ">u2": 65535, "bool": True}.get(dtype, 1.0)
    a = np.full(shape, full, dtype=dtype)
    assert (check_frame(load_image(a)) == 255).all()
    assert (check_frame(load_image(np.zeros(shape, dtype=dtype))) == (WHITE if shape[-1] == 4 else 0)).all()


def test_array_values_and_alpha():
    a = np.zeros((4, 4, 4), np.float32)
    a[..., 0] = 1.0
    a[..., 3] = 0.5
    out = check_frame(load_image(a, size=4), 4)
    expect = (np.array(RED) * 128 + WHITE.astype(float) * 127) / 255
    assert (np.abs(out - expect) <= 1).all()
    assert (load_image(np.full((3, 3), 257 * 100, np.uint16)) == 100).all()


def test_float_rounding_slack_and_non_contiguous():
    a = np.full((10, 10, 3), 1.0 + 1e-4)
    a[0, 0] = -1e-4
    check_frame(load_image(a))
    big = noise(40, 60)
    check_frame(load_image(big[::2, ::-3]))
    check_frame(load_image(np.asfortranarray(big)))


@pytest.mark.parametrize(
    "arr,reason",
    [
        (np.zeros((0, 5, 3), np.uint8), "empty"),
        (np.zeros((5, 0), np.uint8), "empty"),
        (np.zeros((0, 0, 4), np.float32), "empty"),
        (np.zeros((5,), np.uint8), "shape"),
        (np.zeros((2, 5, 5, 3), np.uint8), "shape"),
        (np.zeros((5, 5, 2), np.uint8), "shape"),
        (np.zeros((5, 5, 5), np.uint8), "shape"),
        (np.zeros((5, 5, 0), np.uint8), "shape"),
        (np.array(3, np.uint8), "shape"),
        (np.zeros((5, 5), np.int64), "dtype"),
        (np.zeros((5, 5), np.int8), "dtype"),
        (np.zeros((5, 5), np.uint32), "dtype"),
        (np.zeros((5, 5), np.complex64), "dtype"),
        (np.zeros((5, 5), object), "dtype"),
        (np.zeros((5, 5), "U3"), "dtype"),
        (np.zeros((5, 5), [("a", "u1")]), "dtype"),
        (np.full((5, 5), np.nan, np.float32), "NaN"),
        (np.full((5, 5, 3), np.inf), "NaN"),
        (np.full((5, 5), 2.0), "[0, 1]"),
        (np.full((5, 5), -0.5, np.float16), "[0, 1]"),
        (np.full((5, 5, 3), 255.0), "[0, 1]"),
    ],
)
def test_bad_arrays(arr, reason):
    assert reason in image_error(arr, "<array>")


def test_nan_outside_crop_is_still_refused():
    a = np.zeros((10, 100), np.float32)
    a[0, 0] = np.nan
    image_error(a, "<array>")


def test_unsupported_source_types():
    for src in (3, None, b"\x89PNG", [[0, 1]], 1.5):
        image_error(src)


# ----------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    p = tmp_path / "nope.png"
    assert "no such file" in image_error(p, str(p))


def test_directory(tmp_path):
    assert "directory" in image_error(tmp_path, str(tmp_path))


def test_empty_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    assert "empty" in image_error(p, str(p))


def test_empty_path_string_and_nul_byte():
    image_error("")
    image_error("bad\0name.png", "bad")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs mkfifo")
def test_fifo_is_not_read(tmp_path):
    p = tmp_path / "pipe.png"
    os.mkfifo(p)
    assert "regular file" in image_error(p, str(p))


@pytest.mark.parametrize("fmt,keep", [("png", 0.5), ("jpeg", 0.5), ("gif", 0.6), ("tiff", 0.5), ("webp", 0.5), ("bmp", 0.5)])
def test_truncated_file(tmp_path, fmt, keep):
    buf = io.BytesIO()
    Image.fromarray(noise(96, 96)).save(buf, format=fmt)
    data = buf.getvalue()
    p = tmp_path / f"cut.{fmt}"
    p.write_bytes(data[: int(len(data) * keep)])
    image_error(p, str(p))


def test_png_with_bad_crc_in_data(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(noise(32, 32)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[60] ^= 0xFF
    p = tmp_path / "crc.png"
    p.write_bytes(bytes(data))
    image_error(p, str(p))


def test_random_bytes_and_text(tmp_path):
    rnd = tmp_path / "random.png"
    rnd.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert "not a recognised image" in image_error(rnd, str(rnd))
    txt = tmp_path / "notes.jpg"
    txt.write_text("hello\nthis is not an image\n")
    assert "not a recognised image" in image_error(txt, str(txt))


def test_eps_is_not_handed_to_ghostscript(tmp_path):
    p = tmp_path / "x.eps"
    p.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    image_error(p, str(p))


def test_format_missing_from_this_pil_build_is_skipped(tmp_path, monkeypatch):
    import genie_play.images as images

    monkeypatch.setattr(images, "FORMATS", ("NOSUCHFORMAT",) + images.FORMATS)
    check_frame(load_image(save(Image.new("RGB", (3, 3)), tmp_path / "ok.png")))


def test_file_name_with_newline_keeps_message_one_line(tmp_path):
    p = tmp_path / "two\nlines.png"
    p.write_bytes(b"junk")
    image_error(p)


@pytest.mark.parametrize(
    "w,h",
    [
        (7000, 7000),  # 49 MP: under PIL's warning level, refused by our own check
        (10000, 10000),  # 100 MP: PIL's DecompressionBombWarning
        (100000, 100000),  # 10 GP: PIL's DecompressionBombError
        (1, 2**31 - 1),
    ],
)
def test_decompression_bomb_refused_before_decoding(tmp_path, w, h):
    p = tmp_path / f"bomb_{w}x{h}.png"
    p.write_bytes(png_with_declared_size(w, h))
    filters_before = list(warnings.filters)
    limit_before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning escapes either
        msg = image_error(p, str(p))
    assert "too large" in msg
    assert Image.MAX_IMAGE_PIXELS == limit_before
    assert list(warnings.filters) == filters_before


def test_bomb_limit_applies_to_pil_images_and_arrays():
    big = Image.new("1", (8000, 6000))  # 48 MP for 6 MB of memory
    assert "too large" in image_error(big, "<image>")
    assert "too large" in image_error(np.zeros((7000, 6000), bool), "<array>")
    assert "too large" in image_error(noise(20, 20), max_pixels=399)
    check_frame(load_image(noise(20, 20), max_pixels=400))
    assert MAX_PIXELS == 40_000_000


def test_zero_size_pil_image():
    assert "zero size" in image_error(Image.new("RGB", (0, 5)), "<image>")


def test_pil_image_file_name_is_used(tmp_path):
    p = save(Image.fromarray(np.full((4, 4), np.nan, np.float32)), tmp_path / "nan.tif")
    with Image.open(p) as im:
        image_error(im, str(p))


# ----------------------------------------------------------------------------- properties

MODES = ["1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "I", "I;16", "I;16B", "F", "HSV", "LAB"]
FAST = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

dims = st.integers(1, 300)


def make_pil(mode: str, w: int, h: int, seed: int) -> Image.Image:
    base = Image.fromarray(noise(h, w, 4, seed))
    if mode.startswith("I;16"):
        return base.convert("L").convert(mode)
    if mode == "La":
        return base.convert("LA").convert("La")
    if mode == "P" and seed % 2:
        im = base.convert("RGB").convert("P")
        im.info["transparency"] = seed % 256
        return im
    return base.convert(mode)


def load_or_error(src, size):
    try:
        out = load_image(src, size=size)
    except ImageError as e:
        assert len(str(e).splitlines()) == 1
        return None
    return check_frame(out, size)


@FAST
@given(st.sampled_from(MODES), dims, dims, st.integers(0, 2**16), st.integers(1, 96))
def test_property_pil_modes(mode, w, h, seed, size):
    im = make_pil(mode, w, h, seed)
    assert load_or_error(im, size) is not None  # every mode listed is supported


@FAST
@given(st.sampled_from(MODES), dims, dims, st.integers(0, 2**16), st.sampled_from(["png", "gif", "tiff", "bmp", "webp", "jpeg"]))
def test_property_files_in_any_mode(tmp_path_factory, mode, w, h, seed, fmt):
    im = make_pil(mode, w, h, seed)
    buf = io.BytesIO()
    try:
        im.save(buf, format=fmt)
    except (OSError, ValueError, KeyError, TypeError):
        assume(False)  # that format cannot store that mode: not our concern
    p = tmp_path_factory.getbasetemp() / f"prop.{fmt}"
    p.write_bytes(buf.getvalue())
    assert load_or_error(p, 64) is not None


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(["uint8", "uint16", "bool", "float16", "float32", "float64", "int16", "int64", "uint32", "complex64"]))
    ndim = draw(st.sampled_from([0, 1, 2, 3, 3, 3, 4]))
    shape = tuple(draw(st.integers(0, 300)) if i < 2 else draw(st.integers(0, 5)) for i in range(ndim))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if dtype.startswith("float"):
        a = rng.random(shape)
        if draw(st.booleans()):  # sometimes out of range or non-finite
            a.flat[: draw(st.integers(0, 3))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1.5, -0.2, 255.0]))
    else:
        a = rng.integers(0, 256, shape)
    return np.asarray(a).astype(dtype)


def array_is_valid(a: np.ndarray) -> bool:
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3, 4))) or 0 in a.shape[:2]:
        return False
    if a.dtype.kind == "f":
        return bool(np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1)
    return a.dtype.kind == "b" or a.dtype in (np.uint8, np.uint16)


@FAST
@given(arrays(), st.integers(1, 96))
def test_property_arrays(a, size):
    result = load_or_error(a, size)
    assert (result is not None) == array_is_valid(a)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=3000))
def test_property_random_bytes(tmp_path_factory, data):
    p = tmp_path_factory.getbasetemp() / "fuzz.bin"
    p.write_bytes(data)
    load_or_error(p, 32)


def _valid_files():
    out = []
    for fmt, mode in [("png", "RGBA"), ("png", "P"), ("gif", "P"), ("jpeg", "RGB"), ("bmp", "RGB"), ("tiff", "RGB"), ("webp", "RGB"), ("png", "I;16")]:
        buf = io.BytesIO()
        make_pil(mode, 23, 17, 3).save(buf, format=fmt)
        out.append(buf.getvalue())
    return out


VALID_FILES = _valid_files()


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(VALID_FILES),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.integers(0, 10_000),
)
def test_property_corrupted_real_files(tmp_path_factory, data, flips, cut):
    data = bytearray(data)
    for pos, val in flips:
        data[pos % len(data)] = val
    data = bytes(data[: max(1, len(data) - cut % len(data))])
    p = tmp_path_factory.getbasetemp() / "corrupt.img"
    p.write_bytes(data)
    load_or_error(p, 32)

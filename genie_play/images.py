"""Load any reasonable image as a square RGB frame for the model.

`load_image` accepts a path, a PIL image or a numpy array and returns a (size, size, 3)
uint8 RGB array: the short side is scaled to `size` and the long side is center-cropped.
Anything wrong with the input raises `ImageError` with one line naming the file (or
"<array>" / "<image>") and the reason; no other exception type escapes for bad input.

Policy choices, in one place:

* Transparency is composited onto `BACKGROUND` (plain white, which reads as a bright sky).
  A fully transparent image therefore loads as a white frame.
* Resampling: LANCZOS when shrinking (with PIL's `reducing_gap` for big images), NEAREST
  when enlarging, so small pixel-art sprites stay crisp; same size is copied as is.
  The crop is taken in whole pixels, ( (W - S) // 2, (H - S) // 2 ) with S = min(W, H).
* Decompression bombs: an image declaring more than `MAX_PIXELS` pixels is refused from
  its header (`Image.open(...).size`) before any pixel is decoded. PIL's own
  DecompressionBombWarning is turned into an error only inside this module's calls (a
  local `warnings.catch_warnings()` block) and its DecompressionBombError is caught.
  `PIL.Image.MAX_IMAGE_PIXELS` is never changed, so other code is unaffected.
  PIL's `ImageFile.LOAD_TRUNCATED_IMAGES` is not changed either; if other code sets it,
  truncated files load padded rather than being refused.
* Files are opened only with the raster formats in `FORMATS` that this PIL build has
  (no EPS, so no Ghostscript).
* Multi-frame files (animated GIF/PNG/WebP, multi-page TIFF): the first frame. A PIL image
  passed in is used at the frame it is currently on, and is not modified.
* EXIF orientation of a file is applied (photos come out upright). PIL images passed in are
  taken as they are.
* Pixel values: uint8 as is; uint16 and PIL modes I;16* scaled by 1/257; PIL mode I is read
  as 8-bit when its max is <= 255, else as 16-bit (clipped to 0..65535); bool is 0/255.
  Float arrays must be finite and in [0, 1] (a rounding slack of half a level is allowed).
  PIL mode F images in [0, 1] are scaled by 255, others are clipped to 0..255.
"""

from __future__ import annotations

import math
import os
import stat
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from genie_play.errors import ImageError

__all__ = ["BACKGROUND", "FORMATS", "MAX_PIXELS", "load_image"]

BACKGROUND = (255, 255, 255)
MAX_PIXELS = 40_000_000
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "AVIF", "PPM", "TGA", "ICO", "QOI", "PCX", "SGI")

_ARRAY_NAME = "<array>"
_IMAGE_NAME = "<image>"
_FLOAT_SLACK = 0.5 / 255.0  # values within half a level of [0, 1] round into 0..255
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


DRAWING_TEXT = {"genie_play": "drawing"}  # the PNG text entry the sketch screen saves a drawing with


def is_saved_drawing(src) -> bool:
    """Whether `src` is a path to a PNG the sketch screen saved (it carries DRAWING_TEXT); False for anything
    else, including a file that cannot be read (load_image reports that)."""
    if not isinstance(src, (str, os.PathLike)):
        return False
    try:
        with Image.open(src) as im:  # the text comes before the pixels: nothing is decoded
            return im.format == "PNG" and all(im.info.get(key) == value for key, value in DRAWING_TEXT.items())
    except Exception:  # noqa: BLE001 - any unreadable file is simply not a saved drawing
        return False


def load_image(src, size: int = 64, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Return `src` as a (size, size, 3) uint8 RGB array; raise ImageError for bad input.

    `src`: a path (str / os.PathLike), a PIL.Image.Image, or a numpy array shaped (H, W),
    (H, W, 1), (H, W, 3) or (H, W, 4) of dtype uint8, uint16, bool or float in [0, 1].
    `size` is a positive int (ValueError otherwise: that is a programming error, not input).
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    size = int(size)
    if isinstance(src, Image.Image):
        name = getattr(src, "filename", None) or _IMAGE_NAME
        with _bomb_warnings_as_errors():
            return _from_pil(src, size, str(name), max_pixels, owned=False)
    if isinstance(src, np.ndarray):
        return _from_array(src, size, _ARRAY_NAME, max_pixels)
    if isinstance(src, (str, os.PathLike)):
        return _from_path(src, size, max_pixels)
    raise _fail(f"<{type(src).__name__}>", "unsupported image source (expected a path, a PIL image or a numpy array)")


# ----------------------------------------------------------------------------- helpers


def _fail(name: str, reason: str) -> ImageError:
    """An ImageError whose message is exactly one line: '<name>: <reason>'."""
    text = f"{name}: {reason}"
    return ImageError(" ".join(text.splitlines()) or "image error")


def _describe(e: BaseException, limit: int = 200) -> str:
    if isinstance(e, OSError) and e.strerror:
        text = e.strerror
    else:
        text = str(e).strip()
        text = f"{type(e).__name__}: {text}" if text else type(e).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _bomb_warnings_as_errors(warnings.catch_warnings):
    """Local warning filters (restored on exit): DecompressionBombWarning becomes an exception,
    and PIL's UserWarnings about malformed metadata are silenced (the load either succeeds
    or raises ImageError; the user needs nothing else)."""

    def __enter__(self):
        result = super().__enter__()
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL(\.|$)")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return result


def _available_formats() -> tuple[str, ...]:
    """FORMATS this PIL build can open (naming one it lacks would make Image.open raise KeyError)."""
    Image.init()
    return tuple(f for f in FORMATS if f in Image.OPEN)


def _too_many(name: str, w: int, h: int, max_pixels: int) -> ImageError:
    return _fail(name, f"image is too large: {w}x{h} = {w * h:,} pixels (limit {max_pixels:,})")


def _from_path(src, size: int, max_pixels: int) -> np.ndarray:
    try:
        name = os.fsdecode(os.fspath(src))
    except Exception:  # a PathLike whose __fspath__ misbehaves
        raise _fail(f"<{type(src).__name__}>", "not a file path") from None
    if not name:
        raise _fail("<empty path>", "no file name given")
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise _fail(name, "no such file") from None
    except (OSError, ValueError) as e:  # ValueError: embedded NUL byte
        raise _fail(name, f"cannot access: {_describe(e)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail(name, "is a directory, not an image file")
    if not stat.S_ISREG(st.st_mode):
        raise _fail(name, "is not a regular file")
    if st.st_size == 0:
        raise _fail(name, "empty file")
    try:
        # Our own file object, not the name: PIL then never memory-maps the file, so a file
        # truncated by another process while we read it gives an error, not a SIGBUS crash.
        fp = open(name, "rb")
    except OSError as e:
        raise _fail(name, f"cannot open: {_describe(e)}") from None
    with fp, _bomb_warnings_as_errors():
        try:
            im = Image.open(fp, formats=_available_formats())
        except _BOMB:
            raise _fail(name, "refusing to decode: image is too large (possible decompression bomb)") from None
        except UnidentifiedImageError:
            raise _fail(name, "not a recognised image file") from None
        except OSError as e:
            raise _fail(name, f"cannot read: {_describe(e)}") from None
        except Exception as e:  # PIL plugins raise assorted types on malformed headers
            raise _fail(name, f"not a valid image file ({_describe(e)})") from None
        with im:
            return _from_pil(im, size, name, max_pixels, owned=True)


def _from_pil(im: Image.Image, size: int, name: str, max_pixels: int, owned: bool) -> np.ndarray:
    try:
        w, h = im.size
        if w < 1 or h < 1:
            raise _fail(name, f"image has zero size ({w}x{h})")
        if w * h > max_pixels:
            raise _too_many(name, w, h, max_pixels)
        if owned:
            m = min(w, h)
            if m > size:  # lets JPEG decode at a reduced scale; a no-op for other formats
                im.draft(None, (math.ceil(w * size / m), math.ceil(h * size / m)))
        im.load()
        if owned:
            im = _exif_upright(im)
        im = _crop_square(im)
        return _resize(_pil_to_rgb(im, name), size)
    except ImageError:
        raise
    except _BOMB:
        raise _fail(name, "refusing to decode: image is too large (possible decompression bomb)") from None
    except Exception as e:  # truncated / corrupt data surfaces here, in whatever type PIL chose
        raise _fail(name, f"corrupt or truncated image data ({_describe(e)})") from None


def _exif_upright(im: Image.Image) -> Image.Image:
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:  # unreadable EXIF is metadata trouble, not image trouble: keep pixels as stored
        return im
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        return ImageOps.exif_transpose(im)
    return im


def _crop_square(im: Image.Image) -> Image.Image:
    w, h = im.size
    m = min(w, h)
    if w == h:
        return im
    left, top = (w - m) // 2, (h - m) // 2
    return im.crop((left, top, left + m, top + m))


def _has_alpha(im: Image.Image) -> bool:
    if "transparency" in im.info:
        return True
    if any(b in ("A", "a") for b in im.getbands()):
        return True
    return im.mode == "P" and im.palette is not None and im.palette.mode == "RGBA"


def _pil_to_rgb(im: Image.Image, name: str) -> Image.Image:
    """Any PIL mode -> an RGB image with transparency composited onto BACKGROUND."""
    mode = im.mode
    if mode == "I" or mode.startswith("I;") or mode == "F":
        return _wide_gray_to_rgb(im, name)
    if not _has_alpha(im):
        return im if mode == "RGB" else im.convert("RGB")
    if mode == "La":  # PIL has no direct La -> RGBA path
        im = im.convert("LA")
    return _composite(im.convert("RGBA"))


def _wide_gray_to_rgb(im: Image.Image, name: str) -> Image.Image:
    a = np.asarray(im)
    mode = im.mode
    if mode == "F":
        a = a.astype(np.float32, copy=False)
        if not np.isfinite(a).all():
            raise _fail(name, "image contains NaN or infinite values")
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        scale = 255.0 if lo >= 0.0 and hi <= 1.0 else 1.0
        gray = np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
    else:
        a = a.astype(np.int64, copy=False)
        hi = int(a.max()) if a.size else 0
        if mode == "I" and hi <= 255:
            gray = np.clip(a, 0, 255).astype(np.uint8)
        else:
            gray = ((np.clip(a, 0, 65535) + 128) // 257).astype(np.uint8)
    alpha = None
    t = im.info.get("transparency")
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        alpha = np.where(np.asarray(im) == t, 0, 255).astype(np.uint8)
    return _gray_alpha_to_rgb(gray, alpha)


def _gray_alpha_to_rgb(gray: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    rgb = Image.fromarray(np.ascontiguousarray(gray)).convert("RGB")
    if alpha is None:
        return rgb
    rgb.putalpha(Image.fromarray(np.ascontiguousarray(alpha)))
    return _composite(rgb)


def _composite(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _resize(im: Image.Image, size: int) -> np.ndarray:
    m = im.width
    if m > size:
        im = im.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    elif m < size:
        im = im.resize((size, size), Image.Resampling.NEAREST)
    out = np.array(im, dtype=np.uint8)
    assert out.shape == (size, size, 3), out.shape
    return out


def _from_array(a: np.ndarray, size: int, name: str, max_pixels: int) -> np.ndarray:
    if a.ndim == 2:
        channels = 1
    elif a.ndim == 3 and a.shape[2] in (1, 3, 4):
        channels = a.shape[2]
    else:
        raise _fail(name, f"array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {a.shape}")
    h, w = a.shape[:2]
    if h == 0 or w == 0:
        raise _fail(name, f"array is empty (shape {a.shape})")
    if h * w > max_pixels:
        raise _too_many(name, w, h, max_pixels)
    kind, itemsize = a.dtype.kind, a.dtype.itemsize
    if kind == "f":
        if not np.isfinite(a).all():
            raise _fail(name, "array contains NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < -_FLOAT_SLACK or hi > 1.0 + _FLOAT_SLACK:
            raise _fail(name, f"float array values must be in [0, 1], got range [{lo:g}, {hi:g}]")
    elif not (kind == "b" or (kind == "u" and itemsize in (1, 2))):
        raise _fail(name, f"unsupported array dtype {a.dtype} (use uint8, uint16, bool or float in [0, 1])")

    m = min(h, w)
    top, left = (h - m) // 2, (w - m) // 2
    a = a[top : top + m, left : left + m]
    if a.ndim == 3 and channels == 1:
        a = a[:, :, 0]

    if kind == "b":
        a8 = a.astype(np.uint8) * np.uint8(255)
    elif kind == "u" and itemsize == 1:
        a8 = a.astype(np.uint8, copy=False)
    elif kind == "u":
        a8 = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    else:
        ftype = np.float64 if itemsize > 4 else np.float32
        a8 = np.clip(np.rint(a.astype(ftype) * 255.0), 0, 255).astype(np.uint8)

    if channels == 1:
        rgb = _gray_alpha_to_rgb(a8, None)
    elif channels == 3:
        rgb = Image.fromarray(np.ascontiguousarray(a8))
    else:
        rgb = _composite(Image.fromarray(np.ascontiguousarray(a8)))
    return _resize(rgb, size)

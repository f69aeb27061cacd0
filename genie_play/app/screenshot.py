"""Render the player's screens to PNGs without a display (for the README).

    python -m genie_play.app.screenshot OUTDIR [--weights DIR] [--image PATH] [--actions 1,1,2]
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
SCREENS = ("play", "help", "sketch", "keymap")


def window_pixels(surface) -> np.ndarray:
    """pygame surface -> (H, W, 3) uint8."""
    import pygame

    return np.ascontiguousarray(pygame.surfarray.array3d(surface).transpose(1, 0, 2))


def render_screens(world, out_dir: str | os.PathLike, prompt=None, actions: list[int] | None = None,
                   scale: int = 8) -> dict[str, Path]:
    """Play `actions` from `prompt`, then save play (with HUD), help, sketch and keymap screens
    as OUTDIR/<screen>.png. Returns {screen: path}."""
    from .app import App
    from .recorder import save_png

    out_dir = Path(out_dir)
    app = App(world, prompt, scale=scale, screenshot_dir=out_dir, recording_dir=out_dir)
    try:
        for code in actions if actions is not None else [1, 1, 1, 2]:
            app.worker.request_step(code)
            app.worker.wait_idle(60.0)
            app.tick()
        written = {}
        for name in SCREENS:
            app.show("play" if name == "help" else name)
            app.play.help_visible = name == "help"
            app.worker.wait_idle(60.0)
            app.tick()
            app.toasts.items.clear()  # no transient messages in README pictures
            app.screen.draw(app.window, app.clock())
            written[name] = save_png(window_pixels(app.window), out_dir / f"{name}.png")
        return written
    finally:
        app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--weights", type=Path, default=None, help="weights folder (default: bundled)")
    parser.add_argument("--image", type=Path, default=None, help="prompt image (default: assets/prompt.png)")
    parser.add_argument("--actions", default="1,1,1,2", help="codes to play before the screenshots")
    parser.add_argument("--scale", type=int, default=8)
    args = parser.parse_args(argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

    import typer

    from genie_play.errors import GenieError

    from .commands import default_prompt, open_world, parse_actions

    try:
        world = open_world(args.weights, "auto", 0)
        prompt = args.image if args.image is not None else default_prompt(world.image_size)
        written = render_screens(world, args.out_dir, prompt, parse_actions(args.actions, world.num_actions), args.scale)
    except (GenieError, typer.BadParameter) as error:
        print(f"error: {error.format_message() if isinstance(error, typer.BadParameter) else error}", file=sys.stderr)
        return 2
    for path in written.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

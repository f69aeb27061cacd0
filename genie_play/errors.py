"""User-facing errors: each carries one line naming the file and what is wrong."""

import functools


class GenieError(Exception):
    """An error whose message is shown to the user as-is (CLI exit code 2, no traceback)."""


class CheckpointError(GenieError):
    pass


class ImageError(GenieError):
    pass


class DataError(GenieError):
    pass


class KeymapError(GenieError):
    pass


OUT_OF_MEMORY = ("out of memory", "can't allocate memory")  # torch's CUDA and CPU allocators say so


def one_line(error: BaseException) -> str | None:
    """The one line a user sees for an error they can act on (a bad value, a file that cannot be read or written,
    a request too big for the memory); None for anything else (a bug, which keeps its traceback)."""
    if isinstance(error, GenieError):
        return str(error)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}"
    if isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and any(
            text in str(error) for text in OUT_OF_MEMORY)):
        return "out of memory: ask for less at once (a smaller batch, fewer clips or frames, a smaller scale)"
    return None


def exit_on_genie_error(function):
    """For CLI commands: GenieError (and a file that cannot be read or written, or memory that runs out) -> one line
    `error: ...` on stderr and exit code 2, no traceback."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        import typer

        try:
            return function(*args, **kwargs)
        except (GenieError, OSError, MemoryError, RuntimeError) as error:
            message = one_line(error)
            if message is None:
                raise
            typer.echo("error: " + " ".join(message.splitlines()), err=True)
            raise typer.Exit(2) from None

    return wrapper

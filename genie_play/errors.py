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


def exit_on_genie_error(function):
    """For CLI commands: GenieError -> one line `error: ...` on stderr and exit code 2, no traceback."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        import typer

        try:
            return function(*args, **kwargs)
        except GenieError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None

    return wrapper

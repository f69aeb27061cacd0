"""User-facing errors: each carries one line naming the file and what is wrong."""


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

"""One exception root for the client; the CLI turns each into a one-line error and exit code."""

from __future__ import annotations


class CaptureError(Exception):
    """Something the user can fix: the message says what failed and what to do."""

    exit_code = 1


class BadArgument(CaptureError):
    exit_code = 2


class VideoUnreadable(CaptureError):
    exit_code = 3


class ModelMissing(CaptureError):
    exit_code = 4


class PublishFailed(CaptureError):
    exit_code = 5

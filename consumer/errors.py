"""One exception root for BarunRun, with subclasses that say what failed and what to do.

I/O errors carry ``retriable``: the serving loop backs off and retries those, and lets the
others stop the process with their message (bad config, bad model, bad arguments).
"""

from __future__ import annotations


class BarunRunError(Exception):
    """Root of every error this project raises on purpose."""

    retriable: bool = False


class ConfigError(BarunRunError):
    """The configuration file, an environment override or a CLI argument is invalid."""


class ModelArtifactError(BarunRunError):
    """A model directory is missing, corrupt or incompatible with this code."""


class DataError(BarunRunError):
    """A recording or dataset cannot be used (wrong columns, too few frames, ...)."""


class StackError(BarunRunError):
    """The embedded broker or Redis could not be started or did not become healthy."""


class ServiceUnavailable(BarunRunError):
    """Kafka or Redis did not answer; worth retrying after a backoff."""

    retriable = True


class BrokerUnavailable(ServiceUnavailable):
    """Kafka did not answer or did not acknowledge our records in time."""

    dependency = "kafka"


class RedisUnavailable(ServiceUnavailable):
    """Redis did not answer, or refused a command (loading, out of memory, auth)."""

    dependency = "redis"


class CommitRefused(BarunRunError):
    """The group rebalanced before an offset commit: the partitions' new owner replays them."""

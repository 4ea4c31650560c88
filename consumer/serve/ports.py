"""What the serving loop needs from the outside world, as small protocols.

``kafka_io`` implements the source and the sink with kafka-python, ``reload.ModelReloader``
the model source; the unit tests implement them with fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from consumer.model.base import Scorer
from consumer.serve.batch import SourceRecord
from consumer.serve.processor import OutgoingRecord

# (topic, partition) -> offset
Offsets = dict[tuple[str, int], int]


class FrameSource(Protocol):
    """The frames topic through a consumer group."""

    def poll(self, timeout_ms: int, max_records: int) -> list[SourceRecord]: ...

    def rebalanced(self) -> bool:
        """True once after partitions were revoked or lost."""
        ...

    def in_group(self) -> bool:
        """A stable group member (the broker answers heartbeats); must not block."""
        ...

    def pause_all(self) -> None: ...
    def resume_all(self) -> None: ...

    def rewind(self, offsets: Offsets) -> None:
        """Seek partitions still assigned back to these offsets."""
        ...

    def commit(self, next_offsets: Offsets) -> None:
        """Raise BrokerUnavailable (retry later) or CommitRefused (the group moved on)."""
        ...

    def lag(self) -> dict[int, int]: ...
    def close(self) -> None: ...


class RecordSink(Protocol):
    def publish(self, records: Sequence[OutgoingRecord]) -> None:
        """Return once the broker acknowledged every record; else raise BrokerUnavailable."""
        ...

    def close(self) -> None: ...


class ModelSource(Protocol):
    def swap(self) -> Scorer:
        """The model to use for the next batch (a newly loaded one, if any)."""
        ...

"""The archiver as a service: built from the settings, with its periodic upkeep."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from consumer.archive.compact import compact
from consumer.archive.durable import make_dirs
from consumer.archive.kafka_source import KafkaTopicsSource, RecordSource
from consumer.archive.loop import ArchiveCounts, Archiver, ArchiverConfig
from consumer.archive.retention import apply_retention, remove_stale_temporaries
from consumer.archive.writer import AfterFile
from consumer.frames import FrameLimits
from consumer.settings import ArchiveSettings, Settings

log = logging.getLogger(__name__)


def archiver_config(settings: Settings) -> ArchiverConfig:
    f = settings.frames
    return ArchiverConfig(
        root=Path(settings.archive.dir),
        frames_topic=settings.topics.frames,
        scores_topic=settings.topics.scores,
        limits=FrameLimits(f.max_message_bytes, f.max_future_ms, f.max_age_ms),
        flush_records=settings.archive.flush_records,
        flush_interval_s=settings.archive.flush_interval_s,
        poll_timeout_ms=settings.serve.poll_timeout_ms,
        max_poll_records=settings.kafka.max_poll_records,
    )


def maintain(archive: ArchiveSettings) -> dict[str, object]:
    """Retention, then compaction of closed days, then stale temporary files."""
    root = Path(archive.dir)
    plan = apply_retention(root, archive.retention_days, archive.max_bytes)
    merged = compact(root, archive.compact_after_days)
    temporaries = remove_stale_temporaries(root)
    return {**plan.to_dict(), "compacted_files": merged, "stale_temporaries": temporaries}


def run_archive(
    settings: Settings,
    stop: threading.Event,
    until_idle_s: float | None = None,
    startup_timeout_s: float = 20.0,
    source: RecordSource | None = None,
    after_file: AfterFile | None = None,
) -> ArchiveCounts:
    """Archive ``topics.frames`` and ``topics.scores`` until ``stop`` (or idle)."""
    config = archiver_config(settings)
    make_dirs(config.root)
    if source is None:
        source = KafkaTopicsSource.connect(
            settings, settings.archive.group_id, [config.frames_topic, config.scores_topic],
            startup_timeout_s,
        )
    log.info("archiving topics=%s,%s dir=%s group=%s", config.frames_topic,
             config.scores_topic, config.root, settings.archive.group_id)
    archiver = Archiver(config, source, after_file=after_file)
    return archiver.run(
        stop, until_idle_s,
        maintenance=lambda: log.info("archive upkeep %s", maintain(settings.archive)),
        maintenance_interval_s=settings.archive.retention_interval_s,
    )

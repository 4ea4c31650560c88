"""The archive: every accepted frame and every score record, kept as Parquet for later models.

``barunrun archive`` reads ``topics.frames`` and ``topics.scores`` in a consumer group of its
own, validates frames with the consumer's decoder (``consumer.frames``), and writes a dataset
partitioned by date and user (``layout``), exactly once per (user, session, frame) as seen by
``reader`` (``writer`` and ``state`` explain how). ``retention`` and ``compact`` keep it within
its age and size budget and free of small files. docs/data.md tells the whole story.
"""

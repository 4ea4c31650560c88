"""Scenario 5: 10,000 malformed messages mixed into valid traffic, through a consumer process.

Every malformed message must land on the dead-letter topic with the reason its kind implies
(the count per reason equals what was sent, letter by letter: same partition and offset, same
bytes, same key), while every window of the valid runners is still scored. Key-injection ids
are among them: afterwards the test's own Redis holds no key outside the consumer's prefix,
and no window key but those of the valid runners (checked with SCAN).
"""

from __future__ import annotations

import base64
import threading
from collections import Counter

import pytest
import redis
from kafka import KafkaProducer

from tests.support.reliability.audit import collect
from tests.support.reliability.malformed import Malformed, malformed_messages
from tests.support.reliability.sizes import suite_size
from tests.support.reliability.streams import BackgroundStream, now_ms

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(suite_size().seconds_budget)]

SEED = 20261127


def send_malformed(settings, messages: list[Malformed]) -> dict[tuple[int, int], Malformed]:
    """Send them all; (partition, offset) -> message, as the broker acknowledged them."""
    producer = KafkaProducer(acks="all", linger_ms=5, max_request_size=4 * 1024 * 1024,
                             **settings.kafka.client_options())
    try:
        futures = [(m, producer.send(settings.topics.frames, key=m.key, value=m.value))
                   for m in messages]
        producer.flush(timeout=120)
        placed = {}
        for message, future in futures:
            meta = future.get(timeout=30)
            placed[(meta.partition, meta.offset)] = message
        return placed
    finally:
        producer.close(timeout=10)


def original(letter: dict, field: str) -> bytes | None:
    text, encoding = letter[field], letter[f"{field}_encoding"]
    if encoding == "none":
        return None
    return base64.b64decode(text) if encoding == "base64" else text.encode()


def test_malformed_messages_are_dead_lettered_by_reason_and_valid_frames_still_scored(
    settings_factory, model_dir, own_redis, serve_process, scenario, size
) -> None:
    result = scenario("bad_input", f"{size.malformed:,} malformed messages mixed into "
                                   f"{size.bad_runners} runners' frames")
    server = own_redis()
    settings = settings_factory(partitions=3, redis={"url": server.url})
    consumer = serve_process(settings, model_dir, "bad-input").start().wait_ready()
    messages = malformed_messages(size.malformed, SEED, now_ms())
    sent: dict[tuple[int, int], Malformed] = {}

    # The malformed messages go out while the valid stream runs (and keep its partitions busy).
    stream = BackgroundStream(settings, runners=size.bad_runners, duration_s=size.bad_stream_s,
                              realtime=False, seed=SEED, user_prefix="good").start()
    sender = threading.Thread(target=lambda: sent.update(send_malformed(settings, messages)))
    sender.start()
    sender.join(300)
    summary = stream.join()
    assert len(sent) == len(messages), "the broker did not take every malformed message"
    total = summary.frames_sent + len(sent)
    result.messages_sent = total

    audit = collect(settings, total, read_dlq=True)
    audit.fill(result)
    # Dead letters are at least once, like everything the consumer publishes (a publish retried
    # after a broker timeout, a batch replayed): copies of one letter must be identical.
    letters_by_source: dict[tuple[int, int], dict] = {}
    for letter in audit.dead_letters:
        source = (letter["source"]["partition"], letter["source"]["offset"])
        first = letters_by_source.setdefault(source, letter)
        assert (first["reason"], first["value"]) == (letter["reason"], letter["value"])
    letters = list(letters_by_source.values())
    wanted = Counter(m.reason.value for m in messages)
    got = Counter(letter["reason"] for letter in letters)
    result.dlq = len(letters)
    result.extra["dlq_duplicate_copies"] = len(audit.dead_letters) - len(letters)
    result.extra.update(malformed_by_kind=dict(Counter(m.kind for m in messages)),
                        dead_letters_by_reason=dict(got))

    assert got == wanted
    for letter in letters:  # each one is a message we sent as malformed, kept whole
        source = letter["source"]
        message = sent[(source["partition"], source["offset"])]
        assert source["topic"] == settings.topics.frames
        assert letter["reason"] == message.reason.value and letter["detail"]
        assert original(letter, "value") == message.value and not letter["value_truncated"]
        assert (original(letter, "key") or None) == (message.key or None)  # b"" may read as None
    assert audit.problems() == []  # every valid frame's windows scored
    assert audit.frames.valid == summary.frames_sent
    assert consumer.value("barunrun_frames_consumed_total") == total
    for reason, count in wanted.items():
        assert consumer.value("barunrun_frames_rejected_total", reason=reason) == count
    assert consumer.value("barunrun_frames_rejected_total", reason="decoder_error") == 0

    prefix = settings.redis.key_prefix
    client = redis.Redis.from_url(server.url)
    try:
        keys = {key.decode() for key in client.scan_iter(count=1000)}
    finally:
        client.close()
    assert all(key.startswith(f"{prefix}:") for key in keys), sorted(keys)[:10]
    windows = {key for key in keys if key.startswith(f"{prefix}:w:")}
    assert windows == {f"{prefix}:w:{user}:{session}" for user, session in audit.frames.runners()}
    assert consumer.alive()

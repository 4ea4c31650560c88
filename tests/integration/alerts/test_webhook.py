"""The webhook subscriber against a small real HTTP server that fails some requests (500s,
a 429, a timeout that it then processes anyway) and refuses one alert for good (400):
every other alert arrives at least once, in order per user, duplicates only as the same
message again; the refused one lands in the alerts dead-letter topic; a restart of the
subscriber half-way loses nothing."""

from __future__ import annotations

import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from kafka import KafkaProducer

from consumer.alerts.http_post import HttpPoster
from consumer.alerts.subscribe import RebalanceFlag, connect_alert_consumer
from consumer.alerts.webhook import Backoff, WebhookForwarder
from consumer.serve.kafka_io import KafkaRecordSink

pytestmark = pytest.mark.integration

USERS = ("hook-a", "hook-b", "hook-c")
MESSAGES_PER_USER = 6
REFUSED = "hook-b:s1:100:2"  # the endpoint answers 400 to this one, always
SLOW = "hook-a:s1:100:3"  # the first attempt outlives the client's timeout, then succeeds
THROTTLED = "hook-c:s1:100:1"  # the first attempt gets 429 Retry-After: 0
CLIENT_TIMEOUT_S = 0.5


def message(user: str, seq: int) -> dict:
    kind = "opened" if seq == 0 else "resolved" if seq == MESSAGES_PER_USER - 1 else "update"
    alert_id = f"{user}:s1:100"
    return {"schema": 1, "type": kind, "alert_id": alert_id, "seq": seq,
            "message_id": f"{alert_id}:{seq}", "user_id": user, "session_id": "s1"}


class Endpoint:
    """Records what it accepts, at arrival, in arrival order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[dict] = []
        self.attempts: dict[str, int] = {}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, delay = endpoint.decide(body, self.headers["X-BarunRun-Message-Id"])
                time.sleep(delay)
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/barunrun?token=x"

    def decide(self, body: dict, message_id: str) -> tuple[int, float]:
        with self.lock:
            attempt = self.attempts[message_id] = self.attempts.get(message_id, 0) + 1
            assert body["message_id"] == message_id
            if message_id == REFUSED:
                return 400, 0.0
            if attempt == 1 and message_id == THROTTLED:
                return 429, 0.0
            if attempt == 1 and message_id == SLOW:
                self.accepted.append(body)
                return 200, CLIENT_TIMEOUT_S * 3
            # A third of the others fail their first attempt with a 500.
            if attempt == 1 and zlib.crc32(message_id.encode()) % 3 == 0:
                return 500, 0.0
            self.accepted.append(body)
            return 200, 0.0

    def close(self) -> None:
        self.server.shutdown()


def forwarder(settings, endpoint: Endpoint) -> tuple[WebhookForwarder, object, object]:
    flag = RebalanceFlag()
    consumer = connect_alert_consumer(settings, group_id=settings.alerts.webhook_group_id,
                                      start="earliest", listener=flag)
    dlq = KafkaRecordSink.connect(settings, 15)
    hook = WebhookForwarder(
        consumer=consumer, poster=HttpPoster(endpoint.url, CLIENT_TIMEOUT_S), dlq=dlq,
        dlq_topic=settings.topics.alerts_dlq, backoff=Backoff(0.05, 0.5), rebalance=flag)
    return hook, consumer, dlq


def test_every_alert_arrives_in_order_and_the_refused_one_is_dead_lettered(
    alert_settings, reader, unique, serve_kit
) -> None:
    settings = alert_settings(partitions=2, alerts={"webhook_group_id": f"t{unique}-hook"})
    producer = KafkaProducer(**settings.kafka.client_options(), acks="all")
    for seq in range(MESSAGES_PER_USER):
        for user in USERS:
            producer.send(settings.topics.alerts, key=user.encode(),
                          value=orjson.dumps(message(user, seq)))
    producer.flush(30)
    producer.close(5)
    endpoint = Endpoint()
    try:
        # A first subscriber stops half-way (SIGTERM), a second one carries on.
        hook, consumer, dlq = forwarder(settings, endpoint)
        stop = threading.Event()
        thread = threading.Thread(target=hook.run, args=(stop,), daemon=True)
        thread.start()
        serve_kit.wait_for(lambda: len(endpoint.accepted) >= 6, 60, "six deliveries")
        stop.set()
        thread.join(30)
        consumer.close(autocommit=False)
        dlq.close()
        hook, consumer, dlq = forwarder(settings, endpoint)
        try:
            # Idle time includes joining the group, which a loaded machine can stretch.
            counts = hook.run(threading.Event(), until_idle_s=15)
        finally:
            consumer.close(autocommit=False)
            dlq.close()
    finally:
        endpoint.close()

    expected = {message(u, s)["message_id"] for u in USERS for s in range(MESSAGES_PER_USER)}
    received = [m["message_id"] for m in endpoint.accepted]
    assert set(received) == expected - {REFUSED}  # at least once, the refused one never
    assert received.count(SLOW) >= 2  # it timed out, was retried, and the server had it
    for user in USERS:
        seqs = [m["seq"] for m in endpoint.accepted if m["user_id"] == user]
        assert seqs == sorted(seqs), f"{user} out of order: {seqs}"  # duplicates adjacent
    assert counts.delivered >= 1 and counts.retries >= 1

    letters = reader(settings, settings.topics.alerts_dlq)
    serve_kit.wait_for(letters.values, 30, "the dead letter")
    (letter,) = letters.values()
    assert (letter["reason"], letter["status"], letter["message_id"]) == (
        "refused", 400, REFUSED)
    assert letter["endpoint"].endswith("/hooks/barunrun")  # no token in dead letters
    assert orjson.loads(letter["value"]) == message("hook-b", 2)
    assert letters.read()[0].key == b"hook-b"

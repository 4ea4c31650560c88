"""The example subscribers' pure parts: the tail line, HTTP answers, backoff."""

from __future__ import annotations

import random

import orjson
import pytest

from consumer.alerts.http_post import HttpPoster, classify, public_endpoint
from consumer.alerts.tail import alert_line, render
from consumer.alerts.webhook import Backoff
from consumer.errors import ConfigError

ALERT = {
    "schema": 1, "type": "resolved", "alert_id": "runner-42:s1:529", "seq": 3,
    "user_id": "runner-42", "session_id": "s1", "start_frame": 500, "end_frame": 1082,
    "start_ts_ms": 1_795_474_459_000, "end_ts_ms": 1_795_474_478_400, "duration_ms": 19_400,
    "windows": {"count": 59, "anomalous": 52}, "score_ratio": {"peak": 2.9, "mean": 1.62},
    "top_joints": [{"joint": "nose", "share": 0.4}, {"joint": "left_ear", "share": 0.3}],
    "fault": "hunched_head", "cue": {"id": "hunched_head", "severity": "moderate",
                                     "text": "Lift your chin."},
    "resolved_reason": "clean",
}


def test_the_tail_line_says_who_what_how_bad_and_why() -> None:
    line = alert_line(ALERT)
    assert line == (
        "2026-11-23 22:54:38 RESOLVED(clean)   runner-42/s1 hunched_head (moderate), "
        "frames 500-1082 19.4 s, 59 windows, ratio peak 2.90 mean 1.62, joints nose, "
        'left_ear: "Lift your chin." [runner-42:s1:529]')


def test_tail_renders_json_and_survives_garbage() -> None:
    assert orjson.loads(render(orjson.dumps(ALERT), as_json=True)) == ALERT
    assert render(b"\xff not json", as_json=False) == "(an unreadable alert message)"
    assert "unreadable" in orjson.loads(render(b"[1]", as_json=True))
    assert alert_line({"type": "opened"}).startswith("? OPENED")


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "delivered"), (204, "delivered"), (301, "refused"), (400, "refused"),
    (401, "refused"), (404, "refused"), (408, "retry"), (409, "refused"), (429, "retry"),
    (500, "retry"), (503, "retry"),
])
def test_which_answers_are_retried(status: int, outcome: str) -> None:
    assert classify(status) == outcome


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    backoff, rng = Backoff(0.5, 8.0), random.Random(1)
    for attempt in range(1, 12):
        cap = min(8.0, 0.5 * 2 ** (attempt - 1))
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= cap
        assert max(delays) > cap * 0.8  # the whole range is used
    assert backoff.delay(1, rng, hint_s=3.0) == 3.0  # Retry-After, within the cap
    assert backoff.delay(1, rng, hint_s=60.0) == 8.0


def test_endpoints_are_shown_without_secrets() -> None:
    assert public_endpoint("https://u:p@hooks.example.com:8443/a/b?token=s#x") == (
        "https://hooks.example.com:8443/a/b")
    with pytest.raises(ConfigError):
        HttpPoster("ftp://example.com/x", 1.0)

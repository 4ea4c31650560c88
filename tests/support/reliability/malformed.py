"""Malformed frame messages at volume, each with the dead-letter reason the contract implies.

``malformed_messages(count, seed, now_ms)`` draws ``count`` messages (deterministic for a
seed) from the kinds below, cycling through them so that every kind is sent about as often
(huge payloads less often: each costs ~40 KB on two topics). The expected reason is fixed by
how a message is built, not by running the decoder: the audit compares the dead letters with
it.

Kinds cover issue 7's list (truncated JSON, wrong types, 131 or 134 numbers, NaN/inf, huge
payloads, empty keys, invalid UTF-8, mismatched key and user_id, frames from the future or the
far past) and the rest of the schema's reasons, plus key-injection ids: user and session ids
that would escape the Redis key prefix or glob over other keys if they ever reached a key.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from consumer.frames import RejectReason

ROW = [0.52, 0.41, -0.12, 0.93]
DAY_MS = 86_400_000
# Ids that must never become part of a Redis key: separators, globs, whitespace, protocol
# injection, path tricks, another tenant's prefix, over-long, non-ASCII.
INJECTION_USER_IDS = (
    "evil:*", "*", "a b", "x\r\nFLUSHALL\r\n", "../../etc/passwd", "victim:w:runner-1:s1",
    "{barunrun}:w", "runner?", "runner[0-9]", "-leading-dash", "r" * 65, "ünïcode",
    "nul\u0000byte", "", "tab\there", "KEYS *",
)
INJECTION_SESSION_IDS = ("s:1", "*", "s 1", "s\nx", "s" * 65, "", "..", "s]", "s\\x")


@dataclass(frozen=True, slots=True)
class Malformed:
    kind: str
    reason: RejectReason
    key: bytes | None
    value: bytes | None


Builder = Callable[[random.Random, int, str], tuple[bytes | None, bytes | None]]


def frame_fields(user: str, now_ms: int, rng: random.Random) -> dict[str, object]:
    return {"schema": 1, "user_id": user, "session_id": "mal-s", "frame": rng.randrange(10**6),
            "ts_ms": now_ms, "landmarks": [ROW] * 33}


def _valid(user: str, now_ms: int, rng: random.Random, **changes: object) -> bytes:
    fields = frame_fields(user, now_ms, rng)
    for name, value in changes.items():
        if value is _DROP:
            fields.pop(name)
        else:
            fields[name] = value
    return orjson.dumps(fields)


_DROP = object()


def _truncated(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    whole = _valid(user, now, rng)
    return user.encode(), whole[: rng.randrange(0, len(whole) - 1)]


def _not_json(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    whole = _valid(user, now, rng)
    landmark = rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"nan"])
    choices = [
        whole.replace(b"0.52", landmark, 1),  # NaN/inf as JSON literals: not JSON
        whole.replace(b'"', b"'"),
        whole[:-1] + b",}",
        whole + b"}",
        b"{user_id: " + user.encode() + b"}",
        whole.replace(b":", b"=", 1),
        b'"\\ud800"',  # a lone surrogate escape
    ]
    return user.encode(), rng.choice(choices)


def _non_finite(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    value = rng.choice([1e39, -1e39, 3.5e38, 1.7e308, -1.7e308])
    flat = ROW * 33
    flat[rng.randrange(len(flat))] = value
    return user.encode(), _valid(user, now, rng, landmarks=flat)


def _wrong_type(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    flat: list[object] = list(ROW * 33)
    # Not the first number: a list there would make it the nested form (bad_landmarks).
    flat[rng.randrange(1, len(flat))] = rng.choice(["0.5", None, True, [0.5], {"x": 0.5}])
    changes = rng.choice([
        {"frame": "12"}, {"frame": 12.5}, {"frame": True}, {"frame": None}, {"frame": [1]},
        {"ts_ms": float(now)}, {"ts_ms": str(now)}, {"ts_ms": False},
        {"session_id": 7}, {"session_id": ["s"]},
        {"landmarks": "0.5,0.4"}, {"landmarks": {"0": ROW}}, {"landmarks": 0.5},
        {"landmarks": flat},
    ])
    if rng.random() < 0.2:  # a numeric user id: rejected before the key is compared
        return b"42", _valid(user, now, rng, user_id=42)
    return user.encode(), _valid(user, now, rng, **changes)


def _bad_landmarks(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    landmarks = rng.choice([
        ROW * 33 + [0.5, 0.5],  # 134 numbers
        (ROW * 33)[:-1],  # 131 numbers
        [ROW] * 32, [ROW] * 34, [ROW] * 32 + [ROW[:3]], [ROW] * 32 + [[*ROW, 0.1]],
        [], [ROW, *ROW * 32],
    ])
    return user.encode(), _valid(user, now, rng, landmarks=landmarks)


# Finite values outside each component's sane range: x and y in [-1, 2], z in [-10, 10],
# visibility in [0, 1].
_OUT_OF_RANGE = ((5.0, -3.0), (5.0, -3.0), (50.0, -50.0), (1.5, -0.5))


def _out_of_range(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    flat = ROW * 33
    component = rng.randrange(4)
    flat[rng.randrange(33) * 4 + component] = rng.choice(_OUT_OF_RANGE[component])
    return user.encode(), _valid(user, now, rng, landmarks=flat)


def _huge(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    size = 200_000 if rng.random() < 0.05 else rng.randrange(17_000, 64_000)
    return user.encode(), _valid(user, now, rng, padding="x" * size)


def _no_key(rng: random.Random, now: int, user: str) -> tuple[bytes | None, bytes]:
    return rng.choice([None, b""]), _valid(user, now, rng)


def _invalid_utf8(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    bad = rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\x80", b"\xfe\xff"])
    whole = _valid(user, now, rng)
    return user.encode(), whole.replace(b'"mal-s"', b'"mal' + bad + b's"', 1)


def _key_mismatch(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    key = rng.choice([b"someone-else", user.upper().encode(), user.encode() + b" ",
                      b"\xffbinary", user.encode()[:-1]])
    return key, _valid(user, now, rng)


def _future(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    return user.encode(), _valid(user, now, rng, ts_ms=now + rng.randrange(3_600_000, 400 * DAY_MS))


def _stale(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    ts = rng.choice([0, now - 2 * DAY_MS, now - rng.randrange(2 * DAY_MS, 3650 * DAY_MS)])
    return user.encode(), _valid(user, now, rng, ts_ms=ts)


def _injection_user(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    bad = rng.choice(INJECTION_USER_IDS)
    return bad.encode(), _valid(bad, now, rng)


def _injection_session(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    return user.encode(), _valid(user, now, rng, session_id=rng.choice(INJECTION_SESSION_IDS))


def _bad_frame_number(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    frame = rng.choice([-1, -(2**40), 2**53, 2**60])
    return user.encode(), _valid(user, now, rng, frame=frame)


def _not_object(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    return user.encode(), rng.choice([b"[1, 2, 3]", b'"frame"', b"42", b"null", b"true", b"[]"])


def _schema(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    return user.encode(), _valid(user, now, rng, schema=rng.choice([2, 0, "1", 1.0, None, -1]))


def _missing_field(rng: random.Random, now: int, user: str) -> tuple[bytes, bytes]:
    name = rng.choice(["user_id", "frame", "ts_ms", "landmarks"])
    return user.encode(), _valid(user, now, rng, **{name: _DROP})


def _tombstone(rng: random.Random, now: int, user: str) -> tuple[bytes, None]:
    return user.encode(), None


R = RejectReason
KINDS: dict[str, tuple[RejectReason, Builder, float]] = {
    # kind: (expected reason, builder, relative weight)
    "truncated_json": (R.INVALID_JSON, _truncated, 1.0),
    "not_json_nan_inf": (R.INVALID_JSON, _not_json, 1.0),
    "tombstone": (R.INVALID_JSON, _tombstone, 0.2),
    "non_finite": (R.NON_FINITE, _non_finite, 1.0),
    "wrong_type": (R.WRONG_TYPE, _wrong_type, 1.0),
    "131_or_134_numbers": (R.BAD_LANDMARKS, _bad_landmarks, 1.0),
    "out_of_range": (R.OUT_OF_RANGE, _out_of_range, 0.5),
    "huge_payload": (R.TOO_LARGE, _huge, 0.25),
    "empty_key": (R.MISSING_KEY, _no_key, 1.0),
    "invalid_utf8": (R.INVALID_UTF8, _invalid_utf8, 1.0),
    "key_mismatch": (R.KEY_MISMATCH, _key_mismatch, 1.0),
    "future": (R.FUTURE_TIMESTAMP, _future, 1.0),
    "far_past": (R.STALE_TIMESTAMP, _stale, 1.0),
    "injected_user_id": (R.BAD_USER_ID, _injection_user, 1.0),
    "injected_session_id": (R.BAD_SESSION_ID, _injection_session, 0.5),
    "bad_frame_number": (R.BAD_FRAME_NUMBER, _bad_frame_number, 0.5),
    "not_object": (R.NOT_OBJECT, _not_object, 0.3),
    "unsupported_schema": (R.UNSUPPORTED_SCHEMA, _schema, 0.3),
    "missing_field": (R.MISSING_FIELD, _missing_field, 0.3),
}


def malformed_messages(count: int, seed: int, now_ms: int) -> list[Malformed]:
    """``count`` malformed messages, kinds drawn by weight, deterministic for ``seed``."""
    rng = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[name][2] for name in names]
    # Every kind at least once, then by weight.
    chosen = names + rng.choices(names, weights=weights, k=max(0, count - len(names)))
    rng.shuffle(chosen)
    messages = []
    for i, kind in enumerate(chosen[:count]):
        reason, build, _ = KINDS[kind]
        key, value = build(rng, now_ms, f"mal-{i % 100:03d}")
        messages.append(Malformed(kind, reason, key, value))
    return messages

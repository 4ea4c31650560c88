"""Fuzz inputs for the frame decoder: near-valid mutations of real frames, and random bytes.

``fuzz_inputs(count, seed)`` yields ``(key, value)`` pairs, deterministic for a seed, from
three families (each about a third):

* byte mutations of a valid frame: flipped, inserted, deleted, duplicated or truncated bytes,
  two frames spliced together: they reach deep into the JSON parser and the type checks;
* structural mutations: a valid frame parsed, one to three fields dropped or replaced with a
  random JSON value (huge, negative, fractional, nested, unicode, control characters), the
  landmarks reshaped, mixed or given extreme numbers, then serialised again: they reach the
  landmark and range checks, which byte noise rarely does;
* random bytes (sometimes with a JSON-looking prefix) and random keys.

A third of the mutated frames are left with a matching key, so that the checks after the key
comparison run too.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from typing import Any

import orjson

ROW = [0.52, 0.41, -0.12, 0.93]
_TEXT = string.ascii_letters + string.digits + "_.-:*? \t\n\\\"'{}[]" + "éü한글\u0000\u2028"
_NUMBERS = (0, -1, 1, 2**31, 2**53, 2**53 - 1, 2**63 - 1, -(2**63), 0.5, -0.0, 1e-320, 1e39,
            -1e39, 1.7e308, 3.4e38, 3.5e38, 0.9999999, 1.0000001, -1.0, 2.0, 10.0, 10.0001)
_FIELDS = ("schema", "user_id", "session_id", "frame", "ts_ms", "landmarks")


def base_frame(rng: random.Random, now_ms: int) -> dict[str, Any]:
    user = f"fz-{rng.randrange(1000)}"
    return {"schema": 1, "user_id": user, "session_id": f"s{rng.randrange(10)}",
            "frame": rng.randrange(10**6), "ts_ms": now_ms + rng.randrange(-5000, 5000),
            "landmarks": [[round(rng.uniform(-0.2, 1.2), 4), round(rng.uniform(-0.2, 1.2), 4),
                           round(rng.uniform(-1, 1), 4), round(rng.random(), 4)]
                          for _ in range(33)]}


def random_json(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9 if depth < 3 else 6)
    if pick == 0:
        return None
    if pick == 1:
        return rng.random() < 0.5
    if pick == 2:
        return rng.choice(_NUMBERS)
    if pick == 3:
        return rng.uniform(-1e6, 1e6)
    if pick == 4:
        return "".join(rng.choice(_TEXT) for _ in range(rng.randrange(0, 80)))
    if pick == 5:
        return rng.randrange(-(2**62), 2**62)
    if pick == 6:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(0, 6))]
    if pick == 7:
        return [rng.choice(_NUMBERS) for _ in range(rng.choice([0, 4, 33, 131, 132, 133]))]
    return {str(random_json(rng, 3)): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def _mutate_landmarks(rng: random.Random, frame: dict[str, Any]) -> None:
    rows = frame["landmarks"]
    choice = rng.randrange(6)
    if choice == 0:  # flat form, maybe with a wrong length
        flat = [v for row in rows for v in row]
        frame["landmarks"] = flat[: rng.choice([131, 132, 132, 133])] + [0.5] * rng.randrange(3)
    elif choice == 1:  # one extreme or typed value
        rows[rng.randrange(33)][rng.randrange(4)] = random_json(rng, 2)
    elif choice == 2:  # a row of another length
        rows[rng.randrange(33)] = rows[0][: rng.randrange(6)] + [0.1] * rng.randrange(2)
    elif choice == 3:  # rows dropped or added
        del rows[rng.randrange(33):]
        rows.extend([ROW] * rng.randrange(40))
    elif choice == 4:  # mixed nested and flat
        rows[rng.randrange(1, 33)] = rng.choice(_NUMBERS)
    else:  # a number just outside (or on) a range's edge
        rows[rng.randrange(33)][rng.randrange(4)] = rng.choice(
            (-1.0, 2.0, -1.0000001, 2.0000002, 10.0, -10.00001, 0.0, 1.0, 1.0000001, -1e-7))


def _structural(rng: random.Random, now_ms: int) -> tuple[bytes | None, bytes]:
    frame = base_frame(rng, now_ms)
    for _ in range(rng.randrange(1, 4)):
        action = rng.randrange(4)
        name = rng.choice(_FIELDS)
        if action == 0:
            frame.pop(name, None)
        elif action == 1:
            frame[name] = random_json(rng)
        elif action == 2 and isinstance(frame.get("landmarks"), list) and len(
            frame["landmarks"]
        ) == 33 and all(isinstance(r, list) and len(r) == 4 for r in frame["landmarks"]):
            _mutate_landmarks(rng, frame)
        else:
            frame[f"extra{rng.randrange(3)}"] = random_json(rng)
    try:
        value = orjson.dumps(frame)
    except (TypeError, orjson.JSONEncodeError):  # e.g. an int beyond 64 bits
        value = repr(frame).encode()
    return _key_for(rng, frame.get("user_id")), value


def _bytes_mutation(rng: random.Random, now_ms: int) -> tuple[bytes | None, bytes]:
    frame = base_frame(rng, now_ms)
    data = bytearray(orjson.dumps(frame))
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(6)
        at = rng.randrange(len(data) or 1)
        if op == 0 and data:
            data[at] = rng.randrange(256)
        elif op == 1:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        elif op == 2:
            del data[at: at + rng.randrange(1, 40)]
        elif op == 3:
            data[at:at] = data[max(0, at - 30): at]
        elif op == 4:
            del data[at:]
        else:
            data[at:at] = rng.choice([b'"', b"\\", b"\\u0000", b"\\ud800", b"1e999", b"-",
                                      b"NaN", b"[", b"{", b"}", b",", b"\xff", b"\xc3"])
    return _key_for(rng, frame["user_id"]), bytes(data)


def _random_bytes(rng: random.Random, now_ms: int) -> tuple[bytes | None, bytes | None]:
    size = rng.choice([0, 1, 2, 8, 64, 300, 2000])
    data = bytes(rng.randrange(256) for _ in range(size))
    if rng.random() < 0.3:
        data = b'{"schema": 1, "user_id": "' + data
    if rng.random() < 0.01:
        return _key_for(rng, None), None
    return _key_for(rng, None), data


def _key_for(rng: random.Random, user: object) -> bytes | None:
    pick = rng.random()
    if pick < 0.4 and isinstance(user, str):
        return user.encode(errors="surrogatepass")
    if pick < 0.6:
        return None
    if pick < 0.7:
        return b""
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12)))


def fuzz_inputs(count: int, seed: int, now_ms: int) -> Iterator[tuple[bytes | None, bytes | None]]:
    rng = random.Random(seed)
    families = (_structural, _bytes_mutation, _random_bytes)
    for i in range(count):
        yield families[i % 3](rng, now_ms)

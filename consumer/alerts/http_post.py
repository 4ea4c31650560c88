"""One HTTP POST of an alert, and what its answer means for delivery (stdlib only).

2xx: delivered. 408, 429 and 5xx, timeouts and connection errors: try again later (a
``Retry-After`` in seconds is honoured, within the backoff's cap). Any other answer (4xx,
and 3xx: redirects are not followed, a POST must not silently become a GET): refused for
good, the alert goes to the dead-letter topic.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from consumer.errors import ConfigError

Outcome = Literal["delivered", "retry", "refused"]
RETRIABLE_STATUS = frozenset({408, 429})
BODY_EXCERPT = 300


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    status: int | None  # None: no HTTP answer at all
    detail: str
    retry_after_s: float | None = None


def classify(status: int) -> Outcome:
    if 200 <= status < 300:
        return "delivered"
    if status in RETRIABLE_STATUS or status >= 500:
        return "retry"
    return "refused"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


def public_endpoint(url: str) -> str:
    """The URL without credentials, query or fragment (which may hold tokens): for logs and
    dead letters."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class HttpPoster:
    def __init__(self, url: str, timeout_s: float) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ConfigError(f"webhook URL must be http(s)://host/...: {public_endpoint(url)}")
        self.url = url
        self._timeout_s = timeout_s
        self._opener = urllib.request.build_opener(_NoRedirects())

    def post(self, body: bytes, headers: dict[str, str]) -> Answer:
        request = urllib.request.Request(
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "barunrun-webhook/1",
                     **headers},
        )
        try:
            with self._opener.open(request, timeout=self._timeout_s) as response:
                response.read(BODY_EXCERPT)
                status = int(response.status)
                return Answer(classify(status), status, f"HTTP {status}")
        except urllib.error.HTTPError as exc:
            excerpt = exc.read(BODY_EXCERPT).decode("utf-8", errors="replace")
            return Answer(classify(exc.code), exc.code, f"HTTP {exc.code}: {excerpt}".strip(),
                          _retry_after(exc.headers.get("Retry-After")))
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Answer("retry", None, f"no answer: {type(reason).__name__}: {reason}")

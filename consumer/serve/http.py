"""HTTP for operators: ``/metrics`` (Prometheus text), ``/healthz`` (live), ``/readyz`` (ready).

A small threaded ``http.server``: scrapes and probes are rare and cheap, and each request runs
on its own thread so a slow scraper never holds up the consumer loop.
"""

from __future__ import annotations

import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from consumer.serve.health import Health

log = logging.getLogger(__name__)


class OpsServer:
    """Serves the registry and the health of one consumer on ``host:port`` (0 = any free)."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, health: Health) -> None:
        handler = _handler_class(registry, health)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="barunrun-ops-http", daemon=True
        )
        self._started = False

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    def start(self) -> OpsServer:
        self._thread.start()
        self._started = True
        log.info("metrics and health endpoints up host=%s port=%d", self.host, self.port)
        return self

    def stop(self) -> None:
        if self._started:  # shutdown() waits for serve_forever, which must have started
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._started = False
        self._server.server_close()

    def close(self) -> None:
        self.stop()


def _handler_class(registry: CollectorRegistry, health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(HTTPStatus.OK, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz"):
                report = health.report()
                ok = report.live if path == "/healthz" else report.live and report.ready
                status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
                self._reply(status, orjson.dumps(report.as_dict()), "application/json")
            else:
                self._reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http %s", format % args)

    return Handler

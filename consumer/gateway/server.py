"""Runs the gateway app under uvicorn: in the foreground (the CLI) or in a thread (tests, the
benchmark), on a socket bound before the server starts so that port 0 works."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time

import uvicorn

from consumer.errors import ConfigError
from consumer.gateway.app import create_app
from consumer.gateway.runtime import GatewayRuntime

log = logging.getLogger(__name__)

# A token in a query string, or after "Bearer" (at DEBUG, the websockets protocol under
# uvicorn logs every handshake's request line and headers through uvicorn.error).
_TOKEN_RES = (
    re.compile(r"(access_token=)[^&\s\"']+"),
    re.compile(r"(bearer\s+)[^\s\"']+", re.IGNORECASE),
)
GRACEFUL_SHUTDOWN_S = 15
# Frames are ~2 KB of JSON or 548 bytes binary: compression would cost more CPU per message
# than it saves on a LAN or a phone's uplink at 30 messages a second.
PER_MESSAGE_DEFLATE = False


class RedactTokens(logging.Filter):
    """Masks tokens in the server's log lines (the scope scrubber keeps them out of uvicorn's
    own lines; this catches the handshake dump at DEBUG and anything else)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        lowered = message.lower()
        if "access_token=" in lowered or "bearer" in lowered:
            for pattern in _TOKEN_RES:
                message = pattern.sub(r"\1[redacted]", message)
            record.msg = message
            record.args = None
        return True


def _install_redaction() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot serve the gateway on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def build_server(runtime: GatewayRuntime, host: str, port: int) -> uvicorn.Server:
    g = runtime.settings.gateway
    config = uvicorn.Config(
        create_app(runtime), host=host, port=port,
        ws="websockets-sansio",
        ws_max_size=runtime.settings.frames.max_message_bytes,
        ws_ping_interval=g.ws_ping_interval_s, ws_ping_timeout=g.ws_ping_interval_s,
        ws_per_message_deflate=PER_MESSAGE_DEFLATE,
        lifespan="on", access_log=False, log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
    )
    _install_redaction()
    return uvicorn.Server(config)


def serve(runtime: GatewayRuntime, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn's handlers), then drain and flush."""
    sock = bind(host, port)
    server = build_server(runtime, host, port)
    log.info("gateway listening host=%s port=%d", host, sock.getsockname()[1])
    server.run(sockets=[sock])


class GatewayServer:
    """The gateway on a thread of this process: ``with GatewayServer(runtime) as server:``."""

    def __init__(self, runtime: GatewayRuntime, host: str = "127.0.0.1", port: int = 0) -> None:
        self.runtime = runtime
        self._socket = bind(host, port)
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        self._server = build_server(runtime, host, self.port)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]},
            name="gateway-server", daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v1/frames"

    def start(self, timeout_s: float = 30.0) -> GatewayServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the gateway did not start on {self.host}:{self.port}")
            time.sleep(0.05)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)
        self._socket.close()

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""The Starlette app: routes, health, metrics, and the query-token scrubber.

Routes: WebSocket and ``POST /v1/frames``; ``GET /healthz`` (live: the producer and event
threads run), ``GET /readyz`` (ready: not draining and the pipeline takes frames; 503 with
Retry-After otherwise), ``GET /metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from consumer.gateway.auth import QUERY_TOKEN_SCOPE_KEY
from consumer.gateway.batch import post_frames
from consumer.gateway.runtime import GatewayRuntime
from consumer.gateway.session import frames_socket

TOKEN_PARAMETER = "access_token"


class QueryTokenScrubber:
    """Moves ``access_token`` out of the query string into the scope before anything else
    sees the request: uvicorn logs the path with its query string (at INFO for every accepted
    WebSocket), and the scope it logs from is the one we rewrite here."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and b"access_token" in scope["query_string"]:
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            kept = [(k, v) for k, v in pairs if k != TOKEN_PARAMETER]
            tokens = [v for k, v in pairs if k == TOKEN_PARAMETER]
            if tokens:
                scope[QUERY_TOKEN_SCOPE_KEY] = tokens[0]
            scope["query_string"] = urlencode(kept).encode("latin-1")
        await self._app(scope, receive, send)


def _json(body: dict[str, Any], status: int = 200, retry_after_s: float = 0.0) -> Response:
    headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))} if retry_after_s else None
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _health(runtime: GatewayRuntime) -> dict[str, Any]:
    pipeline = runtime.pipeline
    refusal = pipeline.refusal()
    return {
        "live": runtime.alive(),
        "ready": runtime.alive() and not runtime.draining and refusal is None,
        "draining": runtime.draining,
        "refusing": refusal,
        "buffer_frames": pipeline.in_flight,
        "buffer_limit": pipeline.capacity,
        "connections": runtime.open_sessions,
    }


async def healthz(request: Request) -> Response:
    report = _health(request.app.state.runtime)
    return _json(report, 200 if report["live"] else 503)


async def readyz(request: Request) -> Response:
    runtime: GatewayRuntime = request.app.state.runtime
    report = _health(runtime)
    if report["ready"]:
        return _json(report)
    return _json(report, 503, runtime.settings.gateway.retry_after_ms / 1000)


async def metrics(request: Request) -> Response:
    registry = request.app.state.runtime.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def create_app(runtime: GatewayRuntime) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        runtime.start(loop)
        try:
            yield
        finally:
            # Flushing blocks (bounded): off the loop, so closing sockets still get served.
            await loop.run_in_executor(None, runtime.stop)

    app = Starlette(
        routes=[
            WebSocketRoute("/v1/frames", frames_socket),
            Route("/v1/frames", post_frames, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.add_middleware(QueryTokenScrubber)
    return app

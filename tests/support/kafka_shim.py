"""A TCP relay that lets Debian's kcat (librdkafka 2.0.2) talk to the embedded tansu broker.

tansu answers ApiVersions v3 with every top-level tagged field written out, at default values
too (FinalizedFeaturesEpoch = -1, ZkMigrationReady = false); Apache Kafka omits defaults.
librdkafka 2.0.2 misreads that tail ("Protocol read buffer underflow for ApiVersion v3") and
drops the connection, and with ``api.version.request=false`` it falls back to protocol versions
tansu does not serve. The relay rewrites exactly one thing: the top-level tagged fields of
ApiVersions (api key 18) responses of version >= 3 become "none", which the protocol allows.
Every other byte passes through untouched, in both directions.

The broker must advertise the relay's address, so that the connections a client opens after
bootstrap go through the relay too.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

API_VERSIONS = 18


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _skip_tagged_fields(data: bytes, pos: int) -> int:
    count, pos = _uvarint(data, pos)
    for _ in range(count):
        _tag, pos = _uvarint(data, pos)
        size, pos = _uvarint(data, pos)
        pos += size
    return pos


def strip_api_versions_tags(body: bytes) -> bytes:
    """An ApiVersions v3+ response body (after the correlation id) without top-level tags."""
    pos = 2  # error_code
    entries, pos = _uvarint(body, pos)
    for _ in range(max(entries - 1, 0)):
        pos += 6  # api_key, min_version, max_version
        pos = _skip_tagged_fields(body, pos)
    pos += 4  # throttle_time_ms
    return body[:pos] + b"\x00"


def _read_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _read_frame(sock: socket.socket) -> bytes | None:
    header = _read_exact(sock, 4)
    if header is None:
        return None
    return _read_exact(sock, struct.unpack(">i", header)[0])


@dataclass
class ApiVersionsShim:
    """Listens on ``listen_port`` and relays to ``upstream_port`` on loopback."""

    listen_port: int
    upstream_port: int
    _server: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _sockets: list[socket.socket] = field(default_factory=list)

    def start(self) -> ApiVersionsShim:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.listen_port))
        server.listen(64)
        self._server = server
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        for sock in [self._server, *self._sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()  # the broker is not up (yet): the client retries
                continue
            self._sockets += [client, upstream]
            pending: dict[int, tuple[int, int]] = {}
            lock = threading.Lock()
            self._spawn(self._requests, client, upstream, pending, lock)
            self._spawn(self._responses, upstream, client, pending, lock)

    @staticmethod
    def _requests(src: socket.socket, dst: socket.socket,
                  pending: dict[int, tuple[int, int]], lock: threading.Lock) -> None:
        with contextlib.suppress(OSError):
            while (frame := _read_frame(src)) is not None:
                api_key, version, correlation = struct.unpack(">hhi", frame[:8])
                with lock:
                    pending[correlation] = (api_key, version)
                dst.sendall(struct.pack(">i", len(frame)) + frame)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    @staticmethod
    def _responses(src: socket.socket, dst: socket.socket,
                   pending: dict[int, tuple[int, int]], lock: threading.Lock) -> None:
        with contextlib.suppress(OSError):
            while (frame := _read_frame(src)) is not None:
                correlation = struct.unpack(">i", frame[:4])[0]
                with lock:
                    api_key, version = pending.pop(correlation, (-1, -1))
                if api_key == API_VERSIONS and version >= 3:
                    frame = frame[:4] + strip_api_versions_tags(frame[4:])
                dst.sendall(struct.pack(">i", len(frame)) + frame)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

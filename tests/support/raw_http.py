"""HTTP as an attacker writes it: raw bytes on a socket, and HTTP/2 frames.

`http.client` and urllib refuse to send malformed requests (an empty target,
HTTP/9.9, both Content-Length and Transfer-Encoding), so the hostile tests
write them byte for byte and read back what the server answers.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions


@dataclass
class RawReply:
    """The first response on a connection, and what came after it."""

    status: int | None  # None: no HTTP/1.1 response at all
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    closed: bool = False  # the server closed the connection after it
    seconds: float = 0.0  # until the response was complete
    rest: bytes = b""  # anything sent after the response (a second response)

    def json(self) -> Any:
        return json.loads(self.body)


def exchange(
    port: int, data: bytes, timeout: float = 10, watch: float = 0.5
) -> RawReply:
    """Send `data` on a new connection and read one HTTP/1.1 response, then
    whatever follows it for `watch` seconds, to see whether the connection
    closes."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = _recv(conn)
            if not chunk:
                return RawReply(None, closed=True, rest=received)
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = _recv(conn)
            if not chunk:
                break
            body += chunk
        seconds = time.monotonic() - started
        conn.settimeout(watch)
        rest, closed = body[length:], False
        try:
            while chunk := conn.recv(65536):
                rest += chunk
            closed = True
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed = True
    return RawReply(
        int(status_line.split()[1]),
        headers,
        body[:length],
        closed,
        round(seconds, 3),
        rest,
    )


def _recv(conn: socket.socket) -> bytes:
    try:
        return conn.recv(65536)
    except ConnectionResetError:
        return b""


def h2_statuses(port: int, upgrade: bool = False, timeout: float = 5) -> list[int]:
    """The `:status` of every HTTP/2 response to a GET / sent with prior
    knowledge (or after an `Upgrade: h2c` request); [] when the server does
    not speak HTTP/2 to us."""
    config = h2.config.H2Configuration(client_side=True)
    connection = h2.connection.H2Connection(config=config)
    statuses: list[int] = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        if upgrade:
            settings = connection.initiate_upgrade_connection()
            conn.sendall(
                b"GET / HTTP/1.1\r\nHost: localhost\r\n"
                b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                b"HTTP2-Settings: " + settings + b"\r\n\r\n"
            )
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = _recv(conn)
                if not chunk:
                    return statuses
                head += chunk
            if not head.startswith(b"HTTP/1.1 101"):
                return statuses  # answered in HTTP/1.1: no HTTP/2 here
            data = head.partition(b"\r\n\r\n")[2]
            stream = 1  # the upgrade request's response comes on stream 1
        else:
            connection.initiate_connection()
            stream = connection.get_next_available_stream_id()
            headers = [(":method", "GET"), (":path", "/"), (":scheme", "http")]
            connection.send_headers(stream, [*headers, (":authority", "localhost")])
            connection.end_stream(stream)
            conn.sendall(connection.data_to_send())
            data = b""
        deadline = time.monotonic() + timeout
        ended = False
        while not ended and time.monotonic() < deadline:
            if not data:
                try:
                    data = conn.recv(65536)
                except (TimeoutError, ConnectionResetError):
                    break
                if not data:
                    break
            try:
                events = connection.receive_data(data)
            except h2.exceptions.ProtocolError:
                break  # not HTTP/2 (an HTTP/1.1 400, say)
            data = b""
            for event in events:
                if isinstance(event, h2.events.ResponseReceived):
                    statuses += [int(v) for k, v in event.headers if k == b":status"]
                elif isinstance(event, h2.events.StreamEnded):
                    ended = ended or event.stream_id == stream
            conn.sendall(connection.data_to_send())
    return statuses

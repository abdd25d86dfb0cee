"""The HTTP server of ``shinsaku serve``: waitress with the limits of ``backend.limits`` and a thin layer
so that what waitress decides itself is answered like the API, and slow clients cannot hold it.

- Errors waitress answers before Flask sees the request (body over the limit, bad framing or
  ``Content-Length``, headers too large, unknown transfer coding) are the API's JSON
  ``{"error": code, "message": text}``; an unknown transfer coding is a client mistake: 400, not 501.
- A request must arrive whole within ``REQUEST_READ_TIMEOUT_S`` of its first byte, or its connection
  is closed (slow-header and slow-body clients); idle keep-alive connections close after
  ``CHANNEL_TIMEOUT_S``; up to ``CONNECTION_LIMIT`` connections are served, polled with ``poll(2)``.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from waitress import utilities
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from backend.errors import error_body

#: waitress error class -> (HTTP status, API error code). Subclasses come before their bases.
WAITRESS_ERRORS: tuple[tuple[type, int, str], ...] = (
    (utilities.RequestHeaderFieldsTooLarge, 431, "headers_too_large"),
    (utilities.RequestEntityTooLarge, 413, "payload_too_large"),
    (utilities.BadRequest, 400, "bad_request"),
    (utilities.ServerNotImplemented, 400, "unsupported_transfer_encoding"),
)


def waitress_error(error: utilities.Error) -> tuple[int, str, str]:
    """``(status, code, message)`` of a waitress error; anything unknown is a 500 ``internal_error``."""
    for cls, status, code in WAITRESS_ERRORS:
        if isinstance(error, cls):
            return status, code, f"{error.reason}: {error.body}"
    return 500, "internal_error", "internal error; see the backend log"


class JsonErrorTask(ErrorTask):
    """waitress's error response, as the API's JSON error (``Vary: Origin``, connection closed)."""

    def execute(self) -> None:
        status, code, message = waitress_error(self.request.error)
        body = json.dumps(error_body(code, message)).encode("utf-8")
        self.status = f"{status} {HTTPStatus(status).phrase}"
        self.response_headers.extend([("Content-Type", "application/json"), ("Vary", "Origin")])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class ApiChannel(HTTPChannel):
    """An HTTP connection that remembers since when its current request has been arriving
    (``partial_since``, ``time.monotonic()`` seconds; None between requests)."""

    error_task_class = JsonErrorTask
    partial_since: float | None = None

    def received(self, data: bytes) -> bool:
        before = self.request
        result = super().received(data)
        if self.request is None:
            self.partial_since = None
        elif self.request is not before:
            self.partial_since = time.monotonic()
        return result


class ApiServer(TcpWSGIServer):
    """waitress TCP server with ``ApiChannel`` connections and the request read timeout."""

    channel_class = ApiChannel
    request_read_timeout_s = 10.0

    def maintenance(self, now: float) -> None:
        """waitress's idle-connection cleanup, plus: close connections whose request has been
        arriving for longer than ``request_read_timeout_s`` seconds."""
        super().maintenance(now)
        cutoff = time.monotonic() - self.request_read_timeout_s
        for channel in list(self.active_channels.values()):
            since = getattr(channel, "partial_since", None)
            if since is not None and since < cutoff and not channel.requests:
                channel.will_close = True


def raise_file_limit(wanted: int) -> int:
    """Raise this process's soft limit of open files towards ``wanted`` (bounded by the hard limit);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def make_server(app: Any, config: Mapping[str, Any]) -> ApiServer:
    """Bind an ``ApiServer`` for ``app`` (any WSGI callable; ``server.application`` may be replaced
    before ``server.run()``) on ``config["HOST"]:config["PORT"]`` with the configured threads and
    limits. Request bodies are bounded by ``MAX_BATCH_BYTES``/``MAX_IMAGE_BYTES`` (whichever is
    larger), headers by ``MAX_HEADER_BYTES``.

    Raises:
        OSError: the address cannot be bound (``errno.EADDRINUSE`` when the port is in use).
    """
    connections = config["CONNECTION_LIMIT"]
    raise_file_limit(connections + 64)
    adj = Adjustments(
        host=config["HOST"], port=config["PORT"], threads=config["SERVER_THREADS"], ident="shinsaku",
        max_request_body_size=max(config["MAX_BATCH_BYTES"], config["MAX_IMAGE_BYTES"]),
        max_request_header_size=config["MAX_HEADER_BYTES"], connection_limit=connections,
        channel_timeout=config["CHANNEL_TIMEOUT_S"], cleanup_interval=1, asyncore_use_poll=True,
        clear_untrusted_proxy_headers=True, expose_tracebacks=False)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    shared_map: dict = {}
    servers = [ApiServer(app, shared_map, dispatcher=dispatcher, adj=adj, sockinfo=info) for info in adj.listen]
    for server in servers:
        server.request_read_timeout_s = float(config["REQUEST_READ_TIMEOUT_S"])
    return servers[-1]  # its run() serves every socket of the shared map

"""ASGI middleware of the speech server: request ids and log lines, API-key auth, body-size limit.

Pure ASGI (no BaseHTTPMiddleware), so streaming responses and client-disconnect messages pass through
untouched. Log lines carry method, path, status, bytes and seconds, never request bodies.
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import time
from typing import Any

LOGGER = logging.getLogger("baton.server")
_IDS = itertools.count(1)
DRAIN_LIMIT_BYTES = 16 << 20
"""Bodies over the limit but under this are read and dropped before the 413; larger ones are cut off."""
OPEN_PATHS = ("/health", "/docs", "/redoc", "/openapi.json")
"""Paths that need no API key: load balancer probes and the API documentation."""


def error_bytes(message: str, type_: str, code: str | None, param: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}}).encode()


async def send_error(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class ServingMiddleware:
    """Outermost layer: request id, access log line, API key check, body-size limit (413)."""

    def __init__(self, app: Any, api_key: str | None, max_body_bytes: int):
        self.app = app
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{next(_IDS):06d}"
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        info = {"status": 0, "bytes": 0, "first_byte_s": None}

        async def logged_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                info["status"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            elif message["type"] == "http.response.body" and message.get("body"):
                if info["first_byte_s"] is None:
                    info["first_byte_s"] = time.perf_counter() - start
                info["bytes"] += len(message["body"])
            await send(message)

        try:
            if not self._authorised(scope):
                await send_error(logged_send, 401, error_bytes(
                    "invalid or missing API key; send 'Authorization: Bearer <key>' with the key the server was "
                    "started with (--api-key or $BATON_API_KEY)", "invalid_request_error", "invalid_api_key"),
                    [(b"www-authenticate", b"Bearer")])
                return
            receive = await self._limited_body(scope, receive, logged_send)
            if receive is None:
                return
            await self.app(scope, receive, logged_send)
        finally:
            first = info["first_byte_s"]
            LOGGER.info("%s %s %s -> %s %d bytes in %.3f s (first byte %s)", request_id, scope["method"],
                        scope["path"], info["status"] or "disconnected", info["bytes"], time.perf_counter() - start,
                        "-" if first is None else f"{first:.3f} s")

    def _authorised(self, scope: dict) -> bool:
        if self.api_key is None or scope["path"] in OPEN_PATHS or scope["method"] == "OPTIONS":
            return True
        headers = dict(scope.get("headers", []))
        given = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.api_key.encode())

    async def _limited_body(self, scope: dict, receive: Any, send: Any) -> Any:
        """Read the whole body (at most max_body_bytes) before the app sees it; answer 413 past the limit.
        Returns a receive callable that replays the body and then passes through (disconnects included)."""
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return receive
        limit = self.max_body_bytes
        too_large = error_bytes(f"the request body is larger than this server's limit of {limit} bytes; send a "
                                "shorter text or plan (server option --max-body-bytes)", "invalid_request_error",
                                "request_too_large")
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > DRAIN_LIMIT_BYTES:
            await send_error(send, 413, too_large, [(b"connection", b"close")])  # not worth reading
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            if size > DRAIN_LIMIT_BYTES or (size > limit and not message.get("more_body", False)):
                # Read (and drop) a moderately oversized body before answering, so the client sees the 413
                # instead of a connection reset while it is still sending.
                await send_error(send, 413, too_large, [(b"connection", b"close")])
                return None
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

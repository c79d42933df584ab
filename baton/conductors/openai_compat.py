"""The ``openai`` conductor: any OpenAI-compatible chat-completions endpoint.

Works with vLLM, llama.cpp's server, Ollama (``/v1``), OpenAI and :mod:`baton.llm_server`. Standard
library only (urllib): no HTTP client dependency.

Configuration (constructor options win over the environment):
* ``base_url`` / ``BATON_LLM_BASE_URL`` (or ``OPENAI_BASE_URL``): the API root, e.g.
  ``http://localhost:8000/v1``; ``/chat/completions`` is appended.
* ``model`` / ``BATON_LLM_MODEL``: the model id; when unset and the server lists exactly one model at
  ``/models``, that one is used.
* ``api_key`` / ``BATON_LLM_API_KEY`` (or ``OPENAI_API_KEY``): sent as a Bearer token when set.

Structured output: ``response_format="auto"`` asks for ``json_schema`` (the plan schema) first; if the
server answers 400/422 to that, it tries ``json_object``, then no response format, and remembers what
worked. Any other value (``json_schema``, ``json_object``, ``none``) is used as is.

Timeouts and retries: each request has a socket timeout of ``timeout_s``; connection failures, timeouts,
HTTP 408/429/5xx are retried ``retries`` times with exponential backoff (``backoff_s``, doubled each
time); other HTTP errors are not. What happens when it all fails is the ``fallback`` policy of
:mod:`baton.conductors.llm_conductor`: by default an endpoint failure is one clear error line and invalid
output falls back to the embedded conductor with a warning.
"""

from __future__ import annotations

import errno
import http.client
import ipaddress
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from baton.baseline import VoiceBaseline
from baton.conductors.base import Conductor, ConductorError
from baton.conductors.llm_conductor import EndpointError, LLMPlanner, LLMReport, Messages, PlannerConductor
from baton.conductors.llm_prompt import reply_token_budget
from baton.plan import Plan, plan_json_schema

LOGGER = logging.getLogger("baton.conductors.llm")
RESPONSE_FORMATS = ("auto", "json_schema", "json_object", "none")
_DOWNGRADE = {"json_schema": "json_object", "json_object": "none"}
_RETRY_STATUS = {408, 409, 429}
_FIX = "check BATON_LLM_BASE_URL / --base-url and that the server is running, or use --conductor embedded"


@dataclass(frozen=True)
class OpenAIOptions:
    """Resolved options of one openai conductor."""

    base_url: str
    model: str | None
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    """Socket timeout per request [s]."""
    retries: int = 2
    """Extra attempts after a retryable failure (connection, timeout, HTTP 408/409/429/5xx)."""
    backoff_s: float = 1.0
    """Wait before the first retry [s]; doubled for each further retry."""
    response_format: str = "auto"
    max_tokens: int = 1024
    """Upper bound on reply tokens (lowered per request to what the text's plan needs)."""
    temperature: float = 0.0
    n_examples: int = 3


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith("/chat/completions"):
        url = url[: -len("/chat/completions")]
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConductorError(f"openai conductor: base URL {url!r} is not an http(s) URL; pass e.g. "
                             "--base-url http://localhost:8000/v1")
    return url


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _HTTPStatusError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class OpenAIConductor(PlannerConductor):
    """``Conductor`` talking to an OpenAI-compatible chat-completions endpoint (see module doc)."""

    name = "openai"

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout_s: float = 60.0, retries: int = 2, backoff_s: float = 1.0,
                 response_format: str = "auto", max_tokens: int = 1024, temperature: float = 0.0,
                 n_examples: int = 3, fallback: Any = "output", fallback_conductor: Conductor | None = None):
        url = base_url or _env("BATON_LLM_BASE_URL", "OPENAI_BASE_URL")
        if not url:
            raise ConductorError("openai conductor: no endpoint; pass --base-url (e.g. http://localhost:8000/v1) "
                                 "or set BATON_LLM_BASE_URL")
        if response_format not in RESPONSE_FORMATS:
            raise ConductorError(f"openai conductor: response_format={response_format!r} is not valid; valid: "
                                 f"{', '.join(RESPONSE_FORMATS)}")
        if timeout_s <= 0 or retries < 0 or backoff_s < 0 or max_tokens < 16:
            raise ConductorError("openai conductor: timeout_s must be > 0, retries >= 0, backoff_s >= 0 and "
                                 "max_tokens >= 16")
        self.options = OpenAIOptions(
            base_url=_normalise_base_url(url), model=model or _env("BATON_LLM_MODEL"),
            api_key=api_key or _env("BATON_LLM_API_KEY", "OPENAI_API_KEY"), timeout_s=float(timeout_s),
            retries=int(retries), backoff_s=float(backoff_s), response_format=response_format,
            max_tokens=int(max_tokens), temperature=float(temperature), n_examples=n_examples)
        self._model = self.options.model
        self._format = "json_schema" if response_format == "auto" else response_format
        self._opener = (urllib.request.build_opener(urllib.request.ProxyHandler({}))
                        if _is_loopback(self.options.base_url) else urllib.request.build_opener())
        self._planner = LLMPlanner(self.name, self._complete, fallback, fallback_conductor, n_examples)
        self.last_report: LLMReport | None = None
        self.response_format_used: str | None = None
        """The response format of the last successful request (after any downgrade)."""

    def chat(self, messages: Messages, max_tokens: int = 256) -> str:
        """A plain chat reply from the same endpoint (no plan format), e.g. for baton.dialogue's SAGE judge
        and simulated speakers. Raises EndpointError (one line) when the endpoint cannot be used."""
        payload = {"model": self._resolve_model(), "messages": messages, "temperature": self.options.temperature,
                   "max_tokens": int(max_tokens), "stream": False}
        try:
            data = self._request("POST", "/chat/completions", payload)
        except _HTTPStatusError as err:
            raise self._chat_error(err) from None
        return self._reply_content(data)

    # -- HTTP -------------------------------------------------------------------------------------------
    def _complete(self, messages: Messages, text: str) -> str:
        payload: dict[str, Any] = {
            "model": self._resolve_model(), "messages": messages, "temperature": self.options.temperature,
            "max_tokens": reply_token_budget(text, self.options.max_tokens), "stream": False,
        }
        while True:
            if self._format != "none":
                payload["response_format"] = _response_format(self._format)
            else:
                payload.pop("response_format", None)
            try:
                data = self._request("POST", "/chat/completions", payload)
                break
            except _HTTPStatusError as err:
                downgrade = _DOWNGRADE.get(self._format)
                if err.status in (400, 422) and self.options.response_format == "auto" and downgrade:
                    LOGGER.info("openai conductor: the server rejected response_format %s (HTTP %d: %s); "
                                "trying %s", self._format, err.status, err.message, downgrade)
                    self._format = downgrade
                    continue
                raise self._chat_error(err) from None
        self.response_format_used = self._format
        return self._reply_content(data)

    def _chat_error(self, err: "_HTTPStatusError") -> EndpointError:
        return EndpointError(f"openai conductor: {self._url('/chat/completions')} answered HTTP {err.status} "
                             f"({err.message}); {_fix_for(err.status)}")

    def _reply_content(self, data: Any) -> str:
        """The text of a chat completion response (empty when the server sent none)."""
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise EndpointError(f"openai conductor: the response of {self._url('/chat/completions')} has no "
                                "choices[0].message.content; is it an OpenAI-compatible chat endpoint?") from None
        return content if isinstance(content, str) else ""

    def _resolve_model(self) -> str:
        if self._model:
            return self._model
        try:
            data = self._request("GET", "/models", None)
        except _HTTPStatusError as err:
            raise EndpointError(f"openai conductor: no model given and {self._url('/models')} answered HTTP "
                                f"{err.status}; set BATON_LLM_MODEL or pass --model") from None
        ids = [m.get("id") for m in data.get("data", []) if isinstance(m, dict)] if isinstance(data, dict) else []
        if len(ids) != 1 or not isinstance(ids[0], str):
            offered = ", ".join(map(str, ids)) or "none"
            raise EndpointError(f"openai conductor: no model given and the server offers {offered}; set "
                                "BATON_LLM_MODEL or pass --model")
        self._model = ids[0]
        return self._model

    def _url(self, path: str) -> str:
        return self.options.base_url + path

    def _request(self, method: str, path: str, payload: dict | None) -> Any:
        """JSON request with retries; raises _HTTPStatusError (non-retryable status) or EndpointError."""
        url = self._url(path)
        headers = {"Accept": "application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.options.api_key:
            headers["Authorization"] = f"Bearer {self.options.api_key}"
        attempts = self.options.retries + 1
        problem = "failed"
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.options.backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(url, data=body, headers=headers, method=method)
            try:
                with self._opener.open(request, timeout=self.options.timeout_s) as response:
                    raw = response.read()
            except urllib.error.HTTPError as err:
                message = _error_message(err)
                if err.code in _RETRY_STATUS or err.code >= 500:
                    problem = f"answered HTTP {err.code} ({message})"
                    continue
                raise _HTTPStatusError(err.code, message) from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
                reason = err.reason if isinstance(err, urllib.error.URLError) else err
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    problem = f"timed out after {self.options.timeout_s:g} s"
                    continue
                if isinstance(reason, socket.gaierror):
                    raise EndpointError(f"openai conductor: cannot resolve the host of {url}; {_FIX}") from None
                unreachable = getattr(reason, "errno", None) in (errno.ECONNREFUSED, errno.EHOSTUNREACH,
                                                                  errno.ENETUNREACH)
                problem = f"{'is unreachable' if unreachable else 'failed'} ({' '.join(str(reason).split())})"
                continue
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise EndpointError(f"openai conductor: {url} did not return JSON; is it an OpenAI-compatible "
                                    f"API root? {_FIX}") from None
        raise EndpointError(f"openai conductor: {method} {url} {problem} ({attempts} attempt"
                            f"{'s' if attempts > 1 else ''}); {_FIX}")


def _response_format(kind: str) -> dict[str, Any]:
    if kind == "json_object":
        return {"type": "json_object"}
    schema = {k: v for k, v in plan_json_schema().items() if k not in ("$schema", "title")}
    return {"type": "json_schema", "json_schema": {"name": "baton_plan", "schema": schema, "strict": False}}


def _error_message(err: urllib.error.HTTPError) -> str:
    """The server's error message (OpenAI-style ``{"error": {"message": ...}}`` or text), one short line."""
    try:
        raw = err.read().decode("utf-8", "replace")
    except OSError:
        raw = ""
    message = raw
    try:
        data = json.loads(raw)
        inner = data.get("error", data) if isinstance(data, dict) else data
        message = inner.get("message", raw) if isinstance(inner, dict) else str(inner)
    except (json.JSONDecodeError, AttributeError):
        pass
    message = " ".join(str(message).split())[:200]
    return message or err.reason or "no message"


def _fix_for(status: int) -> str:
    if status in (401, 403):
        return "set BATON_LLM_API_KEY (or OPENAI_API_KEY) to a valid key"
    if status == 404:
        return "check the base URL (it usually ends in /v1) and BATON_LLM_MODEL"
    return _FIX


__all__ = ["OpenAIConductor", "OpenAIOptions", "RESPONSE_FORMATS"]

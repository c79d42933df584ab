"""Every failure mode of the openai conductor ends in a valid plan or one clear error line.

The endpoint here is a scripted OpenAI-compatible HTTP server on localhost: failure injection (it answers
what each test tells it to: broken JSON, a slow reply, HTTP 500, ...). The fallback is the real embedded
conductor. The same paths against a real LLM (SmolLM2 behind baton.llm_server) are in test_llm_models.py.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from baton.baseline import DEFAULT_BASELINE
from baton.conductors import ConductorError, get_conductor
from baton.conductors.openai_compat import OpenAIConductor

TEXT = "Oh no, I left my keys at home again."
GOOD = {"segments": [{"word": "Oh no,", "pitch_mean": 180, "energy_rms": 0.04},
                     {"word": "I left my keys at home again.", "pitch_mean": 170, "pitch_slope": -60}]}


class ScriptedServer:
    """An OpenAI-compatible endpoint answering from a script; records every request body.

    Each script step is ``("reply", content)``, ``("status", code, message)``, ``("sleep", seconds,
    content)``, ``("raw", body)``, ``("close",)`` or ``("html",)``; the last step repeats. ``reject_json_schema`` answers 400 to
    json_schema requests first.
    """

    def __init__(self, *steps: tuple, reject_json_schema: bool = False):
        self.steps = list(steps)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.reject_json_schema = reject_json_schema
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def do_GET(self) -> None:  # noqa: N802
                self._send(200, {"object": "list", "data": [{"id": "scripted-model", "object": "model"}]})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                step = server._next(body, dict(self.headers))
                if step[0] == "status":
                    self._send(step[1], {"error": {"message": step[2], "type": "test"}})
                    return
                if step[0] == "raw":
                    self._send(200, step[1])
                    return
                if step[0] == "close":  # hang up without an answer
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if step[0] == "html":
                    data = b"<html>proxy login</html>"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if step[0] == "sleep":
                    time.sleep(step[1])
                content = step[-1]
                self._send(200, {"choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": content}}]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _next(self, body: dict, headers: dict) -> tuple:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            fmt = (body.get("response_format") or {}).get("type")
            if self.reject_json_schema and fmt == "json_schema":
                return ("status", 400, "response_format json_schema is not supported")
            return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[ScriptedServer] = []

    def start(*steps: tuple, **kwargs: Any) -> ScriptedServer:
        servers.append(ScriptedServer(*steps, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="module")
def embedded() -> Any:
    return get_conductor("embedded")


def conductor(url: str, embedded: Any, **options: Any) -> OpenAIConductor:
    options = {"model": "m", "retries": 1, "backoff_s": 0.01, "timeout_s": 5.0, **options}
    return OpenAIConductor(base_url=url, fallback_conductor=embedded, **options)


def assert_one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert message and "\n" not in message and len(message) < 400
    return message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- endpoint failures -----------------------------------------------------------------------------------

def test_unreachable_endpoint_is_one_error_line(embedded: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(ConductorError) as err:
        conductor(url, embedded).plan(TEXT, "sad", DEFAULT_BASELINE)
    message = assert_one_line(err)
    assert "unreachable" in message and url in message and "BATON_LLM_BASE_URL" in message
    assert "2 attempts" in message


def test_unreachable_endpoint_falls_back_when_asked(embedded: Any, caplog: pytest.LogCaptureFixture) -> None:
    c = conductor(f"http://127.0.0.1:{free_port()}/v1", embedded, fallback="always")
    with caplog.at_level(logging.WARNING, logger="baton.conductors.llm"):
        plan, report = c.plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    plan.check_text(TEXT)
    assert report.source == "fallback" and report.attempts == 0
    assert any("embedded conductor" in r.getMessage() and "unreachable" in r.getMessage() for r in caplog.records)


def test_timeout_is_retried_then_one_error_line(scripted: Any, embedded: Any) -> None:
    server = scripted(("sleep", 3.0, json.dumps(GOOD)))
    start = time.monotonic()
    with pytest.raises(ConductorError) as err:
        conductor(server.url, embedded, timeout_s=0.3).plan(TEXT, "sad", DEFAULT_BASELINE)
    assert time.monotonic() - start < 2.5
    assert "timed out after 0.3 s (2 attempts)" in assert_one_line(err)
    assert len(server.requests) == 2


def test_timeout_then_answer_gives_the_llm_plan(scripted: Any, embedded: Any) -> None:
    server = scripted(("sleep", 2.0, "late"), ("reply", json.dumps(GOOD)))
    plan, report = conductor(server.url, embedded, timeout_s=0.3).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    assert report.source == "llm" and plan.segments[0].pitch_mean == 180


def test_http_500_is_retried(scripted: Any, embedded: Any) -> None:
    server = scripted(("status", 500, "overloaded"), ("reply", json.dumps(GOOD)))
    plan, report = conductor(server.url, embedded).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    assert report.source == "llm" and len(server.requests) == 2
    plan.check_text(TEXT)


def test_persistent_http_500_is_one_error_line(scripted: Any, embedded: Any) -> None:
    server = scripted(("status", 500, "model crashed"))
    with pytest.raises(ConductorError) as err:
        conductor(server.url, embedded, retries=2).plan(TEXT, "sad", DEFAULT_BASELINE)
    message = assert_one_line(err)
    assert "HTTP 500 (model crashed)" in message and "3 attempts" in message
    assert len(server.requests) == 3


def test_http_401_is_not_retried_and_names_the_key(scripted: Any, embedded: Any) -> None:
    server = scripted(("status", 401, "invalid api key"))
    with pytest.raises(ConductorError) as err:
        conductor(server.url, embedded).plan(TEXT, "sad", DEFAULT_BASELINE)
    assert "BATON_LLM_API_KEY" in assert_one_line(err) and len(server.requests) == 1


def test_http_400_on_response_format_falls_back_to_json_mode(scripted: Any, embedded: Any) -> None:
    server = scripted(("reply", json.dumps(GOOD)), reject_json_schema=True)
    c = conductor(server.url, embedded)
    plan, report = c.plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    assert report.source == "llm"
    assert [r["response_format"]["type"] for r in server.requests] == ["json_schema", "json_object"]
    assert server.requests[0]["response_format"]["json_schema"]["schema"]["required"] == ["segments"]
    c.plan(TEXT, "sad", DEFAULT_BASELINE)  # the working format is remembered
    assert server.requests[-1]["response_format"]["type"] == "json_object" and len(server.requests) == 3


# --- output failures -------------------------------------------------------------------------------------

def test_invalid_json_is_reasked_with_the_error(scripted: Any, embedded: Any) -> None:
    server = scripted(("reply", "Sure! The plan is: segments first, then numbers."), ("reply", json.dumps(GOOD)))
    plan, report = conductor(server.url, embedded).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    assert report.source == "llm-reask" and report.attempts == 2
    reask = server.requests[1]["messages"]
    assert reask[-2] == {"role": "assistant", "content": "Sure! The plan is: segments first, then numbers."}
    assert "not valid JSON" in reask[-1]["content"] or "no JSON" in reask[-1]["content"]
    plan.check_text(TEXT)


def test_invalid_json_twice_falls_back_with_a_warning(scripted: Any, embedded: Any,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    server = scripted(("reply", "{{{ not json"))
    with caplog.at_level(logging.WARNING, logger="baton.conductors.llm"):
        plan, report = conductor(server.url, embedded).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    plan.check_text(TEXT)
    assert report.source == "fallback" and len(server.requests) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "still invalid after one re-ask" in warnings[0] and "\n" not in warnings[0]


def test_invalid_output_without_fallback_is_one_error_line(scripted: Any, embedded: Any) -> None:
    server = scripted(("reply", json.dumps({"segments": [{"word": TEXT, "pitch_mean": 9000}]})))
    with pytest.raises(ConductorError) as err:
        conductor(server.url, embedded, fallback="never").plan(TEXT, "sad", DEFAULT_BASELINE)
    message = assert_one_line(err)
    assert "pitch_mean" in message and "out of range" in message


def test_dropped_words_are_repaired_without_reasking(scripted: Any, embedded: Any) -> None:
    dropped = {"segments": [{"word": "Oh no,", "pitch_mean": 180}, {"word": "I left my keys", "pitch_mean": 170}]}
    server = scripted(("reply", json.dumps(dropped)))
    plan, report = conductor(server.url, embedded).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    assert report.source == "llm-repaired" and len(server.requests) == 1
    assert plan.segments[1].word == "I left my keys at home again." and plan.segments[1].pitch_mean == 170


def test_invented_words_are_repaired_without_reasking(scripted: Any, embedded: Any) -> None:
    invented = {"segments": [{"word": "Oh no, no,", "pitch_mean": 180},
                             {"word": "I left my car keys at home again today.", "pitch_mean": 170}]}
    server = scripted(("reply", "```json\n" + json.dumps(invented) + "\n```"))
    plan, report = conductor(server.url, embedded).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    assert report.source == "llm-repaired" and plan.text == TEXT


def test_out_of_range_values_are_reasked_with_field_and_range(scripted: Any, embedded: Any) -> None:
    bad = {"segments": [{"word": TEXT, "pitch_mean": 5000, "energy_rms": 3}]}
    server = scripted(("reply", json.dumps(bad)), ("reply", json.dumps(GOOD)))
    plan, report = conductor(server.url, embedded).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    assert report.source == "llm-reask" and plan.segments[0].pitch_mean == 180
    error = server.requests[1]["messages"][-1]["content"]
    assert "'pitch_mean'" in error and "50 to 800 Hz" in error and "'energy_rms'" in error


def test_wrong_types_repaired_where_safe_else_fall_back(scripted: Any, embedded: Any) -> None:
    safe = {"segments": [{"word": TEXT, "pitch_mean": "190 Hz", "pause_after": "300 ms", "mood": "sad"}]}
    server = scripted(("reply", json.dumps(safe)))
    plan, report = conductor(server.url, embedded).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    assert report.source == "llm-repaired"
    assert plan.segments[0].pitch_mean == 190 and plan.segments[0].pause_after == pytest.approx(0.3)
    unsafe = {"segments": [{"word": TEXT, "pitch_mean": "low", "duration": [1, 2]}]}
    server = scripted(("reply", json.dumps(unsafe)))
    plan, report = conductor(server.url, embedded).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)
    assert report.source == "fallback" and "not a number" in report.errors[0]
    plan.check_text(TEXT)


def test_connection_dropped_is_retried_then_one_error_line(scripted: Any, embedded: Any) -> None:
    server = scripted(("close",))
    with pytest.raises(ConductorError) as err:
        conductor(server.url, embedded).plan(TEXT, "sad", DEFAULT_BASELINE)
    assert "failed" in assert_one_line(err) and len(server.requests) == 2
    server = scripted(("close",), ("reply", json.dumps(GOOD)))
    assert conductor(server.url, embedded).plan_with_report(TEXT, "sad", DEFAULT_BASELINE)[1].source == "llm"


def test_a_non_json_response_body_is_one_error_line(scripted: Any, embedded: Any) -> None:
    server = scripted(("html",))
    with pytest.raises(ConductorError) as err:
        conductor(server.url, embedded).plan(TEXT, "sad", DEFAULT_BASELINE)
    assert "did not return JSON" in assert_one_line(err)


def test_missing_choices_is_one_error_line(scripted: Any, embedded: Any) -> None:
    server = scripted(("raw", {"id": "not a chat completion"}))
    with pytest.raises(ConductorError) as err:
        conductor(server.url, embedded).plan(TEXT, "sad", DEFAULT_BASELINE)
    assert "choices[0].message.content" in assert_one_line(err)


# --- configuration --------------------------------------------------------------------------------------

def test_environment_configures_url_model_and_key(scripted: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = scripted(("reply", json.dumps(GOOD)))
    monkeypatch.setenv("BATON_LLM_BASE_URL", server.url + "/chat/completions")
    monkeypatch.setenv("BATON_LLM_MODEL", "env-model")
    monkeypatch.setenv("BATON_LLM_API_KEY", "sk-test")
    plan = get_conductor("openai").plan(TEXT, None, DEFAULT_BASELINE)
    plan.check_text(TEXT)
    assert server.requests[0]["model"] == "env-model"
    assert server.headers[0]["Authorization"] == "Bearer sk-test"


def test_model_is_discovered_when_the_server_has_one(scripted: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BATON_LLM_MODEL", "BATON_LLM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    server = scripted(("reply", json.dumps(GOOD)))
    OpenAIConductor(base_url=server.url).plan(TEXT, None, DEFAULT_BASELINE)
    assert server.requests[0]["model"] == "scripted-model" and "Authorization" not in server.headers[0]


def test_missing_or_bad_configuration_is_one_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BATON_LLM_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConductorError) as err:
        get_conductor("openai")
    assert "BATON_LLM_BASE_URL" in assert_one_line(err)
    with pytest.raises(ConductorError) as err:
        OpenAIConductor(base_url="localhost:8000")
    assert "http(s) URL" in assert_one_line(err)
    with pytest.raises(ConductorError) as err:
        OpenAIConductor(base_url="http://x/v1", fallback="sometimes")
    assert "never, output, always" in assert_one_line(err)

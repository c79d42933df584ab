"""baton serve refuses bad requests with OpenAI-shaped JSON errors, never a traceback, and keeps serving.

One real uvicorn on 127.0.0.1 over the shipped voice, loaded once for the module.
"""

from __future__ import annotations

import time

import httpx
import pytest

from baton.server.app import create_app
from baton.server.config import ServeConfig
from baton.server.main import BackgroundServer, load_pipelines

CONFIG = ServeConfig(workers=1, max_queue=2, threads_per_worker=1, max_input_chars=1000, max_body_bytes=64 * 1024,
                     max_audio_s=120.0)


@pytest.fixture(scope="module")
def pipelines():
    return load_pipelines(ServeConfig(threads_per_worker=1))


@pytest.fixture(scope="module")
def server(pipelines):
    with BackgroundServer(create_app(CONFIG, pipelines)) as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        yield client


def speech(http, body=None, content=None, **headers):
    if content is not None:
        return http.post("/v1/audio/speech", content=content, headers={"content-type": "application/json", **headers})
    return http.post("/v1/audio/speech", json=body, headers=headers)


def assert_error(r: httpx.Response, status: int, code: str | None = None, param: str | None = None,
                 needle: str = "") -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "Traceback" not in r.text and "File \"" not in r.text
    assert "\n" not in error["message"] and needle in error["message"], error["message"]
    if code is not None:
        assert error["code"] == code, error
    if param is not None:
        assert error["param"] == param, error
    return error["message"]


@pytest.mark.parametrize("content", [b'{"model": "tts-1",', b"not json", b"\xff\xfe\x00", b""])
def test_malformed_json(http, content):
    r = speech(http, content=content)
    assert r.status_code == 400, r.text
    assert_error(r, 400)


def test_body_must_be_an_object(http):
    assert_error(speech(http, content=b'["model", "input"]'), 400, "invalid_body", needle="JSON object")


@pytest.mark.parametrize("body, param, code", [
    ({"input": "Hello."}, "model", "missing_required_parameter"),
    ({"model": "tts-1"}, "input", "missing_required_parameter"),
    ({"model": "tts-1", "input": "   "}, "input", "missing_required_parameter"),
    ({"model": "tts-1", "input": 5}, "input", "invalid_type"),
    ({"model": "tts-1", "input": ["Hello."]}, "input", "invalid_type"),
    ({"model": 1, "input": "Hello."}, "model", "invalid_type"),
    ({"model": "tts-1", "input": "Hello.", "speed": "fast"}, "speed", None),
    ({"model": "tts-1", "input": "Hello.", "speed": 5.0}, "speed", "invalid_value"),
    ({"model": "tts-1", "input": "Hello.", "speed": 0.1}, "speed", "invalid_value"),
    ({"model": "tts-1", "input": "Hello.", "voice": 3}, "voice", None),
    ({"model": "tts-1", "input": "Hello.", "seed": -1}, "seed", "invalid_value"),
    ({"model": "tts-1", "input": "Hello.", "instructions": {"mood": "sad"}}, "instructions", None),
    ({"model": "tts-1", "input": "Hello.", "temperature": 0.3}, "temperature", "unknown_parameter"),
    ({"model": "whisper-1", "input": "Hello."}, "model", "model_not_found"),
])
def test_missing_and_wrong_typed_fields(http, body, param, code):
    assert_error(speech(http, body), 400, code, param)


def test_oversize_input_and_body(http):
    message = assert_error(speech(http, {"model": "tts-1", "input": "word " * 201}), 400, "input_too_long", "input")
    assert "at most 1000" in message
    huge = b'{"model": "tts-1", "input": "' + b"a" * (200 * 1024) + b'"}'
    assert_error(speech(http, content=huge), 413, "request_too_large", needle="65536 bytes")


def test_unknown_voice_and_format(http):
    message = assert_error(speech(http, {"model": "tts-1", "input": "Hi.", "voice": "nightingale"}), 400,
                           "voice_not_found", "voice")
    assert "valid: ljspeech" in message
    # OpenAI's voice names, which clients send by default, get the default voice (as tts-1 gets batonvoice)
    assert speech(http, {"model": "tts-1", "input": "Hi.", "voice": "alloy", "response_format": "wav"}).status_code == 200
    assert_error(speech(http, {"model": "tts-1", "input": "Hi.", "voice": {"id": "nope"}}), 400, "voice_not_found")
    message = assert_error(speech(http, {"model": "tts-1", "input": "Hi.", "response_format": "aac"}), 400,
                           param="response_format")
    assert "wav" in message and "mp3" in message
    assert_error(speech(http, {"model": "tts-1", "input": "Hi.", "response_format": "flac",
                               "stream_format": "audio"}), 400, param="stream_format", needle="cannot be streamed")
    assert_error(speech(http, {"model": "tts-1", "input": "Hi.", "stream_format": "video"}), 400,
                 param="stream_format")


def test_bad_plans_name_segment_field_and_range(http):
    plan = {"segments": [{"word": "Hello there.", "pitch_mean": 5000}]}
    message = assert_error(speech(http, {"model": "tts-1", "plan": plan}), 400, param="plan")
    assert "segment 0" in message and "pitch_mean" in message and "800" in message
    assert_error(speech(http, {"model": "tts-1", "plan": {"segments": "x"}}), 400, param="plan")
    assert_error(speech(http, {"model": "tts-1", "plan": [{"word": "Hi."}], "instructions": "sadly"}), 400,
                 param="instructions")


def test_markup_errors_and_unspeakable_text_are_400(http):
    assert_error(speech(http, {"model": "tts-1", "input": "<speak><prosody rate='slow'>hi</speak>"}), 400,
                 param="input", needle="SSML error")
    assert_error(speech(http, {"model": "tts-1", "input": "<break time='1s'/>"}), 400, param="input")


def test_ssml_bombs_are_refused_fast_and_the_server_survives(http):
    start = time.monotonic()
    deep = "<speak>" + '<prosody pitch="+1st">' * 30 + "hi there" + "</prosody>" * 30 + "</speak>"
    assert_error(speech(http, {"model": "tts-1", "input": deep}), 400, param="input", needle="semitones")
    nested = "<emphasis>" * 45 + "hi" + "</emphasis>" * 45  # deep but harmless
    r = speech(http, {"model": "tts-1", "input": nested, "response_format": "wav"})
    assert r.status_code == 200 and r.content[:4] == b"RIFF"
    huge_break = 'Wait <break time="99999999999999999999999999999999s"/> for it.'
    assert_error(speech(http, {"model": "tts-1", "input": huge_break}), 400, param="input", needle="0 to 10 s")
    many_breaks = "Go " + '<break time="10s"/> go ' * 14
    message = assert_error(speech(http, {"model": "tts-1", "input": many_breaks}), 400, "limit_exceeded", "input")
    assert "at most 120 s" in message
    slow = {"model": "tts-1", "input": "word " * 150, "speed": 0.25}  # about 36 s at speed 1, 4 x that at 0.25
    assert_error(speech(http, slow), 400, "limit_exceeded")
    assert time.monotonic() - start < 30
    assert http.get("/health").json()["status"] == "ok"


def test_unknown_routes_and_methods_use_the_error_shape(http):
    assert_error(http.get("/v1/nothing"), 404, "not_found")
    assert_error(http.get("/v1/audio/speech"), 405)


def test_internal_errors_are_500_without_details(pipelines):
    """Failure injection: a synthesizer that raises an unexpected error inside the worker."""
    from baton.pipeline import Pipeline

    class Broken:
        def __init__(self, real):
            self.voice_id, self.sample_rate, self.baseline = real.voice_id, real.sample_rate, real.baseline

        def synthesize(self, segments, seed=None):
            raise KeyError("secret internal detail")

    real = next(iter(pipelines.values()))
    broken = {"ljspeech": Pipeline(real.conductor, Broken(real.synthesizer))}
    with BackgroundServer(create_app(CONFIG, broken)) as srv:
        r = httpx.post(srv.base_url + "/v1/audio/speech", json={"model": "tts-1", "input": "Hi."}, timeout=60)
        message = assert_error(r, 500, "internal_error")
        assert "secret" not in message and "KeyError" not in message
        assert httpx.get(srv.base_url + "/health").status_code == 200


def test_cors_is_off_by_default(http):
    r = http.options("/v1/audio/speech", headers={"Origin": "http://evil.example",
                                                  "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers
    r = http.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_request_timeout_is_504_and_frees_the_worker(pipelines):
    from dataclasses import replace

    app = create_app(replace(CONFIG, request_timeout_s=0.5), pipelines)
    with BackgroundServer(app) as srv:
        text = "This sentence takes longer than half a second to render. " * 4
        r = httpx.post(srv.base_url + "/v1/audio/speech", timeout=60,
                       json={"model": "tts-1", "input": text, "response_format": "wav"})
        assert_error(r, 504, "timeout")
        deadline = time.monotonic() + 20
        while app.state.baton.pool.stats()["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = app.state.baton.pool.stats()
        assert stats["running"] == 0 and stats["completed"] == 0


def test_cors_when_an_origin_is_allowed(pipelines):
    from dataclasses import replace

    config = replace(CONFIG, cors_origins=("http://app.example",), api_key="k")
    with BackgroundServer(create_app(config, pipelines)) as srv:
        r = httpx.options(srv.base_url + "/v1/audio/speech", headers={
            "Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://app.example"
        r = httpx.get(srv.base_url + "/v1/models", headers={"Origin": "http://app.example"})  # no key
        assert r.status_code == 401 and r.headers["access-control-allow-origin"] == "http://app.example"
        r = httpx.get(srv.base_url + "/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_unreachable_llm_conductor_is_502(pipelines):
    """--conductor openai with nothing listening at its endpoint: 502 with the conductor's one-line reason."""
    import socket

    from baton.conductors import get_conductor
    from baton.pipeline import Pipeline

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conductor = get_conductor("openai", base_url=f"http://127.0.0.1:{port}/v1", model="none", retries=0)
    real = next(iter(pipelines.values()))
    with BackgroundServer(create_app(CONFIG, {"ljspeech": Pipeline(conductor, real.synthesizer)})) as srv:
        r = httpx.post(srv.base_url + "/v1/plan", json={"input": "Hello there.", "instructions": "sadly"}, timeout=60)
        message = assert_error(r, 502, "upstream_error", needle="unreachable")
        assert r.json()["error"]["type"] == "server_error" and "conductor" in message
        r = httpx.post(srv.base_url + "/v1/audio/speech", timeout=60,
                       json={"model": "tts-1", "input": "Hello there.", "instructions": "sadly"})
        assert_error(r, 502, "upstream_error")

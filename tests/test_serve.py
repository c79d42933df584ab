"""baton serve end to end: the official openai client and httpx against a real uvicorn on 127.0.0.1.

The shipped voice is loaded once for the module; every server here shares its pipelines.
"""

from __future__ import annotations

import base64
import io
import json
import time

import httpx
import numpy as np
import pytest
import soundfile

openai = pytest.importorskip("openai")

from baton.server.app import create_app  # noqa: E402
from baton.server.config import ServeConfig  # noqa: E402
from baton.server.main import BackgroundServer, load_pipelines  # noqa: E402

KEY = "test-key-123"
SENTENCES = ["This is the first sentence.", "Here is the second one.", "The third follows it.",
             "And this is the last."]


@pytest.fixture(scope="module")
def pipelines():
    return load_pipelines(ServeConfig(threads_per_worker=1))


@pytest.fixture(scope="module")
def server(pipelines):
    app = create_app(ServeConfig(api_key=KEY, workers=1, max_queue=4, threads_per_worker=1), pipelines)
    with BackgroundServer(app) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=KEY, max_retries=0, timeout=120)


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def _rms_db(audio: np.ndarray) -> float:
    return 20 * np.log10(float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))))


def _wait_idle(pool, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = pool.stats()
        if stats["running"] == 0 and stats["queued"] == 0:
            return stats
        time.sleep(0.05)
    raise AssertionError(f"the pool did not become idle: {pool.stats()}")


# ---------------------------------------------------------------------------------------------------------
def test_openai_client_gets_wav_and_mp3_with_the_instruction_applied(client, server):
    text = "I told you not to touch that!"
    neutral = client.audio.speech.create(model="tts-1", voice="ljspeech", input=text, response_format="wav",
                                         extra_body={"seed": 0})
    angry = client.audio.speech.create(model="tts-1", voice="ljspeech", input=text, response_format="wav",
                                       instructions="angrily", extra_body={"seed": 0})
    a, rate_a = soundfile.read(io.BytesIO(neutral.content), dtype="float32")
    b, rate_b = soundfile.read(io.BytesIO(angry.content), dtype="float32")
    assert rate_a == rate_b == 22050 and a.size > 0.8 * 22050 and b.size > 0.8 * 22050
    assert _rms_db(b) - _rms_db(a) > 4.0, "the angry rendering is not louder than the neutral one"

    mp3 = client.audio.speech.create(model="batonvoice", voice="ljspeech", input=text, response_format="mp3",
                                     instructions="angrily", extra_body={"seed": 0})
    assert mp3.response.headers["content-type"] == "audio/mpeg"
    c, rate_c = soundfile.read(io.BytesIO(mp3.content), dtype="float32")
    assert rate_c == 22050
    assert abs(c.size - b.size) / rate_c < 0.2  # the same speech, give or take the codec's padding
    assert abs(_rms_db(c) - _rms_db(b)) < 1.5

    # the plan the instruction produced differs from the neutral plan
    plans = [httpx.post(server.base_url + "/v1/plan", headers=_auth(), json={"input": text, **extra}).json()
             for extra in ({}, {"instructions": "angrily"})]
    energy = [[s["energy_rms"] for s in plan["segments"]] for plan in plans]
    assert [s["word"] for s in plans[0]["segments"]] == [s["word"] for s in plans[1]["segments"]]
    assert min(energy[1]) > max(energy[0])


def test_stream_first_bytes_arrive_before_the_text_is_rendered(client, server):
    pool = server.app.state.baton.pool
    _wait_idle(pool)
    arrivals = []
    with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="ljspeech", input=" ".join(SENTENCES), response_format="pcm",
            stream_format="audio") as response:
        assert response.headers["content-type"] == "audio/pcm"
        data = b""
        for chunk in response.iter_bytes():
            arrivals.append(time.monotonic())
            data += chunk
    stats = _wait_idle(pool)
    assert stats["completed"] >= 1
    assert arrivals[0] < pool.last_finished - 0.2, "the first bytes came only after rendering had ended"
    assert len(arrivals) > 1
    assert len(data) / 2 / 22050 > 3.0  # four sentences of 16-bit audio


def test_server_sent_events_carry_the_audio(server):
    body = {"model": "tts-1", "input": "Hello there.", "response_format": "pcm", "stream_format": "sse"}
    with httpx.stream("POST", server.base_url + "/v1/audio/speech", json=body, headers=_auth(), timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[len("data: "):]) for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1]["type"] == "speech.audio.done"
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta")
    assert len(pcm) / 2 / 22050 > 0.4


def test_client_disconnect_mid_stream_frees_the_worker(server):
    pool = server.app.state.baton.pool
    before = _wait_idle(pool)
    body = {"model": "tts-1", "input": " ".join(SENTENCES * 3), "response_format": "pcm"}
    with httpx.stream("POST", server.base_url + "/v1/audio/speech", json=body, headers=_auth(), timeout=60) as r:
        assert r.status_code == 200
        next(r.iter_bytes())  # audio is flowing; now hang up
    hung_up = time.monotonic()
    after = _wait_idle(pool, timeout_s=20)
    assert after["cancelled"] == before["cancelled"] + 1
    assert after["completed"] == before["completed"]
    assert pool.last_finished - hung_up < 8.0  # stopped after a sentence group, not after 12 sentences
    quick = httpx.post(server.base_url + "/v1/audio/speech", headers=_auth(), timeout=60,
                       json={"model": "tts-1", "input": "Still here.", "response_format": "wav"})
    assert quick.status_code == 200


def test_client_that_gives_up_on_a_whole_file_cancels_its_job(server):
    """A non-streamed response (whole WAV): the server notices the disconnect while it renders."""
    pool = server.app.state.baton.pool
    before = _wait_idle(pool)
    body = {"model": "tts-1", "input": " ".join(SENTENCES * 3), "response_format": "wav"}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.base_url + "/v1/audio/speech", json=body, headers=_auth(),
                   timeout=httpx.Timeout(30.0, read=1.0))
    after = _wait_idle(pool, timeout_s=20)
    assert after["cancelled"] == before["cancelled"] + 1 and after["completed"] == before["completed"]


def test_posted_plan_is_rendered_and_speed_scales_it(server):
    url = server.base_url + "/v1/audio/speech"
    plan = httpx.post(server.base_url + "/v1/plan", headers=_auth(), json={"input": "Hello there, my friend."}).json()
    durations = []
    for speed in (1.0, 2.0):
        r = httpx.post(url, headers=_auth(), timeout=60, json={"model": "tts-1", "plan": plan, "speed": speed,
                                                               "response_format": "wav", "seed": 1})
        assert r.status_code == 200, r.text
        audio, rate = soundfile.read(io.BytesIO(r.content), dtype="float32")
        durations.append(audio.size / rate)
    assert 0.35 < durations[1] / durations[0] < 0.65, durations
    edited = json.loads(json.dumps(plan))
    edited["segments"][0]["word"] = "Goodbye there,"
    r = httpx.post(url, headers=_auth(), json={"model": "tts-1", "input": "Hello there, my friend.", "plan": edited})
    assert r.status_code == 400 and r.json()["error"]["param"] == "plan"


def test_api_key_is_required_on_v1_but_not_on_health(server):
    bad = openai.OpenAI(base_url=server.base_url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.audio.speech.create(model="tts-1", voice="ljspeech", input="Hello.")
    r = httpx.get(server.base_url + "/v1/models")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(server.base_url + "/health").json()["status"] == "ok"
    models = httpx.get(server.base_url + "/v1/models", headers=_auth()).json()
    assert "batonvoice" in [m["id"] for m in models["data"]]
    voices = httpx.get(server.base_url + "/v1/audio/voices", headers=_auth()).json()["data"]
    assert voices[0]["id"] == "ljspeech" and voices[0]["default"] and voices[0]["sample_rate"] == 22050
    assert "/v1/audio/speech" in httpx.get(server.base_url + "/openapi.json").json()["paths"]


def test_past_capacity_the_server_answers_503_with_retry_after(pipelines):
    app = create_app(ServeConfig(workers=1, max_queue=0, threads_per_worker=1), pipelines)
    with BackgroundServer(app) as srv:
        body = {"model": "tts-1", "input": " ".join(SENTENCES * 3), "response_format": "pcm"}
        with httpx.stream("POST", srv.base_url + "/v1/audio/speech", json=body, timeout=60) as held:
            assert held.status_code == 200
            next(held.iter_bytes())  # the only worker is busy
            start = time.monotonic()
            r = httpx.post(srv.base_url + "/v1/audio/speech", json={"model": "tts-1", "input": "Hi."}, timeout=60)
            assert time.monotonic() - start < 5.0  # refused at once, not queued behind the 12 sentences
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "server_busy"
        client = openai.OpenAI(base_url=srv.base_url + "/v1", api_key="unused", max_retries=0)
        _wait_idle(app.state.baton.pool)
        assert client.audio.speech.create(model="tts-1", voice="ljspeech", input="Free again.",
                                          response_format="wav").content[:4] == b"RIFF"


@pytest.mark.slow  # starts a server process: 12-20 s on a shared 2-core box
def test_sigterm_lets_the_request_in_flight_finish_and_logs_no_text():
    """`baton serve` as a process: SIGTERM during a streamed response; the response completes, the process
    shuts down cleanly, and its log has the request's length but not its words."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen([sys.executable, "-m", "baton.cli", "serve", "--port", str(port), "--workers", "1",
                                "--threads-per-worker", "1", "--shutdown-timeout-s", "60"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        text = "Purple elephants dance quietly. " + " ".join(SENTENCES)
        body = {"model": "tts-1", "input": text, "response_format": "pcm"}
        with httpx.stream("POST", base + "/v1/audio/speech", json=body, timeout=120) as r:
            chunks = r.iter_bytes()
            data = next(chunks)
            process.send_signal(signal.SIGTERM)
            for chunk in chunks:
                data += chunk
        assert len(data) / 2 / 22050 > 3.5, "the stream was cut instead of finished"
        # uvicorn re-raises the signal once it has shut down cleanly: killed by SIGTERM, after a clean shutdown
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
        log = process.stdout.read().decode()
        assert "Application shutdown complete" in log and "Traceback" not in log
        assert f"speech: {len(text)} chars" in log
        assert "Purple" not in log and "elephants" not in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

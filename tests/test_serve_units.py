"""baton serve's parts without a server: encoders, the streaming resampler, speed, the worker pool, the CLI."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
import soundfile

from baton.conductors.llm_conductor import EndpointError
from baton.plan import Plan, PlanError, Segment
from baton.server import audio
from baton.server.app import _as_api_error
from baton.server.speech import LimitError
from baton.server.workers import Cancelled, DeadlineExceeded, Overloaded, ShuttingDown, WorkerPool
from plan_contract import UserError

SR = 22050


def _tone(seconds: float = 1.0, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _decode(name: str, data: bytes, sample_rate: int = SR) -> tuple[np.ndarray, int]:
    if name == "pcm":
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767.0, sample_rate
    return soundfile.read(io.BytesIO(data), dtype="float32")


@pytest.mark.parametrize("name", sorted(audio.FORMATS))
def test_whole_file_round_trip(name):
    fmt = audio.FORMATS[name]
    x = _tone(1.0)
    decoded, rate = _decode(name, audio.encode(x, SR, fmt))
    assert rate == audio.output_sample_rate(fmt, SR)
    assert abs(decoded.size / rate - 1.0) < 0.08, (name, decoded.size, rate)  # codecs pad a few ms
    rms = float(np.sqrt(np.mean(decoded ** 2)))
    assert abs(20 * np.log10(rms / 0.2121)) < 1.0, (name, rms)  # 0.3 amplitude sine: RMS 0.212, within 1 dB


@pytest.mark.parametrize("name", [n for n, f in sorted(audio.FORMATS.items()) if f.streamable])
def test_streamed_bytes_arrive_per_piece_and_decode(name):
    """Bytes come out while pieces go in (not all at close), and the concatenation decodes to the audio."""
    fmt = audio.FORMATS[name]
    encoder = audio.StreamEncoder(fmt, SR)
    pieces = [_tone(0.5, 200.0 + 40 * i) for i in range(6)]
    out = [encoder.write(p) for p in pieces]
    tail = encoder.close()
    assert sum(len(b) for b in out[:3]) > 0, f"{name}: nothing was sent after 1.5 s of audio"
    decoded, rate = _decode(name, b"".join(out) + tail)
    assert abs(decoded.size / rate - 3.0) < 0.15, (name, decoded.size / rate)


def test_streamed_wav_uses_the_unknown_length_header():
    encoder = audio.StreamEncoder(audio.FORMATS["wav"], SR)
    data = encoder.write(_tone(0.2)) + encoder.close()
    assert data[:4] == b"RIFF" and data[4:8] == b"\xff\xff\xff\xff"
    assert data[:44] == audio.wav_stream_header(SR)


def test_streaming_resampler_equals_resampling_at_once():
    from scipy.signal import resample_poly

    x = np.random.default_rng(0).normal(0, 0.1, SR * 2).astype(np.float32)
    resampler, parts, i = audio.Resampler22to24(), [], 0
    for size in np.random.default_rng(1).integers(1, 4000, size=100):
        parts.append(resampler.write(x[i:i + size]))
        i += size
        if i >= x.size:
            break
    parts.append(resampler.write(x[i:]))
    parts.append(resampler.flush())
    streamed = np.concatenate(parts)
    whole = resample_poly(x, 160, 147)
    assert streamed.size == whole.size
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


# ---------------------------------------------------------------------------------------------------------
def _planner():
    from baton.conductors import get_conductor
    from baton.pipeline import Pipeline

    return Pipeline(get_conductor("embedded"), None)


def test_speed_divides_durations_and_pauses():
    from baton.server.speech import apply_speed

    pipe = _planner()
    plan = Plan.from_segments([Segment("Hello there,", duration=0.8, pause_after=0.3), Segment("my friend.")])
    assert apply_speed(plan, 1.0, pipe) is plan
    fast = apply_speed(plan, 2.0, pipe)
    assert fast.segments[0].duration == pytest.approx(0.4, rel=1e-3)
    assert fast.segments[0].pause_after == pytest.approx(0.15, rel=1e-3)
    # a duration left to the model is set from the voice's median rate first (2 syllables here)
    assert fast.segments[1].duration == pytest.approx(2 / pipe.baseline.speaking_rate_sps / 2.0, rel=1e-2)
    assert fast.segments[1].pause_after is None  # a predicted pause stays predicted


def test_speed_clamps_to_what_the_voice_renders():
    from baton.pipeline import check_renderable
    from baton.server.speech import apply_speed

    pipe = _planner()
    plan = Plan.from_segments([Segment("Hello there, my good friend.", duration=1.0)])
    for speed in (0.25, 4.0):
        scaled = apply_speed(plan, speed, pipe)
        check_renderable(scaled, pipe.baseline, pipe.limits)  # would raise if out of the voice's range
    assert apply_speed(plan, 4.0, pipe).segments[0].duration > 0.25  # clamped: 4x of an already fast rate


# ---------------------------------------------------------------------------------------------------------
def test_pool_refuses_past_capacity_with_retry_after_and_frees_on_cancel():
    pool = WorkerPool(workers=1, max_queue=1)
    release = threading.Event()

    def hold(ticket):
        while not release.is_set():
            ticket.check()
            time.sleep(0.01)

    first, f1 = pool.submit(hold, 30)
    second, f2 = pool.submit(hold, 30)
    with pytest.raises(Overloaded) as info:
        pool.submit(hold, 30)
    assert 1 <= info.value.retry_after_s <= 120
    assert pool.stats()["rejected"] == 1 and pool.stats()["queued"] == 1
    first.cancel()
    with pytest.raises(Cancelled):
        f1.result(timeout=5)
    release.set()
    f2.result(timeout=5)
    stats = pool.stats()
    assert (stats["running"], stats["queued"], stats["cancelled"], stats["completed"]) == (0, 0, 1, 1)
    pool.close()
    with pytest.raises(ShuttingDown):
        pool.submit(hold, 30)


def test_pool_future_holds_the_result_or_the_error():
    pool = WorkerPool(workers=1, max_queue=0)
    assert pool.submit(lambda ticket: 42, 5)[1].result(timeout=5) == 42
    _, failing = pool.submit(lambda ticket: 1 / 0, 5)
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=5)
    assert pool.stats()["completed"] == 1 and pool.stats()["failed"] == 1
    pool.close()


def test_pool_deadline_stops_work():
    pool = WorkerPool(workers=1, max_queue=0)

    def forever(ticket):
        while True:
            ticket.check()
            time.sleep(0.01)

    _, future = pool.submit(forever, 0.2)
    with pytest.raises(DeadlineExceeded):
        future.result(timeout=5)
    assert pool.stats()["timed_out"] == 1
    pool.close()


def test_close_cancels_running_and_queued_work():
    pool = WorkerPool(workers=1, max_queue=2)

    def forever(ticket):
        while True:
            ticket.check()
            time.sleep(0.01)

    futures = [pool.submit(forever, 60)[1] for _ in range(3)]
    time.sleep(0.1)
    start = time.monotonic()
    pool.close(cancel=True)
    assert time.monotonic() - start < 5
    assert all(f.done() for f in futures)
    assert pool.stats()["running"] == 0 and pool.stats()["queued"] == 0


# ---------------------------------------------------------------------------------------------------------
def test_serve_help_and_bad_options(capsys):
    from baton.cli import main

    with pytest.raises(SystemExit) as info:
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    for flag in ("--port", "--workers", "--max-queue", "--api-key", "--cors-origin", "--request-timeout-s"):
        assert flag in out
    assert main(["serve", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("baton: error: serve option 'workers'") and "Traceback" not in err
    assert main(["serve", "--llm-model", "x"]) == 2
    assert "--llm-model needs an LLM conductor" in capsys.readouterr().err


def test_api_key_from_the_environment(monkeypatch):
    from baton.cli import build_parser
    from baton.server.config import config_from_args

    monkeypatch.setenv("BATON_API_KEY", "from-env")
    assert config_from_args(build_parser().parse_args(["serve"])).api_key == "from-env"
    assert config_from_args(build_parser().parse_args(["serve", "--api-key", "flag"])).api_key == "flag"
    monkeypatch.delenv("BATON_API_KEY")
    config = config_from_args(build_parser().parse_args(["serve"]))
    assert config.api_key is None and config.cors_origins == () and not config.log_text


class _NewUserError(UserError, RuntimeError):
    """A user error that the server names nowhere: 400 by its base class alone."""


@pytest.mark.parametrize("error, status, code", [
    (_NewUserError("the thing is wrong; give another"), 400, "invalid_value"),
    (PlanError("value 5000 Hz is out of range", segment=0, field_name="pitch_mean"), 400, "invalid_value"),
    (LimitError("input is 5000 characters; at most 4096", param="input"), 400, "limit_exceeded"),
    (EndpointError("http://localhost:1/v1 is unreachable"), 502, "upstream_error"),
    (ValueError("math domain error"), 500, "internal_error"),
    (KeyError("pitch_mean"), 500, "internal_error"),
])
def test_render_errors_map_to_http_by_class(error, status, code):
    api = _as_api_error(error, "input")
    assert (api.status, api.code) == (status, code)
    if status == 500:
        assert str(error) not in api.message  # a bug's details stay in the server log

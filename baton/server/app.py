"""The FastAPI application: OpenAI's speech API plus the plan, over loaded :class:`baton.Pipeline` objects.

Routes: ``POST /v1/audio/speech``, ``POST /v1/plan``, ``GET /v1/models``, ``GET /v1/audio/voices``,
``GET /health``, and the OpenAPI docs at ``/docs`` (schema ``/openapi.json``). docs/serve.md explains the
design; rendering happens on :class:`baton.server.workers.WorkerPool` threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton import __version__
from baton.conductors.llm_conductor import EndpointError
from baton.pipeline import Pipeline
from baton.server.audio import FORMATS, StreamEncoder, available_formats, encode
from baton.server.config import MODEL_ID, OPENAI_MODEL_ALIASES, OPENAI_VOICE_ALIASES, ServeConfig
from baton.server.middleware import ServingMiddleware
from baton.server.schemas import ApiError, PlanRequest, SpeechRequest, VoiceRef, validation_error
from baton.server.speech import LimitError, SpeechJob, render
from baton.server.workers import Overloaded, ShuttingDown, Ticket, WorkerPool
from plan_contract import UserError

LOGGER = logging.getLogger("baton.server")
STREAMED_BY_DEFAULT = ("pcm", "mp3", "opus")
"""Formats streamed when stream_format is absent (no length header to get wrong); wav/flac come whole."""


class ClientGone(Exception):
    """The client closed the connection before the response; its job was cancelled."""


@dataclass
class ServerState:
    """What every request shares: the config, one Pipeline per served voice, the worker pool."""

    config: ServeConfig
    pipelines: dict[str, Pipeline]
    """voice id -> Pipeline; the first is the default voice."""
    pool: WorkerPool
    formats: dict = field(default_factory=available_formats)
    draining: bool = False
    """Set on SIGTERM/SIGINT: /health answers 503 so load balancers stop sending work."""

    @property
    def default_voice(self) -> str:
        return next(iter(self.pipelines))

    def pipeline(self, voice: str | VoiceRef | None) -> Pipeline:
        name = voice.id if isinstance(voice, VoiceRef) else voice
        if name is None or name == "" or (name in OPENAI_VOICE_ALIASES and name not in self.pipelines):
            return self.pipelines[self.default_voice]
        if name not in self.pipelines:
            raise ApiError(400, f"voice '{name}' is not served here; valid: {', '.join(self.pipelines)} "
                           "(GET /v1/audio/voices)", param="voice", code="voice_not_found")
        return self.pipelines[name]


def create_app(config: ServeConfig, pipelines: dict[str, Pipeline], pool: WorkerPool | None = None) -> FastAPI:
    """The ASGI app over already loaded pipelines (load them with baton.server.main.load_pipelines)."""
    if not pipelines:
        raise ValueError("create_app needs at least one loaded pipeline")
    state = ServerState(config, dict(pipelines), pool or WorkerPool(config.workers, config.max_queue))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # uvicorn has let in-flight requests finish (or run out of shutdown time): stop what is left.
        await asyncio.to_thread(state.pool.close, True)

    app = FastAPI(title="BatonVoice speech server", version=__version__, lifespan=lifespan,
                  description="OpenAI-compatible speech synthesis with an editable prosody plan. "
                  "Errors are {\"error\": {\"message\", \"type\", \"param\", \"code\"}}.")
    app.state.baton = state
    _add_error_handlers(app)
    _add_routes(app, state)
    app.add_middleware(ServingMiddleware, api_key=config.api_key, max_body_bytes=config.max_body_bytes)
    if config.cors_origins:  # added last = outermost, so 401 and 413 answers carry CORS headers too
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"],
                           expose_headers=["X-Baton-Seed", "X-Request-Id"])
    return app


# ---------------------------------------------------------------------------------------------------------
def _error_response(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return _error_response(err)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        model = {"/v1/audio/speech": SpeechRequest, "/v1/plan": PlanRequest}.get(request.url.path)
        return _error_response(validation_error(list(err.errors()), model))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        messages = {404: f"no route {request.url.path}; see /docs for the API",
                    405: f"method {request.method} is not allowed on {request.url.path}; see /docs"}
        return _error_response(ApiError(err.status_code, messages.get(err.status_code, str(err.detail)),
                                        code="not_found" if err.status_code == 404 else None))

    @app.exception_handler(ClientGone)
    async def client_gone(request: Request, err: ClientGone) -> JSONResponse:  # nobody reads it; for the log
        return _error_response(ApiError(499, str(err), code="client_closed_request"))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id", "?")
        LOGGER.error("%s internal error %s", request_id, type(err).__name__)
        return _error_response(ApiError(500, f"internal error (request {request_id}); the server log has the "
                                        "error type", type="server_error", code="internal_error"))


def _as_api_error(err: BaseException, param: str | None) -> ApiError:
    """Map what a worker raised to an HTTP error (user errors 400, the LLM endpoint 502, the rest 500)."""
    if isinstance(err, EndpointError):  # a UserError too, but the request was fine: the upstream failed
        return ApiError(502, f"the conductor's LLM endpoint failed: {err}", type="server_error",
                        code="upstream_error")
    if isinstance(err, LimitError):
        return ApiError(400, str(err), param=err.param, code="limit_exceeded")
    if isinstance(err, UserError):  # its message is one line for the user (plan_contract.errors)
        return ApiError(400, str(err), param=param, code="invalid_value")
    LOGGER.error("render failed: %s", type(err).__name__)
    return ApiError(500, "internal error while rendering; the server log has the error type",
                    type="server_error", code="internal_error")


def _submit(state: ServerState, job: SpeechJob) -> tuple[Ticket, asyncio.Queue]:
    """Admit a speech job; its items arrive on the returned queue, ending with ("finished", None)."""
    loop = asyncio.get_running_loop()
    channel: asyncio.Queue = asyncio.Queue()

    def emit(item: tuple[str, Any]) -> None:
        loop.call_soon_threadsafe(channel.put_nowait, item)

    ticket, future = _admit(state, lambda t: render(job, t, emit))
    # Always a final item, also when shutdown cancels the job before it starts.
    future.add_done_callback(lambda f: loop.call_soon_threadsafe(channel.put_nowait, ("finished", None)))
    return ticket, channel


def _admit(state: ServerState, work: Any) -> tuple[Ticket, Any]:
    """pool.submit, with a full pool or a shutdown as 503 + Retry-After."""
    try:
        return state.pool.submit(work, state.config.request_timeout_s)
    except Overloaded as err:
        raise ApiError(503, f"{err} (all {state.pool.workers} workers busy, {state.pool.max_queue} waiting)",
                       type="server_error", code="server_busy",
                       headers={"Retry-After": str(err.retry_after_s)}) from None
    except ShuttingDown as err:
        raise ApiError(503, str(err), type="server_error", code="shutting_down",
                       headers={"Retry-After": "1"}) from None


async def _next(channel: asyncio.Queue, ticket: Ticket, request: Request | None) -> tuple[str, Any]:
    """The next item from the worker; cancels the job when the client is gone or the deadline passed."""
    while True:
        remaining = ticket.deadline - time.monotonic()
        if remaining <= 0:
            ticket.cancel()
            raise ApiError(504, "the request ran past this server's timeout; send a shorter text or retry",
                           type="server_error", code="timeout")
        try:
            return await asyncio.wait_for(channel.get(), timeout=min(0.25, remaining))
        except asyncio.TimeoutError:
            if request is not None and await request.is_disconnected():
                ticket.cancel()
                raise ClientGone("the client disconnected") from None


def _add_routes(app: FastAPI, state: ServerState) -> None:
    config = state.config

    @app.get("/health", summary="liveness and load (503 while draining)")
    async def health() -> JSONResponse:
        body = {"status": "draining" if state.draining else "ok", "version": __version__,
                "voices": list(state.pipelines), "pool": state.pool.stats()}
        return JSONResponse(body, status_code=503 if state.draining else 200)

    @app.get("/v1/models", summary="the served model (and OpenAI's names it answers to)")
    async def models() -> dict:
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "batonvoice"}
                for name in (MODEL_ID, *OPENAI_MODEL_ALIASES)]
        return {"object": "list", "data": data}

    @app.get("/v1/audio/voices", summary="the served voices with their neutral baselines")
    async def voices() -> dict:
        data = []
        for i, (voice_id, pipe) in enumerate(state.pipelines.items()):
            data.append({"id": voice_id, "object": "voice", "default": i == 0, "sample_rate": pipe.sample_rate,
                         "baseline": pipe.baseline.to_dict()})
        return {"object": "list", "data": data}

    @app.post("/v1/plan", summary="text + instruction -> the plan (edit it, post it back as 'plan')")
    async def make_plan(body: PlanRequest) -> JSONResponse:
        _check_input(body.input, config)
        pipe = state.pipeline(body.voice)
        # Planning goes through the same bounded pool as rendering: an LLM conductor can take seconds.
        ticket, future = _admit(state, lambda t: pipe.plan(body.input, body.instructions))
        try:
            plan = await asyncio.wait_for(asyncio.wrap_future(future), timeout=config.request_timeout_s)
        except asyncio.TimeoutError:
            ticket.cancel()
            raise ApiError(504, "planning ran past this server's timeout", type="server_error",
                           code="timeout") from None
        except Exception as err:  # noqa: BLE001  (mapped: user errors 400, the rest 500)
            raise _as_api_error(err, "input") from None
        return JSONResponse(plan.to_dict())

    @app.post("/v1/audio/speech", summary="OpenAI's speech endpoint (text or plan -> audio)",
              response_class=Response,
              responses={200: {"content": {f.media_type: {} for f in FORMATS.values()},
                               "description": "the audio; X-Baton-Seed holds the seed used"}})
    async def speech(body: SpeechRequest, request: Request) -> Response:
        fmt, streamed = _check_speech(body, state)
        pipe = state.pipeline(body.voice)
        seed = body.seed if body.seed is not None else random.SystemRandom().randrange(2**31)
        job = SpeechJob(pipeline=pipe, text=body.input, instruction=body.instructions, plan=body.plan,
                        speed=body.speed, seed=seed, max_segments=config.max_segments,
                        max_audio_s=config.max_audio_s, quick_start=streamed)
        request_id = request.scope.get("state", {}).get("request_id", "?")
        LOGGER.info("%s speech: %d chars%s, voice %s, %s, speed %g, %s%s", request_id, len(body.input or ""),
                    ", instructions" if body.instructions else "", pipe.voice_id, fmt.name, body.speed,
                    "plan given" if body.plan is not None else "planned",
                    f", text {body.input!r}, instructions {body.instructions!r}" if config.log_text else "")
        ticket, channel = _submit(state, job)
        try:
            kind, value = await _next(channel, ticket, request)  # the plan, or the error that stopped it
            if kind == "plan":
                kind, value = await _next(channel, ticket, request)  # the first audio piece
        except BaseException:
            ticket.cancel()
            raise
        if kind == "error":
            raise _as_api_error(value, "plan" if body.plan is not None else "input")
        if kind != "audio":  # the job ended without a word: it never started (deadline passed in the queue,
            ticket.cancel()   # or shutdown cancelled it)
            if time.monotonic() >= ticket.deadline:
                raise ApiError(504, "the request waited past this server's timeout; retry later", type="server_error",
                               code="timeout")
            raise ApiError(503, "the server is shutting down; retry on another replica", type="server_error",
                           code="shutting_down", headers={"Retry-After": "1"})
        headers = {"X-Baton-Seed": str(seed)}
        if not streamed:
            return await _whole(channel, ticket, request, value, pipe.sample_rate, fmt, headers)
        chunks = _stream(channel, ticket, value, pipe.sample_rate, fmt, body.stream_format == "sse", request_id)
        media = "text/event-stream" if body.stream_format == "sse" else fmt.media_type
        return StreamingResponse(chunks, media_type=media, headers={**headers, "Cache-Control": "no-store"})


def _check_input(text: str | None, config: ServeConfig) -> None:
    if text is not None and len(text) > config.max_input_chars:
        raise ApiError(400, f"input is {len(text)} characters; this server takes at most {config.max_input_chars}; "
                       "split the text into several requests", param="input", code="input_too_long")


def _check_speech(body: SpeechRequest, state: ServerState) -> tuple[Any, bool]:
    """Request checks that need no worker: model, input, format, streaming. Returns (format, streamed)."""
    if body.model not in (MODEL_ID, *OPENAI_MODEL_ALIASES):
        raise ApiError(400, f"model '{body.model}' is not served here; valid: {MODEL_ID} (or OpenAI's "
                       f"{', '.join(OPENAI_MODEL_ALIASES)})", param="model", code="model_not_found")
    if body.plan is None and (body.input is None or not body.input.strip()):
        raise ApiError(400, "missing required parameter 'input' (the text to speak), or give a 'plan'",
                       param="input", code="missing_required_parameter")
    if body.plan is not None and body.instructions:
        raise ApiError(400, "'instructions' has no effect with 'plan' (the plan already fixes the prosody); "
                       "drop one of them", param="instructions", code="invalid_value")
    _check_input(body.input, state.config)
    fmt = state.formats.get(body.response_format)
    if fmt is None:
        raise ApiError(400, f"response_format '{body.response_format}' cannot be written by this server's "
                       f"libsndfile; valid: {', '.join(state.formats)}", param="response_format",
                       code="invalid_value")
    streamed = body.stream_format is not None or fmt.name in STREAMED_BY_DEFAULT
    if streamed and not fmt.streamable:
        if body.stream_format is not None:
            raise ApiError(400, f"response_format '{fmt.name}' cannot be streamed (its header is written last); "
                           "use wav, pcm, mp3 or opus, or leave out stream_format", param="stream_format",
                           code="invalid_value")
        streamed = False
    return fmt, streamed


async def _whole(channel: asyncio.Queue, ticket: Ticket, request: Request, first: Any, sample_rate: int,
                 fmt: Any, headers: dict[str, str]) -> Response:
    import numpy as np

    pieces = [first]
    try:
        while True:
            kind, value = await _next(channel, ticket, request)
            if kind == "audio":
                pieces.append(value)
            elif kind == "error":
                raise _as_api_error(value, None)
            else:
                break
    except BaseException:
        ticket.cancel()
        raise
    audio = np.concatenate(pieces)
    data = await asyncio.to_thread(encode, audio, sample_rate, fmt)
    return Response(data, media_type=fmt.media_type, headers=headers)


async def _stream(channel: asyncio.Queue, ticket: Ticket, first: Any, sample_rate: int, fmt: Any, sse: bool,
                  request_id: str) -> AsyncIterator[bytes]:
    """Encoded audio as it is rendered. Cancelled by Starlette when the client disconnects: the finally
    cancels the ticket, so the worker stops after the current sentence group."""
    encoder = StreamEncoder(fmt, sample_rate)

    def frame(data: bytes) -> bytes:
        if not sse:
            return data
        event = {"type": "speech.audio.delta", "audio": base64.b64encode(data).decode("ascii")}
        return f"data: {json.dumps(event)}\n\n".encode()

    try:
        data = encoder.write(first)
        if data:
            yield frame(data)
        while True:
            try:
                kind, value = await _next(channel, ticket, None)
            except ApiError:  # deadline: the status line is sent already, so the stream just ends short
                LOGGER.warning("%s stream cut at the request timeout", request_id)
                return
            if kind == "audio":
                data = encoder.write(value)
                if data:
                    yield frame(data)
            elif kind == "error":
                LOGGER.warning("%s stream cut by a render error: %s", request_id, type(value).__name__)
                return
            else:
                break
        data = encoder.close()
        if data:
            yield frame(data)
        if sse:
            yield f"data: {json.dumps({'type': 'speech.audio.done'})}\n\n".encode()
    finally:
        ticket.cancel()

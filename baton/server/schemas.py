"""Request bodies of the speech server, and errors in OpenAI's shape.

Every error response is ``{"error": {"message", "type", "param", "code"}}`` with a 4xx/5xx status, a
one-line message that says what was wrong and what is valid, and never a traceback.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baton.server.audio import FORMATS

FormatName = Literal["mp3", "opus", "wav", "flac", "pcm"]
assert set(FormatName.__args__) == set(FORMATS)  # noqa: S101  (the Literal documents FORMATS in OpenAPI)


class VoiceRef(BaseModel):
    """OpenAI's custom-voice object form: ``{"id": "<voice id>"}``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: str


class SpeechRequest(BaseModel):
    """OpenAI's ``POST /v1/audio/speech`` body, plus ``plan`` and ``seed``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(description="'batonvoice' (OpenAI's tts-1, tts-1-hd and gpt-4o-mini-tts are accepted "
                       "as aliases); see GET /v1/models")
    input: str | None = Field(None, description="the text, up to --max-input-chars characters; may carry "
                              "BatonVoice markup: 'angrily: ...', [tags], *emphasis*, SSML. Required unless "
                              "'plan' is given (then, if given, it must match the plan's words)")
    voice: str | VoiceRef | None = Field(None, description="a served voice id (GET /v1/audio/voices); "
                                         "default: the server's first voice")
    instructions: str | None = Field(None, description="how to say it, free-form ('tired but trying to sound "
                                     "cheerful'); goes to the conductor")
    response_format: FormatName = Field("mp3", description="mp3 (default, as OpenAI), opus (Ogg, 24 kHz), "
                                        "wav, flac, pcm (16-bit little-endian mono at the voice's rate)")
    speed: float = Field(1.0, ge=0.25, le=4.0, description="0.25 to 4.0; divides every segment's duration "
                         "and pause (clamped to what the voice can render)")
    stream_format: Literal["audio", "sse"] | None = Field(
        None, description="'audio': chunked audio as each sentence is rendered (not flac); 'sse': server-sent "
        "events with base64 audio deltas. Absent: pcm, mp3 and opus stream, wav and flac come as whole files")
    plan: dict[str, Any] | list[Any] | None = Field(
        None, description="render this plan (the JSON of POST /v1/plan, edited) instead of asking the conductor")
    seed: int | None = Field(None, ge=0, lt=2**31, description="same seed, same audio; default: random (sent "
                             "back in the X-Baton-Seed header)")


class PlanRequest(BaseModel):
    """``POST /v1/plan``: text (+ instruction) -> the plan the conductor writes."""

    model_config = ConfigDict(extra="forbid", strict=True)

    input: str = Field(description="the text, with optional markup, as for /v1/audio/speech")
    instructions: str | None = Field(None, description="how to say it, free-form")
    voice: str | VoiceRef | None = Field(None, description="plan against this served voice's baseline")
    model: str | None = Field(None, description="ignored if given (accepted for symmetry with the speech body)")


class ApiError(Exception):
    """An HTTP error with an OpenAI-shaped body."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",  # noqa: A002
                 param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = " ".join(str(message).split())
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def validation_error(errors: list[dict[str, Any]], model: type[BaseModel] | None) -> ApiError:
    """The first pydantic/FastAPI validation error as a one-line 400."""
    if not errors:
        return ApiError(400, "the request body is not valid; send a JSON object (see /docs)")
    err = errors[0]
    kind = str(err.get("type", ""))
    loc = [str(p) for p in err.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    valid = ", ".join(model.model_fields) if model is not None else ""
    if kind == "json_invalid":
        where = err.get("ctx", {}).get("error", "")
        return ApiError(400, f"the request body is not valid JSON ({where}); send a JSON object like "
                        '{"model": "batonvoice", "input": "Hello."}', code="invalid_json")
    if param is None or kind in ("model_attributes_type", "dict_type", "model_type"):
        return ApiError(400, "the request body must be a JSON object with the fields " + valid,
                        code="invalid_body")
    if kind == "missing":
        return ApiError(400, f"missing required parameter '{param}'", param=param, code="missing_required_parameter")
    if kind == "extra_forbidden":
        return ApiError(400, f"unknown parameter '{param}'; valid: {valid}", param=param, code="unknown_parameter")
    value = err.get("input")
    shown = repr(value) if not isinstance(value, str) or len(value) <= 40 else repr(value[:40] + "...")
    message = str(err.get("msg", "invalid value"))
    return ApiError(400, f"invalid value {shown} for '{param}': {message}", param=param.split(".")[0],
                    code="invalid_type" if kind.endswith("_type") else "invalid_value")

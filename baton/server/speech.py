"""What one speech request does on a worker thread: plan (or take the posted plan), apply ``speed``, check
the request's size limits, and render with :meth:`baton.Pipeline.stream`. No stage of the pipeline is
re-implemented here; this module only adapts OpenAI's ``speed`` and the server's limits to a plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from baton.pipeline import Pipeline, count_syllables
from baton.plan import NUMERIC_FIELDS, Plan, load_plan
from baton.server.workers import Ticket
from plan_contract import UserError


class LimitError(UserError, ValueError):
    """A request within the API's syntax but beyond this server's limits (one line, says the limit)."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class SpeechJob:
    """One request's inputs, as validated by the HTTP layer."""

    pipeline: Pipeline
    text: str | None
    instruction: str | None
    plan: Any
    """The posted plan JSON (document or bare list), or None to ask the conductor."""
    speed: float
    seed: int
    max_segments: int
    max_audio_s: float
    quick_start: bool = False
    """Streamed responses: the first segment in several pieces, the first from a small vocoder window
    (Pipeline.stream(quick_start=True)), for a shorter time to first audio."""


def estimated_duration_s(plan: Plan, pipe: Pipeline) -> float:
    """Spoken time plus pauses of ``plan`` [s]: the plan's values, the voice's median rate and pause where a
    field is left to the model."""
    base = pipe.baseline
    total = 0.0
    for seg in plan.segments:
        spoken = seg.duration
        if spoken is None:
            spoken = sum(count_syllables(w) for w in seg.words) / base.speaking_rate_sps
        total += spoken + (seg.pause_after if seg.pause_after is not None else base.pause_s)
    return total


def apply_speed(plan: Plan, speed: float, pipe: Pipeline) -> Plan:
    """Divide every segment's duration and pause by ``speed`` (OpenAI's 0.25-4.0). A duration the plan leaves
    to the model is first set from the voice's median speaking rate. Results are clamped to what the voice
    renders (RenderLimits.rate_ratio) and to the plan contract's ranges, so speed 4.0 on fast speech gives
    the fastest renderable speech instead of an error. Predicted pauses (pause_after left out) stay as the
    model predicts them."""
    if speed == 1.0:
        return plan
    base, (lo_ratio, hi_ratio) = pipe.baseline, pipe.limits.rate_ratio
    dur_spec, pause_spec = NUMERIC_FIELDS["duration"], NUMERIC_FIELDS["pause_after"]
    segments = []
    for seg in plan.segments:
        syllables = sum(count_syllables(w) for w in seg.words)
        duration = seg.duration if seg.duration is not None else syllables / base.speaking_rate_sps
        shortest = max(syllables / (base.speaking_rate_sps * hi_ratio), dur_spec.minimum)
        longest = min(syllables / (base.speaking_rate_sps * lo_ratio), dur_spec.maximum)
        values: dict[str, float] = {"duration": min(max(duration / speed, shortest), longest)}
        if seg.pause_after is not None:
            values["pause_after"] = min(seg.pause_after / speed, pause_spec.maximum)
        segments.append(seg.with_values(**values))
    return plan.replace_segments(segments)


def prepare(job: SpeechJob) -> Plan:
    """The plan to render: the conductor's or the posted one, speed applied, limits checked. Raises
    PlanError / MarkupError / ConductorError / LimitError (all one-line user errors)."""
    pipe = job.pipeline
    if job.plan is None:
        plan = pipe.plan(job.text, job.instruction)
    else:
        plan = pipe.check_plan(load_plan(job.plan, voice=pipe.voice_id), job.text)
    if len(plan.segments) > job.max_segments:
        raise LimitError(f"the plan has {len(plan.segments)} segments; this server renders at most "
                         f"{job.max_segments} per request; split the text", "plan" if job.plan else "input")
    plan = apply_speed(plan, job.speed, pipe)
    pipe.check_plan(plan)
    seconds = estimated_duration_s(plan, pipe)
    if seconds > job.max_audio_s:
        raise LimitError(f"this request would make about {seconds:.0f} s of audio (pauses and breaks included); "
                         f"this server makes at most {job.max_audio_s:g} s per request; shorten the text, its "
                         "breaks or pauses, or raise the speed", "plan" if job.plan else "input")
    return plan


def render(job: SpeechJob, ticket: Ticket, emit: Callable[[tuple[str, Any]], None]) -> None:
    """Worker-thread body: emit ("plan", Plan), then ("audio", float32 array) per segment, then ("done", None);
    on any exception emit ("error", exc) instead and re-raise. Checks ``ticket`` between pieces."""
    try:
        plan = prepare(job)
        ticket.check()
        emit(("plan", plan))
        pieces = (job.pipeline.stream(plan=plan, seed=job.seed, quick_start=True) if job.quick_start
                  else job.pipeline.stream(plan=plan, seed=job.seed))
        try:
            for piece in pieces:
                ticket.check()
                emit(("audio", piece.audio))
        finally:
            pieces.close()
        emit(("done", None))
    except BaseException as err:
        emit(("error", err))
        raise

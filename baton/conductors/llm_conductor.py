"""The loop every LLM conductor runs: ask, repair, re-ask once, then fall back (or fail in one line).

1. Send the prompt (:mod:`baton.conductors.llm_prompt`).
2. Parse and repair the reply (:mod:`baton.conductors.llm_repair`); a valid plan ends here.
3. Otherwise re-ask once, with the validation error verbatim as a follow-up turn.
4. Still invalid: fall back to the embedded conductor with a warning on stderr (logger
   ``baton.conductors.llm``), or raise :class:`ConductorError` with one line, per the ``fallback`` policy.

Fallback policies (option ``fallback``):
* ``"output"`` (default): bad *output* (still invalid after the re-ask) falls back to the embedded
  conductor; an endpoint that cannot be used (unreachable, timing out, HTTP errors after retries, a model
  that cannot be loaded) is an error, because the user asked for that LLM and should hear that it is not
  there rather than silently get another conductor's plans.
* ``"always"``: every failure falls back, with the warning (for unattended batch jobs).
* ``"never"``: every failure is a :class:`ConductorError` (for evaluating an LLM on its own).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from baton.baseline import VoiceBaseline
from baton.conductors.base import Conductor, ConductorError
from baton.conductors.llm_prompt import build_messages, reask_message
from baton.conductors.llm_repair import repair_plan
from baton.plan import Plan

LOGGER = logging.getLogger("baton.conductors.llm")
FALLBACK_POLICIES = ("never", "output", "always")

Messages = list[dict[str, str]]
Complete = Callable[[Messages, str], str]
"""A backend: (chat messages in OpenAI format, the text being planned) -> the assistant's reply text.
Raises EndpointError when the backend cannot be used."""


class EndpointError(ConductorError):
    """The LLM backend could not be used (unreachable, timeout, HTTP error, model not loadable)."""


@dataclass(frozen=True)
class LLMReport:
    """How a plan came about; ``source`` is one of 'llm', 'llm-repaired', 'llm-reask', 'fallback'."""

    source: str
    attempts: int
    """Number of LLM replies received (0 when the endpoint failed before any reply)."""
    notes: tuple[str, ...] = ()
    """Repairs applied to the reply that was used."""
    errors: tuple[str, ...] = ()
    """Validation or endpoint errors met on the way, one line each."""
    replies: tuple[str, ...] = ()
    """The raw replies, for debugging prompts."""


def check_fallback(value: Any) -> str:
    """Normalise the ``fallback`` option; ``True``/``False`` mean 'always'/'never'."""
    if value is True:
        return "always"
    if value is False:
        return "never"
    if value not in FALLBACK_POLICIES:
        raise ConductorError(f"fallback={value!r} is not valid; valid: {', '.join(FALLBACK_POLICIES)}")
    return value


_EMBEDDED: Conductor | None = None
_EMBEDDED_LOCK = threading.Lock()


def embedded_conductor() -> Conductor:
    """The process-wide embedded conductor used as fallback (built on first use)."""
    global _EMBEDDED
    with _EMBEDDED_LOCK:
        if _EMBEDDED is None:
            from baton.conductors import get_conductor
            _EMBEDDED = get_conductor("embedded")
        return _EMBEDDED


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


class LLMPlanner:
    """Runs the ask / repair / re-ask / fall-back loop over a backend's ``complete`` function."""

    def __init__(self, name: str, complete: Complete, fallback: Any = "output",
                 fallback_conductor: Conductor | None = None, n_examples: int = 3):
        self.name = name
        self.complete = complete
        self.fallback = check_fallback(fallback)
        self.fallback_conductor = fallback_conductor
        self.n_examples = n_examples

    def plan(self, text: str, instruction: str | None, baseline: VoiceBaseline) -> tuple[Plan, LLMReport]:
        if not text or not text.strip():
            raise ConductorError(f"{self.name} conductor: the text is empty; pass the words to speak")
        messages = build_messages(text, instruction, baseline, n_examples=self.n_examples)
        replies: list[str] = []
        errors: list[str] = []
        try:
            for attempt in range(2):
                reply = self.complete(messages, text)
                replies.append(reply)
                outcome = repair_plan(reply, text)
                if outcome.plan is not None:
                    source = ("llm-reask" if attempt else "llm-repaired" if outcome.notes else "llm")
                    if outcome.notes:
                        LOGGER.info("%s conductor repaired its reply: %s", self.name, "; ".join(outcome.notes))
                    return outcome.plan, LLMReport(source, len(replies), outcome.notes, tuple(errors),
                                                   tuple(replies))
                errors.append(outcome.error or "invalid plan")
                messages = [*messages, {"role": "assistant", "content": reply}, reask_message(errors[-1])]
        except EndpointError as err:
            errors.append(_one_line(err))
            if self.fallback != "always":
                raise
            return self._fall_back(text, instruction, baseline, errors, replies,
                                   f"its endpoint failed ({errors[-1]})")
        reason = f"its plan was still invalid after one re-ask ({errors[-1]})"
        if self.fallback == "never":
            raise ConductorError(f"{self.name} conductor: {reason}; try a stronger model, or --conductor embedded")
        return self._fall_back(text, instruction, baseline, errors, replies, reason)

    def _fall_back(self, text: str, instruction: str | None, baseline: VoiceBaseline, errors: list[str],
                   replies: list[str], reason: str) -> tuple[Plan, LLMReport]:
        LOGGER.warning("warning: %s conductor: %s; using the embedded conductor's plan instead",
                       self.name, _one_line(reason))
        conductor = self.fallback_conductor or embedded_conductor()
        plan = conductor.plan(text, instruction, baseline)
        plan.check_text(text)
        return plan, LLMReport("fallback", len(replies), (), tuple(errors), tuple(replies))


class PlannerConductor:
    """The Conductor methods shared by the LLM conductors: plan through ``self._planner`` (an LLMPlanner) and
    keep the last report (what was asked, repaired, re-asked or fallen back) in ``self.last_report``."""

    _planner: LLMPlanner
    last_report: LLMReport | None = None

    def plan_with_report(self, text: str, instruction: str | None,
                         baseline: VoiceBaseline) -> tuple[Plan, LLMReport]:
        plan, report = self._planner.plan(text, instruction, baseline)
        self.last_report = report
        return plan, report

    def plan(self, text: str, instruction: str | None, baseline: VoiceBaseline) -> Plan:
        return self.plan_with_report(text, instruction, baseline)[0]


__all__ = ["PlannerConductor", "LLMPlanner", "LLMReport", "EndpointError", "Complete", "FALLBACK_POLICIES", "check_fallback",
           "embedded_conductor", "LOGGER"]

"""The conductor contract (ARCHITECTURE.md, Contract 2): instruction + text -> validated plan."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from baton.baseline import VoiceBaseline
from baton.plan import Plan
from plan_contract import UserError


class ConductorError(UserError, RuntimeError):
    """A conductor could not produce a plan. ``str(err)`` is one line naming the problem and the fix."""


@runtime_checkable
class Conductor(Protocol):
    """Writes a plan for ``text`` following ``instruction`` (free-form, may be empty) for a voice.

    Implementations must return plans whose segments reproduce ``text``'s words in order
    (``Plan.check_text``) and whose numbers are absolute values for this voice (Hz, linear RMS, s).
    """

    name: str

    def plan(self, text: str, instruction: str | None, baseline: VoiceBaseline) -> Plan: ...

"""The user-error base class, and the plan's own error.

Every error a user can fix by changing what they gave (text, plan, markup, a file, an option, a voice folder)
derives from :class:`UserError`, and ``str(err)`` is one line naming the problem and the fix. The front ends
(the ``baton`` CLI, the eval runner, ``baton serve``, the demo) tell a user error from a bug with
``isinstance(err, UserError)``: a user error is shown as its one line, anything else is reported as a bug.

Subclasses keep their other bases (``ValueError``, ``RuntimeError``, ``OSError``), so existing
``except ValueError`` clauses still catch them.
"""

from __future__ import annotations


class UserError(Exception):
    """An error in what the user gave, not in the code. ``str(err)`` is one line: the problem and the fix."""


class PlanError(UserError, ValueError):
    """A plan that does not satisfy the contract. ``str(err)`` is a single line meant for users."""

    def __init__(self, message: str, *, segment: int | None = None, field_name: str | None = None):
        where = []
        if segment is not None:
            where.append(f"segment {segment}")
        if field_name is not None:
            where.append(f"field '{field_name}'")
        prefix = f"plan {', '.join(where)}: " if where else "plan: "
        super().__init__(prefix + message)
        self.segment = segment
        self.field_name = field_name


__all__ = ["UserError", "PlanError"]

"""Problems found in a workflow definition: what, how bad, and where."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """Whether a problem blocks publishing (error) or only deserves a look (warning)."""

    error = "error"
    warning = "warning"


#: Every problem code of DESIGN.md section 5, in the order problems are reported.
CODES: Mapping[str, Severity] = {
    "schema": Severity.error,
    "duplicate_stage": Severity.error,
    "unknown_stage": Severity.error,
    "no_start": Severity.error,
    "multiple_starts": Severity.error,
    "no_terminal": Severity.error,
    "unreachable_stage": Severity.error,
    "dead_end": Severity.error,
    "trap_cycle": Severity.error,
    "no_path_to_terminal": Severity.error,
    "terminal_has_exit": Severity.error,
    "self_loop": Severity.error,
    "duplicate_transition": Severity.error,
    "unknown_agency_type": Severity.error,
    "invalid_duration": Severity.error,
    "reminder_not_before_deadline": Severity.error,
    "loop": Severity.warning,
    "no_response_deadline": Severity.warning,
    "no_agency_for_stage": Severity.warning,
    "missing_translation": Severity.warning,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition; ``message`` is ``template % params`` in English."""

    code: str
    severity: Severity
    message: str
    stages: tuple[str, ...] = ()
    #: ``{"from": ..., "to": ...}`` when the problem concerns one transition.
    transition: Mapping[str, str] | None = field(default=None, hash=False)
    #: The untranslated template, marked with ``N_``; the service shows ``gettext(template) % params``.
    template: str = ""
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def is_error(self) -> bool:
        """Return whether this problem blocks publishing."""
        return self.severity is Severity.error

    def as_dict(self) -> dict[str, Any]:
        """Return the problem as the JSON object of DESIGN.md section 5."""
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "stages": list(self.stages),
            "transition": dict(self.transition) if self.transition is not None else None,
        }


def make_problem(
    code: str,
    template: str,
    params: Mapping[str, Any] | None = None,
    *,
    stages: Iterable[str] = (),
    transition: tuple[str, str] | None = None,
) -> Problem:
    """Build a Problem of a known code; raise KeyError for an unknown code."""
    params = dict(params or {})
    return Problem(
        code=code,
        severity=CODES[code],
        message=template % params if params else template,
        stages=tuple(sorted(set(stages))),
        transition={"from": transition[0], "to": transition[1]} if transition else None,
        template=template,
        params=params,
    )


def is_valid(problems: Iterable[Problem]) -> bool:
    """Return whether none of the problems is an error."""
    return not any(problem.severity is Severity.error for problem in problems)

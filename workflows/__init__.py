"""Where a case may go: the workflow definition format, its validation and layout.

Pure Python over plain data; no Flask, no database.
"""

from .diff import DefinitionDiff, FieldChange, StageChange, TransitionChange, diff
from .durations import (
    DEFAULT_TIMEZONE,
    RISK_LEVELS,
    Duration,
    DurationError,
    DurationSpec,
    WorkingCalendar,
    is_working_day,
    parse_duration,
    shift_working_days,
)
from .format import load_definition
from .i18n import N_
from .layout import EdgePath, Layout, NodeBox, layout
from .model import (
    AGENCY_TYPES,
    GUARDS,
    KEY_MAX_LENGTH,
    TRANSLATED_LANGUAGES,
    Definition,
    Mode,
    OnTimeout,
    Stage,
    Transition,
)
from .parsing import load_document, parse_document
from .problems import CODES, Problem, Severity, is_valid
from .validation import validate

__all__ = [
    "AGENCY_TYPES",
    "CODES",
    "DEFAULT_TIMEZONE",
    "GUARDS",
    "KEY_MAX_LENGTH",
    "N_",
    "RISK_LEVELS",
    "TRANSLATED_LANGUAGES",
    "Definition",
    "DefinitionDiff",
    "Duration",
    "DurationError",
    "DurationSpec",
    "EdgePath",
    "FieldChange",
    "Layout",
    "Mode",
    "NodeBox",
    "OnTimeout",
    "Problem",
    "Severity",
    "Stage",
    "StageChange",
    "Transition",
    "TransitionChange",
    "WorkingCalendar",
    "diff",
    "is_valid",
    "is_working_day",
    "layout",
    "load_definition",
    "load_document",
    "parse_document",
    "parse_duration",
    "shift_working_days",
    "validate",
]

"""The designer's structured view: a definition document as table rows and back, and problems placed by row.

The rows hold only what the tables show; every other field of a stage, a
transition or the document (description, review_every, unknown extensions)
rides along in a hidden JSON field so that editing in the tables loses nothing.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from workflows import RISK_LEVELS, TRANSLATED_LANGUAGES, Problem

from .service import problem_dicts

#: Translations (``name_ru``...) come right after the field they translate, not at the end of the text.
_NAMES = tuple(f"name_{language}" for language in TRANSLATED_LANGUAGES)
STAGE_FIELDS = ("key", "name", *_NAMES, "description", "agency_type", "start", "terminal", "respond_within",
                "complete_within", "review_every", "reminders", "on_timeout")
TRANSITION_FIELDS = ("from", "to", "label", *(f"label_{language}" for language in TRANSLATED_LANGUAGES),
                     "mode", "requires", "return")
TOP_FIELDS = ("key", "name", *_NAMES, "description", "calendar", "stages", "transitions")
#: Stage fields edited in the tables; the others are kept in the row's hidden ``rest``.
_LABELS = tuple(f"label_{language}" for language in TRANSLATED_LANGUAGES)
#: The translations are shown in the tables and also kept in ``rest``, so that a post without them keeps them.
STAGE_TABLE_FIELDS = frozenset({"key", "name", "agency_type", "start", "terminal", "respond_within",
                                "complete_within", "reminders", "on_timeout"})
TRANSITION_TABLE_FIELDS = frozenset({"from", "to", "label", "mode", "requires", "return"})
TOP_TABLE_FIELDS = frozenset({"key", "name", "description", "calendar", "stages", "transitions"})

_ROW_PATH = re.compile(r"^(stages|transitions)\[(\d+)\]")

#: The units a duration is chosen in, with the ISO 8601 form (or phrase) each is stored as.
DURATION_UNITS = {
    "minutes": "PT{}M",
    "hours": "PT{}H",
    "days": "P{}D",
    "working_days": "{} working days",
    "weeks": "P{}W",
    "months": "P{}M",
}
_UNIT_OF = [(re.compile(r"^PT(\d+)M$"), "minutes"), (re.compile(r"^PT(\d+)H$"), "hours"),
            (re.compile(r"^P(\d+)D$"), "days"), (re.compile(r"^(\d+) working days?$"), "working_days"),
            (re.compile(r"^P(\d+)W$"), "weeks"), (re.compile(r"^P(\d+)M$"), "months")]


def duration_parts(text: str, unit: str = "days") -> dict[str, str] | None:
    """Return a duration text as the editor's number and unit, or None when it is not one whole number of a unit.

    An empty text is an empty number in ``unit``; ``P1DT12H`` or a typo has no number and unit, and the
    editor shows it as text to correct.
    """
    cleaned = text.strip()
    if not cleaned:
        return {"amount": "", "unit": unit}
    for pattern, name in _UNIT_OF:
        match = pattern.match(cleaned if name == "working_days" else cleaned.upper())
        if match and int(match.group(1)) > 0:
            return {"amount": str(int(match.group(1))), "unit": name}
    return None


def duration_text(amount: str, unit: str) -> str | None:
    """Return the stored form of a number and a unit (``3`` days is ``P3D``); None for no number.

    What is not a whole number is passed on as typed, so that the check says it is not a duration.
    """
    amount = amount.strip()
    if not amount:
        return None
    if not amount.isdigit() or unit not in DURATION_UNITS:
        return f"{amount} {unit}".strip()
    return DURATION_UNITS[unit].format(int(amount))


def starter_document(key: str, name: str) -> dict[str, Any]:
    """Return a small valid workflow to start a new one from: registration, support, closed."""
    return {
        "key": key,
        "name": name,
        "stages": [
            {"key": "registration", "name": _("Registration"), "agency_type": "social", "start": True,
             "complete_within": "P3D", "reminders": ["PT4H"]},
            {"key": "support", "name": _("Support"), "agency_type": "social", "respond_within": "PT24H",
             "complete_within": {"high": "P7D", "medium": "P14D", "low": "P30D"}, "reminders": ["PT4H"]},
            {"key": "closed", "name": _("Case closed"), "agency_type": "social", "terminal": True,
             "respond_within": "P5D"},
        ],
        "transitions": [
            {"from": "registration", "to": "support", "label": _("Refer for support")},
            {"from": "support", "to": "closed", "label": _("Close the case")},
        ],
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


def _cell(text: str, unit: str) -> dict[str, Any]:
    return {"text": text, "parts": duration_parts(text, unit)}


def _spec_cells(value: Any, unit: str = "days") -> dict[str, dict[str, Any]]:
    """Return a deadline as the editor's cells: one for every case and one per risk level."""
    if isinstance(value, Mapping):
        return {"single": _cell("", unit), **{level: _cell(_text(value.get(level)), unit) for level in RISK_LEVELS}}
    return {"single": _cell(_text(value), unit), **{level: _cell("", unit) for level in RISK_LEVELS}}


def _reminder_cells(value: Any) -> list[dict[str, str]] | None:
    """Return reminders as number-and-unit cells with an empty one to add, or None when one is not of that form."""
    texts = [_text(item) for item in value] if isinstance(value, list) else ([_text(value)] if value else [])
    cells = [duration_parts(text, "hours") for text in texts]
    if any(cell is None for cell in cells):
        return None
    return [*cells, {"amount": "", "unit": "hours"}]


def _rest(item: Mapping[Any, Any], shown: frozenset[str]) -> str:
    rest = {str(name): value for name, value in item.items() if name not in shown}
    return json.dumps(rest, ensure_ascii=False) if rest else ""


def _list_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    return _text(value)


def table_rows(document: Any) -> dict[str, Any] | None:
    """Return the document as the editor's tables, or None when its shape cannot be shown in them."""
    if not isinstance(document, Mapping):
        return None
    stages, transitions = document.get("stages", []), document.get("transitions") or []
    if not isinstance(stages, list) or not isinstance(transitions, list):
        return None
    if not all(isinstance(item, Mapping) for item in [*stages, *transitions]):
        return None
    return {
        "key": _text(document.get("key")),
        "name": _text(document.get("name")),
        **{name: _text(document.get(name)) for name in _NAMES},
        "description": _text(document.get("description")),
        "calendar": _text(document.get("calendar")),
        "rest": _rest(document, TOP_TABLE_FIELDS),
        "stages": [
            {
                "key": _text(stage.get("key")),
                "name": _text(stage.get("name")),
                **{name: _text(stage.get(name)) for name in _NAMES},
                "agency_type": _text(stage.get("agency_type")),
                "start": stage.get("start") is True,
                "terminal": stage.get("terminal") is True,
                "respond_within": _spec_cells(stage.get("respond_within"), "hours"),
                "complete_within": _spec_cells(stage.get("complete_within"), "days"),
                "reminders": _list_text(stage.get("reminders")),
                "reminder_cells": _reminder_cells(stage.get("reminders")),
                "on_timeout": _text(stage.get("on_timeout")) or "escalate",
                "rest": _rest(stage, STAGE_TABLE_FIELDS),
            }
            for stage in stages
        ],
        "transitions": [
            {
                "from": _text(transition.get("from")),
                "to": _text(transition.get("to")),
                "label": _text(transition.get("label")),
                **{name: _text(transition.get(name)) for name in _LABELS},
                "mode": _text(transition.get("mode")) or "handover",
                "requires": _list_text(transition.get("requires")),
                "return": transition.get("return") is True,
                "rest": _rest(transition, TRANSITION_TABLE_FIELDS),
            }
            for transition in transitions
        ],
    }


def _clean(form: Mapping[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def _load_rest(form: Mapping[str, str], name: str) -> dict[str, Any]:
    try:
        rest = json.loads(form.get(name) or "{}")
    except ValueError:
        return {}
    return rest if isinstance(rest, dict) else {}


def _duration_from(form: Mapping[str, str], name: str) -> str:
    """Return one duration cell as posted: a number and a unit, or (for what they cannot say) the text."""
    if name + "-amount" in form:
        return duration_text(form.get(name + "-amount") or "", form.get(name + "-unit") or "") or ""
    return _clean(form, name)


def _reminders_from(form: Mapping[str, str], prefix: str) -> list[str] | None:
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-amount$")
    numbers = sorted({int(match.group(1)) for name in form if (match := pattern.match(name))})
    if numbers:
        texts = [_duration_from(form, f"{prefix}-{number}") for number in numbers]
        return [text for text in texts if text] or None
    return _split(_clean(form, prefix)) or None


def _spec_from(form: Mapping[str, str], prefix: str) -> Any:
    single = _duration_from(form, prefix)
    levels = {level: _duration_from(form, f"{prefix}-{level}") for level in RISK_LEVELS}
    levels = {level: text for level, text in levels.items() if text}
    if levels:
        # One value beside some levels stands for the levels left empty.
        return {level: levels.get(level, single) for level in RISK_LEVELS if levels.get(level) or single}
    return single or None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _ordered(values: dict[str, Any], rest: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    merged = {**rest, **{name: value for name, value in values.items() if value is not None}}
    return {**{name: merged[name] for name in order if name in merged},
            **{name: value for name, value in merged.items() if name not in order}}


def _translations_from(form: Mapping[str, str], prefix: str, names: tuple[str, ...],
                       rest: dict[str, Any]) -> dict[str, str | None]:
    """Return the posted translations of a name or label; one posted empty is dropped from the document
    (and from ``rest``), one not posted keeps what ``rest`` holds."""
    posted = {name: _clean(form, prefix + name) or None for name in names if prefix + name in form}
    for name, value in posted.items():
        if value is None:
            rest.pop(name, None)
    return posted


def _indices(form: Mapping[str, str], kind: str) -> list[int]:
    pattern = re.compile(rf"^{kind}-(\d+)-")
    return sorted({int(match.group(1)) for name in form if (match := pattern.match(name))})


def document_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """Return the definition document the editor's tables describe (rows in index order)."""
    stages = []
    for index in _indices(form, "stage"):
        prefix = f"stage-{index}-"
        rest = _load_rest(form, prefix + "rest")
        stages.append(_ordered({
            "key": _clean(form, prefix + "key"),
            "name": _clean(form, prefix + "name"),
            **_translations_from(form, prefix, _NAMES, rest),
            "agency_type": _clean(form, prefix + "agency_type"),
            "start": True if form.get(prefix + "start") else None,
            "terminal": True if form.get(prefix + "terminal") else None,
            "respond_within": _spec_from(form, prefix + "respond_within"),
            "complete_within": _spec_from(form, prefix + "complete_within"),
            "reminders": _reminders_from(form, prefix + "reminders"),
            "on_timeout": _clean(form, prefix + "on_timeout") if _clean(form, prefix + "on_timeout") not in
            ("", "escalate") else None,
        }, rest, STAGE_FIELDS))
    transitions = []
    for index in _indices(form, "transition"):
        prefix = f"transition-{index}-"
        rest = _load_rest(form, prefix + "rest")
        transitions.append(_ordered({
            "from": _clean(form, prefix + "from"),
            "to": _clean(form, prefix + "to"),
            "label": _clean(form, prefix + "label") or None,
            **_translations_from(form, prefix, _LABELS, rest),
            "mode": _clean(form, prefix + "mode") if _clean(form, prefix + "mode") not in ("", "handover") else None,
            "requires": _split(_clean(form, prefix + "requires")) or None,
            "return": True if form.get(prefix + "return") else None,
        }, rest, TRANSITION_FIELDS))
    rest = _load_rest(form, "rest")
    return _ordered({
        "key": _clean(form, "key"),
        "name": _clean(form, "name"),
        **_translations_from(form, "", _NAMES, rest),
        "description": _clean(form, "description") or None,
        "calendar": _clean(form, "calendar") or None,
        "stages": stages,
        "transitions": transitions,
    }, rest, TOP_FIELDS)


def placed_problems(problems: list[Problem], document: Any) -> list[dict[str, Any]]:
    """Return problems as dicts (messages translated) with the table rows they belong beside.

    A shape problem goes beside the row its path names; a transition's problem
    beside that transition's rows; a stage's problem beside that stage's rows.
    What names no row (``stage_rows`` and ``transition_rows`` empty) is about the whole workflow.
    """
    stage_rows: dict[str, list[int]] = {}
    transition_rows: dict[tuple[str, str], list[int]] = {}
    if isinstance(document, Mapping):
        stages = document.get("stages")
        for index, stage in enumerate(stages if isinstance(stages, list) else []):
            if isinstance(stage, Mapping) and isinstance(stage.get("key"), str):
                stage_rows.setdefault(stage["key"], []).append(index)
        transitions = document.get("transitions")
        for index, transition in enumerate(transitions if isinstance(transitions, list) else []):
            if isinstance(transition, Mapping):
                pair = (str(transition.get("from")), str(transition.get("to")))
                transition_rows.setdefault(pair, []).append(index)
    placed = []
    for problem, as_dict in zip(problems, problem_dicts(problems, document), strict=True):
        stages: list[int] = []
        transitions: list[int] = []
        path = problem.params.get("path") if isinstance(problem.params, Mapping) else None
        match = _ROW_PATH.match(path) if isinstance(path, str) else None
        if match:
            (stages if match.group(1) == "stages" else transitions).append(int(match.group(2)))
        elif problem.transition is not None:
            transitions = transition_rows.get((problem.transition["from"], problem.transition["to"]), [])
        if not stages and not transitions:
            stages = sorted({index for key in problem.stages for index in stage_rows.get(key, [])})
        placed.append({
            **as_dict,
            "severity_label": _("error") if problem.is_error else _("warning"),
            "stage_rows": stages,
            "transition_rows": transitions,
        })
    return placed

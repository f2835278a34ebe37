"""Where a problem is, in words: "Stage “Medical check”, respond within, high risk", not a document path.

The pure validator names places by their path in the document; a coordinator
reads the stage's name and the field's label as the editor shows them, in the
reader's language. A path that does not fit the document is left as it is.
"""

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..i18n import reading_language

#: Field labels as the editor's tables and text call them.
FIELDS = {
    "key": _l("key"),
    "name": _l("name"),
    "name_ru": _l("name in Russian"),
    "name_kk": _l("name in Kazakh"),
    "description": _l("description"),
    "agency_type": _l("agency type"),
    "start": _l("start"),
    "terminal": _l("terminal"),
    "respond_within": _l("respond within"),
    "complete_within": _l("complete within"),
    "review_every": _l("review every"),
    "reminders": _l("reminders"),
    "on_timeout": _l("on timeout"),
    "from": _l("from"),
    "to": _l("to"),
    "label": _l("label"),
    "label_ru": _l("label in Russian"),
    "label_kk": _l("label in Kazakh"),
    "mode": _l("mode"),
    "requires": _l("requires"),
    "return": _l("return"),
    "calendar": _l("calendar"),
    "retention": _l("retention"),
    "stages": _l("stages"),
    "transitions": _l("transitions"),
}
LEVELS = {"high": _l("high risk"), "medium": _l("medium risk"), "low": _l("low risk")}
LANGUAGES = {"ru": _l("Russian"), "kk": _l("Kazakh")}

_ROW = re.compile(r"^(stages|transitions)\[(\d+)\]\.?")
_PART = re.compile(r"([A-Za-z_]+)|\[(\d+)\]|\.")


def _stage_words(stage: Any, number: int) -> str:
    if isinstance(stage, Mapping):
        language = reading_language()
        for name in (f"name_{language}", "name", "key"):
            text = stage.get(name)
            if isinstance(text, str) and text.strip():
                return gettext("Stage “%(name)s”", name=text.strip())
    return gettext("Stage %(number)d", number=number)


def _transition_words(transition: Any, number: int) -> str:
    if isinstance(transition, Mapping) and isinstance(transition.get("from"), str) \
            and isinstance(transition.get("to"), str):
        return gettext("The route %(from)s → %(to)s", **{"from": transition["from"], "to": transition["to"]})
    return gettext("Transition %(number)d", number=number)


def field_words(path: str) -> str | None:
    """Return a field path inside a stage or transition (``complete_within.high``) in words, or None."""
    words: list[str] = []
    position = 0
    while position < len(path):
        match = _PART.match(path, position)
        if match is None:
            return None
        position = match.end()
        name, index = match.group(1), match.group(2)
        if name is not None:
            label = LEVELS.get(name) if words else None
            label = label or FIELDS.get(name)
            if label is None:
                return None
            words.append(str(label))
        elif index is not None:
            words.append(gettext("number %(number)d", number=int(index) + 1))
    return ", ".join(words) if words else None


def place(path: str, document: Any) -> str:
    """Return a document path in words for the reader, or the path itself where the document does not fit it."""
    match = _ROW.match(path)
    if match is None:
        words = field_words(path)
        return words[:1].upper() + words[1:] if words else path
    kind, index = match.group(1), int(match.group(2))
    items = document.get(kind) if isinstance(document, Mapping) else None
    item = items[index] if isinstance(items, list) and index < len(items) else None
    where = _stage_words(item, index + 1) if kind == "stages" else _transition_words(item, index + 1)
    rest = path[match.end():]
    if not rest:
        return where
    field = field_words(rest)
    return f"{where}, {field}" if field else path


def languages(codes: str) -> str:
    """Return comma-separated language codes as the languages' names in the reader's language."""
    return ", ".join(str(LANGUAGES.get(code.strip(), code.strip())) for code in codes.split(","))

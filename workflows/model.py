"""The workflow definition as frozen dataclasses (DESIGN.md section 4).

``format`` loads a document into them; ``to_document`` writes one back. Fields
the format does not know are kept in ``extra`` and written back as they were.

Translated names are such extension fields: ``name_ru`` and ``name_kk`` on the
workflow and on a stage, ``label_ru`` and ``label_kk`` on a transition. They
stay in ``extra``; ``name_in`` and ``label_in`` return them, or the English text
where a translation is missing or blank.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from .durations import Duration, DurationSpec

#: The agency types a stage may name (``agencies.AgencyType`` holds the same five).
AGENCY_TYPES = ("justice", "health", "education", "social", "civil_society")

#: The guards a transition may require; ``consent`` is a recorded consent covering the receiver.
GUARDS = ("consent",)

#: Longest workflow or stage key; the service sizes its columns to hold it.
KEY_MAX_LENGTH = 64

#: Languages a definition may name things in beside English, as the extension
#: fields ``name_<language>`` (workflow, stage) and ``label_<language>`` (transition).
TRANSLATED_LANGUAGES = ("ru", "kk")


def translation_fields(field_name: str) -> tuple[str, ...]:
    """Return the extension fields that translate a field: ``name_ru``, ``name_kk`` for ``name``."""
    return tuple(f"{field_name}_{language}" for language in TRANSLATED_LANGUAGES)


def _translated(english: Any, extra: Mapping[str, Any], field_name: str, locale: str | None) -> Any:
    """Return ``extra["<field>_<language>"]`` when it is non-blank text, else the English text."""
    if not locale:
        return english
    language = str(locale).replace("-", "_").split("_")[0].lower()
    text = extra.get(f"{field_name}_{language}")
    return text if isinstance(text, str) and text.strip() else english


class OnTimeout(StrEnum):
    """What a missed respond deadline does to the referral."""

    escalate = "escalate"
    cancel = "cancel"


class Mode(StrEnum):
    """Whether the sender's stage ends when the receiver accepts (handover) or goes on (parallel)."""

    handover = "handover"
    parallel = "parallel"


def _translations(extra: Mapping[str, Any], field_name: str) -> dict[str, Any]:
    """Return the translations of a field as written, to sit beside it in a document; the rest of extra goes last."""
    return {key: extra[key] for key in translation_fields(field_name) if key in extra}


@dataclass(frozen=True)
class Stage:
    """One stage of a workflow, owned by one type of agency."""

    key: str
    name: str
    agency_type: str
    is_start: bool = False
    is_terminal: bool = False
    respond_within: DurationSpec | None = None
    complete_within: DurationSpec | None = None
    review_every: Duration | None = None
    reminders: tuple[Duration, ...] = ()
    on_timeout: OnTimeout = OnTimeout.escalate
    description: str | None = None
    #: Fields the format does not know, kept as written.
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def deadlines(self) -> tuple[tuple[str, Duration], ...]:
        """Return (path within the stage, duration) for every deadline, as written."""
        return self._deadlines

    @cached_property
    def _deadlines(self) -> tuple[tuple[str, Duration], ...]:
        found = []
        for name in ("respond_within", "complete_within"):
            spec = getattr(self, name)
            if spec is not None:
                found.extend(
                    (name if level is None else f"{name}.{level}", duration) for level, duration in spec.items()
                )
        if self.review_every is not None:
            found.append(("review_every", self.review_every))
        return tuple(found)

    def name_in(self, locale: str | None) -> str:
        """Return the stage's name in a language (``ru``, ``kk_KZ``...), falling back to the English ``name``."""
        return _translated(self.name, self.extra, "name", locale)

    def to_document(self) -> dict[str, Any]:
        """Return the stage as written in a definition document."""
        document: dict[str, Any] = {"key": self.key, "name": self.name, **_translations(self.extra, "name")}
        if self.description is not None:
            document["description"] = self.description
        document["agency_type"] = self.agency_type
        if self.is_start:
            document["start"] = True
        if self.is_terminal:
            document["terminal"] = True
        if self.respond_within is not None:
            document["respond_within"] = self.respond_within.to_document()
        if self.complete_within is not None:
            document["complete_within"] = self.complete_within.to_document()
        if self.review_every is not None:
            document["review_every"] = self.review_every.text
        if self.reminders:
            document["reminders"] = [reminder.text for reminder in self.reminders]
        if self.on_timeout is not OnTimeout.escalate:
            document["on_timeout"] = str(self.on_timeout)
        document.update(self.extra)
        return document


@dataclass(frozen=True)
class Transition:
    """An allowed route from one stage to another."""

    from_stage: str
    to_stage: str
    label: str | None = None
    mode: Mode = Mode.handover
    requires: tuple[str, ...] = ()
    #: Marks a route back to an earlier stage as intended, so the loop it closes is no warning.
    is_return: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def pair(self) -> tuple[str, str]:
        """Return (from_stage, to_stage)."""
        return self.from_stage, self.to_stage

    def label_in(self, locale: str | None) -> str | None:
        """Return the transition's label in a language, falling back to the English ``label`` (maybe None)."""
        return _translated(self.label, self.extra, "label", locale)

    def to_document(self) -> dict[str, Any]:
        """Return the transition as written in a definition document."""
        document: dict[str, Any] = {"from": self.from_stage, "to": self.to_stage}
        if self.label is not None:
            document["label"] = self.label
        document.update(_translations(self.extra, "label"))
        if self.mode is not Mode.handover:
            document["mode"] = str(self.mode)
        if self.requires:
            document["requires"] = list(self.requires)
        if self.is_return:
            document["return"] = True
        document.update(self.extra)
        return document


@dataclass(frozen=True)
class Definition:
    """A whole workflow definition; it may still hold problems that ``validate`` reports."""

    key: str
    name: str
    stages: tuple[Stage, ...] = ()
    transitions: tuple[Transition, ...] = ()
    description: str | None = None
    #: ISO country code whose public holidays "N working days" skip.
    calendar: str | None = None
    #: How long after a case's closure its personal data are kept (``referral retention run``); None: P5Y.
    retention: Duration | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @cached_property
    def _stages_by_key(self) -> dict[str, Stage]:
        by_key: dict[str, Stage] = {}
        for stage in self.stages:
            by_key.setdefault(stage.key, stage)
        return by_key

    @cached_property
    def _outgoing(self) -> dict[str, tuple[Transition, ...]]:
        outgoing: dict[str, list[Transition]] = {}
        for transition in self.transitions:
            outgoing.setdefault(transition.from_stage, []).append(transition)
        return {key: tuple(found) for key, found in outgoing.items()}

    @property
    def stage_keys(self) -> tuple[str, ...]:
        """Return the distinct stage keys in definition order."""
        return tuple(self._stages_by_key)

    def has_stage(self, key: str) -> bool:
        """Return whether a stage has this key."""
        return key in self._stages_by_key

    def stage(self, key: str) -> Stage:
        """Return the (first) stage with this key; raise KeyError if there is none."""
        try:
            return self._stages_by_key[key]
        except KeyError:
            raise KeyError(f"workflow {self.key!r} has no stage {key!r}") from None

    @property
    def start_stage(self) -> Stage | None:
        """Return the start stage, or None if none is marked (the first if several are)."""
        return next((stage for stage in self.stages if stage.is_start), None)

    @property
    def terminal_keys(self) -> frozenset[str]:
        """Return the keys of the terminal stages."""
        return frozenset(stage.key for stage in self.stages if stage.is_terminal)

    def outgoing(self, stage_key: str) -> tuple[Transition, ...]:
        """Return the transitions leaving a stage, in definition order."""
        return self._outgoing.get(stage_key, ())

    def transition(self, from_stage: str, to_stage: str) -> Transition | None:
        """Return the (first) transition from one stage to another, or None."""
        return next((found for found in self.outgoing(from_stage) if found.to_stage == to_stage), None)

    def name_in(self, locale: str | None) -> str:
        """Return the workflow's name in a language, falling back to the English ``name``."""
        return _translated(self.name, self.extra, "name", locale)

    def to_document(self) -> dict[str, Any]:
        """Return the definition as a JSON- and YAML-ready document that loads back equal."""
        document: dict[str, Any] = {"key": self.key, "name": self.name, **_translations(self.extra, "name")}
        if self.description is not None:
            document["description"] = self.description
        if self.calendar is not None:
            document["calendar"] = self.calendar
        if self.retention is not None:
            document["retention"] = self.retention.text
        document["stages"] = [stage.to_document() for stage in self.stages]
        document["transitions"] = [transition.to_document() for transition in self.transitions]
        document.update(self.extra)
        return document

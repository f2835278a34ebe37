"""The workflow definition format (DESIGN.md section 4): parsing, shape, dataclasses.

A document is checked for shape by a marshmallow schema and loaded into frozen
dataclasses. Fields the format does not know are kept in ``extra`` and written
back by ``to_document``. Whether the graph makes sense is ``validate``'s job.

One such extension is read here: translated names. ``name_ru`` and ``name_kk``
on the workflow and on a stage, ``label_ru`` and ``label_kk`` on a transition,
stay in ``extra`` but must be text; ``name_in`` and ``label_in`` return them,
or the English text where a translation is missing or blank.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar

import yaml
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from .durations import RISK_LEVELS, Duration, DurationSpec, is_known_calendar
from .i18n import N_
from .problems import Problem, make_problem

#: The agency types a stage may name (``agencies.AgencyType`` holds the same five).
AGENCY_TYPES = ("justice", "health", "education", "social", "civil_society")

#: The guards a transition may require; ``consent`` is a recorded consent covering the receiver.
GUARDS = ("consent",)

#: Longest workflow or stage key; the service sizes its columns to hold it.
KEY_MAX_LENGTH = 64

#: Languages a definition may name things in beside English, as the extension
#: fields ``name_<language>`` (workflow, stage) and ``label_<language>`` (transition).
TRANSLATED_LANGUAGES = ("ru", "kk")


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
    keys = [f"{field_name}_{language}" for language in TRANSLATED_LANGUAGES]
    return {key: extra[key] for key in keys if key in extra}


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
        document["stages"] = [stage.to_document() for stage in self.stages]
        document["transitions"] = [transition.to_document() for transition in self.transitions]
        document.update(self.extra)
        return document


# Shape messages. Each is a whole template with one parameter, the path, so
# that the service can translate it; marshmallow's own texts are not.
REQUIRED = N_("%(path)s is required.")
NOT_NULL = N_("%(path)s must have a value.")
NOT_TEXT = N_("%(path)s must be text.")
BLANK = N_("%(path)s must not be blank.")
NOT_BOOLEAN = N_("%(path)s must be true or false.")
NOT_LIST = N_("%(path)s must be a list.")
NOT_MAPPING = N_("%(path)s must be a mapping of fields.")
BAD_KEY = N_("%(path)s must be 1 to 64 lowercase letters, digits and hyphens.")
BAD_ON_TIMEOUT = N_("%(path)s must be escalate or cancel.")
BAD_MODE = N_("%(path)s must be handover or parallel.")
BAD_GUARD = N_("%(path)s is not a known guard; the only guard is consent.")
BAD_CALENDAR = N_("%(path)s must be a country code whose public holidays are known, such as KZ.")
NOT_DURATION = N_('%(path)s must be a duration such as PT24H, P3D or "5 working days".')
NOT_DURATION_SPEC = N_(
    '%(path)s must be a duration such as PT24H, P3D or "5 working days", or a map of high, medium and low to durations.'
)
EMPTY_DURATION_MAP = N_("%(path)s must name at least one of high, medium and low.")
UNKNOWN_RISK_LEVEL = N_("%(path)s is not a risk level; use high, medium or low.")
OTHER_SHAPE = N_("%(path)s: %(detail)s")
NOT_A_DOCUMENT = N_("A workflow definition must be a mapping with key, name, stages and transitions.")
EMPTY_DOCUMENT = N_("The document is empty.")
SYNTAX_AT = N_("The document is not valid %(format)s: line %(line)s, column %(column)s: %(detail)s")
SYNTAX = N_("The document is not valid %(format)s: %(detail)s")
DUPLICATE_KEY = N_(
    "The document is not valid %(format)s: line %(line)s: the field %(field)s appears twice in one mapping."
)
DUPLICATE_KEY_SOMEWHERE = N_("The document is not valid %(format)s: the field %(field)s appears twice in one mapping.")
UNKNOWN_FORMAT = N_("Unknown document format %(format)s; use json or yaml.")
YAML_ALIAS = N_(
    "The document is not valid YAML for a workflow: line %(line)s uses an anchor or alias (& or *);"
    " write the value out."
)
TOO_LARGE = N_("The document is %(size)s characters long; a workflow definition may have at most %(limit)s.")

# A real workflow is a few kilobytes; this bound keeps parsing cheap whatever arrives.
MAX_DOCUMENT_CHARS = 256_000

# Regexp validators only match at the start, hence the explicit end.
_KEY_PATTERN = rf"[a-z0-9-]{{1,{KEY_MAX_LENGTH}}}\Z"
_KEY = re.compile(_KEY_PATTERN)
_COMMON = {"required": REQUIRED, "null": NOT_NULL, "validator_failed": OTHER_SHAPE}
_SHAPE_TEMPLATES = frozenset(
    {
        REQUIRED, NOT_NULL, NOT_TEXT, BLANK, NOT_BOOLEAN, NOT_LIST, NOT_MAPPING, BAD_KEY, BAD_ON_TIMEOUT,
        BAD_MODE, BAD_GUARD, BAD_CALENDAR, NOT_DURATION, NOT_DURATION_SPEC, EMPTY_DURATION_MAP, UNKNOWN_RISK_LEVEL,
    }
)  # fmt: skip


def _translation_fields(field_name: str) -> tuple[str, ...]:
    return tuple(f"{field_name}_{language}" for language in TRANSLATED_LANGUAGES)


def _is_optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError(BLANK)


def _text(
    *, required: bool = False, key: bool = False, nonblank: bool = False, choices: tuple[str, ...] = (), **kwargs: Any
) -> fields.String:
    validators: list[Any] = []
    if key:
        validators.append(validate.Regexp(_KEY_PATTERN, error=BAD_KEY))
    if nonblank:
        validators.append(_not_blank)
    if choices:
        validators.append(validate.OneOf(choices, error=kwargs.pop("choice_error")))
    return fields.String(
        required=required,
        allow_none=not required,
        validate=validators,
        error_messages={**_COMMON, "invalid": NOT_TEXT, "invalid_utf8": NOT_TEXT},
        **kwargs,
    )


def _flag(**kwargs: Any) -> fields.Boolean:
    # Only real booleans: "no" or 0 in a JSON document is more likely a mistake than a flag.
    return fields.Boolean(
        truthy={True}, falsy={False}, load_default=False, error_messages={**_COMMON, "invalid": NOT_BOOLEAN}, **kwargs
    )


def _choice(choices: type[StrEnum], default: StrEnum, error: str) -> fields.String:
    return fields.String(
        load_default=str(default),
        validate=validate.OneOf([str(choice) for choice in choices], error=error),
        error_messages={**_COMMON, "invalid": error},
    )


def _list(inner: fields.Field, **kwargs: Any) -> fields.List:
    return fields.List(inner, load_default=list, error_messages={**_COMMON, "invalid": NOT_LIST}, **kwargs)


def _nested(schema: type[Schema]) -> fields.Nested:
    return fields.Nested(schema, error_messages={**_COMMON, "null": NOT_MAPPING, "type": NOT_MAPPING})


class _DurationField(fields.Field):
    """A duration text; one that does not parse loads as an invalid Duration for ``validate`` to report."""

    default_error_messages: ClassVar[dict[str, str]] = {**_COMMON, "invalid": NOT_DURATION}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Duration:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return Duration.lenient(value)


class _DurationSpecField(fields.Field):
    """A duration text, or a map of risk levels to duration texts."""

    default_error_messages: ClassVar[dict[str, str]] = {
        **_COMMON,
        "invalid": NOT_DURATION_SPEC,
        "empty": EMPTY_DURATION_MAP,
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> DurationSpec:
        if isinstance(value, str):
            return DurationSpec(single=Duration.lenient(value))
        if not isinstance(value, Mapping):
            raise self.make_error("invalid")
        if not value:
            raise self.make_error("empty")
        errors: dict[str, list[str]] = {}
        for level, text in value.items():
            if level not in RISK_LEVELS:
                errors[str(level)] = [UNKNOWN_RISK_LEVEL]
            elif not isinstance(text, str):
                errors[level] = [NOT_DURATION]
        if errors:
            raise ValidationError(errors)
        return DurationSpec(**{level: Duration.lenient(text) for level, text in value.items()})


class _Shape(Schema):
    error_messages: ClassVar[dict[str, str]] = {"type": NOT_MAPPING, "unknown": OTHER_SHAPE}
    #: The extension fields holding translations (``name_ru``...); kept in ``extra``, but they must be text.
    translations: ClassVar[tuple[str, ...]] = ()

    class Meta:
        unknown = EXCLUDE

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_translations(self, data: Any, original: Any, **kwargs: Any) -> None:
        """Refuse a translation that is not text; null counts as absent."""
        if not isinstance(original, Mapping):
            return
        errors = {key: [NOT_TEXT] for key in self.translations if not _is_optional_text(original.get(key))}
        if errors:
            raise ValidationError(errors)

    def _extra(self, original: Mapping[Any, Any]) -> dict[Any, Any]:
        known = {field.data_key or name for name, field in self.fields.items()}
        return {key: value for key, value in original.items() if key not in known}


class StageSchema(_Shape):
    """The shape of one stage."""

    translations = _translation_fields("name")

    key = _text(required=True, key=True)
    name = _text(required=True, nonblank=True)
    description = _text()
    agency_type = _text(required=True, nonblank=True)
    start = _flag()
    terminal = _flag()
    respond_within = _DurationSpecField(allow_none=True)
    complete_within = _DurationSpecField(allow_none=True)
    review_every = _DurationField(allow_none=True)
    reminders = _list(_DurationField(), allow_none=True)
    on_timeout = _choice(OnTimeout, OnTimeout.escalate, BAD_ON_TIMEOUT)

    @post_load(pass_original=True)
    def make_stage(self, data: dict[str, Any], original: Mapping[Any, Any], **kwargs: Any) -> Stage:
        """Build the Stage, keeping unknown fields."""
        return Stage(
            key=data["key"],
            name=data["name"],
            description=data.get("description"),
            agency_type=data["agency_type"],
            is_start=data["start"],
            is_terminal=data["terminal"],
            respond_within=data.get("respond_within"),
            complete_within=data.get("complete_within"),
            review_every=data.get("review_every"),
            reminders=tuple(data.get("reminders") or ()),
            on_timeout=OnTimeout(data["on_timeout"]),
            extra=self._extra(original),
        )


class TransitionSchema(_Shape):
    """The shape of one transition."""

    translations = _translation_fields("label")

    from_stage = _text(required=True, nonblank=True, data_key="from")
    to_stage = _text(required=True, nonblank=True, data_key="to")
    label = _text()
    mode = _choice(Mode, Mode.handover, BAD_MODE)
    requires = _list(_text(required=True, choices=GUARDS, choice_error=BAD_GUARD), allow_none=True)
    is_return = _flag(data_key="return")

    @post_load(pass_original=True)
    def make_transition(self, data: dict[str, Any], original: Mapping[Any, Any], **kwargs: Any) -> Transition:
        """Build the Transition, keeping unknown fields."""
        return Transition(
            from_stage=data["from_stage"],
            to_stage=data["to_stage"],
            label=data.get("label"),
            mode=Mode(data["mode"]),
            requires=tuple(data.get("requires") or ()),
            is_return=data["is_return"],
            extra=self._extra(original),
        )


class DefinitionSchema(_Shape):
    """The shape of a whole definition document."""

    translations = _translation_fields("name")

    key = _text(required=True, key=True)
    name = _text(required=True, nonblank=True)
    description = _text()
    calendar = _text()
    stages = fields.List(_nested(StageSchema), required=True, error_messages={**_COMMON, "invalid": NOT_LIST})
    transitions = _list(_nested(TransitionSchema), allow_none=True)

    @validates("calendar")
    def check_calendar(self, value: str | None, **kwargs: Any) -> None:
        """Refuse a calendar whose public holidays are not known."""
        if value is not None and not is_known_calendar(value):
            raise ValidationError(BAD_CALENDAR)

    @post_load(pass_original=True)
    def make_definition(self, data: dict[str, Any], original: Mapping[Any, Any], **kwargs: Any) -> Definition:
        """Build the Definition, keeping unknown fields."""
        return Definition(
            key=data["key"],
            name=data["name"],
            description=data.get("description"),
            calendar=data.get("calendar"),
            stages=tuple(data["stages"]),
            transitions=tuple(data.get("transitions") or ()),
            extra=self._extra(original),
        )


_SCHEMA = DefinitionSchema()


def load_definition(data: Any) -> tuple[Definition | None, list[Problem]]:
    """Load a parsed document; return (definition, []) or (None, every ``schema`` problem). Never raises."""
    if not isinstance(data, Mapping):
        return None, [make_problem("schema", NOT_A_DOCUMENT)]
    definition = _plain_load(data)
    if definition is not None:
        return definition, []
    try:
        return _SCHEMA.load(data), []
    except ValidationError as error:
        return None, _shape_problems(error.messages)


class _Defer(Exception):
    """The document is not plainly well-formed: let the schema load it and say what is wrong."""


def _plain_load(data: Mapping[Any, Any]) -> Definition | None:
    """Build the Definition of a plainly well-formed document, or return None to defer to the schema.

    marshmallow spends some microseconds on every field, which is most of the
    time of validating a large document. A document of exactly the expected
    plain types takes this shortcut; anything else, even if the schema would
    accept it, goes through the schema, which alone explains problems. Tests
    check that both build the same Definition wherever this one does not defer.
    """
    try:
        return Definition(
            key=_plain_key(data.get("key", None)),
            name=_plain_text(data.get("name", None)),
            description=_plain_optional_text(data.get("description")),
            calendar=_plain_calendar(data.get("calendar")),
            stages=tuple(_plain_stage(item) for item in _plain_list(data.get("stages"), required=True)),
            transitions=tuple(_plain_transition(item) for item in _plain_list(data.get("transitions"))),
            extra=_plain_extra(data, _DEFINITION_FIELDS, DefinitionSchema.translations),
        )
    except _Defer:
        return None


def _plain_stage(item: Any) -> Stage:
    if type(item) is not dict:
        raise _Defer
    return Stage(
        key=_plain_key(item.get("key")),
        name=_plain_text(item.get("name")),
        description=_plain_optional_text(item.get("description")),
        agency_type=_plain_text(item.get("agency_type")),
        is_start=_plain_flag(item.get("start", False)),
        is_terminal=_plain_flag(item.get("terminal", False)),
        respond_within=_plain_spec(item.get("respond_within")),
        complete_within=_plain_spec(item.get("complete_within")),
        review_every=None if item.get("review_every") is None else _plain_duration(item["review_every"]),
        reminders=tuple(_plain_duration(text) for text in _plain_list(item.get("reminders"))),
        on_timeout=OnTimeout(_plain_choice(item.get("on_timeout", "escalate"), OnTimeout)),
        extra=_plain_extra(item, _STAGE_FIELDS, StageSchema.translations),
    )


def _plain_transition(item: Any) -> Transition:
    if type(item) is not dict:
        raise _Defer
    requires = tuple(_plain_list(item.get("requires")))
    if any(guard not in GUARDS for guard in requires):
        raise _Defer
    return Transition(
        from_stage=_plain_text(item.get("from")),
        to_stage=_plain_text(item.get("to")),
        label=_plain_optional_text(item.get("label")),
        mode=Mode(_plain_choice(item.get("mode", "handover"), Mode)),
        requires=requires,
        is_return=_plain_flag(item.get("return", False)),
        extra=_plain_extra(item, _TRANSITION_FIELDS, TransitionSchema.translations),
    )


def _plain_text(value: Any) -> str:
    if type(value) is not str or not value.strip():
        raise _Defer
    return value


def _plain_optional_text(value: Any) -> str | None:
    if value is not None and type(value) is not str:
        raise _Defer
    return value


def _plain_key(value: Any) -> str:
    if type(value) is not str or not _KEY.match(value):
        raise _Defer
    return value


def _plain_calendar(value: Any) -> str | None:
    if value is not None and not (type(value) is str and is_known_calendar(value)):
        raise _Defer
    return value


def _plain_flag(value: Any) -> bool:
    if type(value) is not bool:
        raise _Defer
    return value


def _plain_choice(value: Any, choices: type[StrEnum]) -> str:
    if type(value) is not str or value not in choices.__members__:
        raise _Defer
    return value


def _plain_list(value: Any, *, required: bool = False) -> list[Any]:
    if value is None and not required:
        return []
    if type(value) is not list:
        raise _Defer
    return value


def _plain_duration(value: Any) -> Duration:
    if type(value) is not str:
        raise _Defer
    return Duration.lenient(value)


def _plain_spec(value: Any) -> DurationSpec | None:
    if value is None:
        return None
    if type(value) is str:
        return DurationSpec(single=Duration.lenient(value))
    if type(value) is not dict or not value or any(level not in RISK_LEVELS for level in value):
        raise _Defer
    return DurationSpec(**{level: _plain_duration(text) for level, text in value.items()})


def _plain_extra(item: Mapping[Any, Any], known: frozenset[str], translations: tuple[str, ...]) -> dict[Any, Any]:
    if not all(_is_optional_text(item.get(key)) for key in translations):
        raise _Defer
    return {key: value for key, value in item.items() if key not in known}


_DEFINITION_FIELDS = frozenset(field.data_key or name for name, field in DefinitionSchema().fields.items())
_STAGE_FIELDS = frozenset(field.data_key or name for name, field in StageSchema().fields.items())
_TRANSITION_FIELDS = frozenset(field.data_key or name for name, field in TransitionSchema().fields.items())


def parse_document(text: str, fmt: str | None = None) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse JSON or YAML text (``fmt`` json, yaml or None to detect); return (mapping, problems). Never raises."""
    if fmt is not None and fmt not in ("json", "yaml"):
        return None, [make_problem("schema", UNKNOWN_FORMAT, {"format": fmt})]
    if isinstance(text, bytes | bytearray):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, [make_problem("schema", SYNTAX, {"format": fmt or "JSON or YAML", "detail": "not UTF-8 text"})]
    if not isinstance(text, str) or not text.strip():
        return None, [make_problem("schema", EMPTY_DOCUMENT)]
    if len(text) > MAX_DOCUMENT_CHARS:
        return None, [make_problem("schema", TOO_LARGE, {"size": len(text), "limit": MAX_DOCUMENT_CHARS})]
    if fmt == "json" or (fmt is None and text.lstrip().startswith(("{", "["))):
        data, problems = _parse_json(text)
    else:
        data, problems = _parse_yaml(text)
    if problems:
        return None, problems
    if data is None:
        return None, [make_problem("schema", EMPTY_DOCUMENT)]
    if not isinstance(data, dict):
        return None, [make_problem("schema", NOT_A_DOCUMENT)]
    return data, []


def load_document(text: str, fmt: str | None = None) -> tuple[Definition | None, list[Problem]]:
    """Parse and load a document in one step; return (definition, problems). Never raises."""
    data, problems = parse_document(text, fmt)
    if problems:
        return None, problems
    return load_definition(data)


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


def _parse_json(text: str) -> tuple[Any, list[Problem]]:
    def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        for key, value in pairs:
            if key in mapping:
                raise _DuplicateKey(key, 0)
            mapping[key] = value
        return mapping

    try:
        return json.loads(text, object_pairs_hook=unique_pairs), []
    except json.JSONDecodeError as error:
        params = {"format": "JSON", "line": error.lineno, "column": error.colno, "detail": error.msg}
        return None, [make_problem("schema", SYNTAX_AT, params)]
    except _DuplicateKey as duplicate:
        # json gives no position; JSON is almost always YAML too, and the YAML loader knows the line.
        _, problems = _parse_yaml(text)
        if problems and problems[0].template == DUPLICATE_KEY:
            params = {**problems[0].params, "format": "JSON"}
            return None, [make_problem("schema", DUPLICATE_KEY, params)]
        params = {"format": "JSON", "field": duplicate.key}
        return None, [make_problem("schema", DUPLICATE_KEY_SOMEWHERE, params)]
    except (ValueError, RecursionError) as error:
        return None, [make_problem("schema", SYNTAX, {"format": "JSON", "detail": str(error)})]


class _Alias(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping, and any anchor or alias.

    Aliases are refused outright rather than bounded: nested aliases expand exponentially (the
    "billion laughs"), and a workflow never needs them.
    """

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose the next node; raise _Alias on an alias or an anchored node before anything expands."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Alias(event.start_mark.line + 1)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping; raise _DuplicateKey when a key repeats."""
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key; the base class reports it
            if repeated:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str) -> tuple[Any, list[Problem]]:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), []
    except _Alias as alias:
        return None, [make_problem("schema", YAML_ALIAS, {"line": alias.line})]
    except _DuplicateKey as duplicate:
        return None, [
            make_problem("schema", DUPLICATE_KEY, {"format": "YAML", "line": duplicate.line, "field": duplicate.key})
        ]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        detail = " ".join(part for part in (error.context, error.problem) if part) or "syntax error"
        if mark is None:
            return None, [make_problem("schema", SYNTAX, {"format": "YAML", "detail": detail})]
        params = {"format": "YAML", "line": mark.line + 1, "column": mark.column + 1, "detail": detail}
        return None, [make_problem("schema", SYNTAX_AT, params)]
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as error:
        return None, [make_problem("schema", SYNTAX, {"format": "YAML", "detail": str(error) or type(error).__name__})]


_FIELD_ORDER = {
    name: rank
    for rank, name in enumerate(
        (
            "_schema", "key", "name", *_translation_fields("name"), "description", "calendar", "stages", "transitions",
            "from", "to", "label", *_translation_fields("label"), "agency_type", "start", "terminal", "respond_within",
            "complete_within", "review_every", "reminders", "on_timeout", "mode", "requires", "return", *RISK_LEVELS,
        )
    )
}  # fmt: skip


def _reading_order(key: Any) -> tuple[int, int]:
    if isinstance(key, int):
        return 0, key
    return 1, _FIELD_ORDER.get(key, len(_FIELD_ORDER))


def _shape_problems(messages: Any) -> list[Problem]:
    problems: list[Problem] = []
    _collect(messages, "", problems)
    return problems


def _collect(messages: Any, path: str, problems: list[Problem]) -> None:
    if isinstance(messages, Mapping):
        # In the order of the format, as a reader meets them; marshmallow puts its validators' errors last.
        for key in sorted(messages, key=_reading_order):
            if key == "_schema":
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            _collect(messages[key], child, problems)
        return
    if isinstance(messages, list | tuple):
        for message in messages:
            _collect(message, path, problems)
        return
    where = path or "the document"
    if messages in _SHAPE_TEMPLATES:
        problems.append(make_problem("schema", messages, {"path": where}))
    else:
        problems.append(make_problem("schema", OTHER_SHAPE, {"path": where, "detail": str(messages)}))

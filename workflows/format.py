"""The shape of a workflow definition document, described once (DESIGN.md section 4).

``STAGE``, ``TRANSITION`` and ``DEFINITION`` list the fields of each mapping:
the name a document writes, the kind of value, whether it is required or what
leaving it out means, and whether translations (``name_ru``...) sit beside it.
Both loaders derive from that one list:

* the marshmallow schemas (``DefinitionSchema`` and the two it nests), which
  check any document and say what is wrong in translatable messages;
* the fast path (``Shape.read``), which builds the dataclasses straight from a
  document of exactly the plain types expected. marshmallow spends some
  microseconds on every field, most of the time of validating a large
  document; anything the fast path is not sure of goes through the schema.

Fields the format does not know are kept in ``extra``. Whether the graph makes
sense is ``validate``'s job.
"""

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar

import marshmallow as ma

from .durations import RISK_LEVELS, Duration, DurationSpec, is_known_calendar
from .i18n import N_
from .model import GUARDS, KEY_MAX_LENGTH, Definition, Mode, OnTimeout, Stage, Transition, translation_fields
from .problems import Problem, make_problem

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

# Regexp validators only match at the start, hence the explicit end.
_KEY_PATTERN = rf"[a-z0-9-]{{1,{KEY_MAX_LENGTH}}}\Z"
_KEY = re.compile(_KEY_PATTERN)
_COMMON = {"required": REQUIRED, "null": NOT_NULL, "validator_failed": OTHER_SHAPE}
_TEXT_MESSAGES = {**_COMMON, "invalid": NOT_TEXT, "invalid_utf8": NOT_TEXT}
_SHAPE_TEMPLATES = frozenset(
    {
        REQUIRED, NOT_NULL, NOT_TEXT, BLANK, NOT_BOOLEAN, NOT_LIST, NOT_MAPPING, BAD_KEY, BAD_ON_TIMEOUT,
        BAD_MODE, BAD_GUARD, BAD_CALENDAR, NOT_DURATION, NOT_DURATION_SPEC, EMPTY_DURATION_MAP, UNKNOWN_RISK_LEVEL,
    }
)  # fmt: skip


class NotPlain(Exception):
    """The value is not plainly right: let the schema load the document and say what is wrong."""


# The kinds of value a field may hold. Each gives the marshmallow field that
# checks a value and explains what is wrong with it, and ``read``, the fast
# path for a value of exactly the expected plain type, which raises NotPlain
# for anything else, even what the schema would accept.


class Kind:
    """What a field holds; a base for the kinds below."""

    #: What an optional field holds when the document leaves it out or gives null.
    empty: Any = None

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return the marshmallow field for this kind; ``options`` go to the field (data_key, required...)."""
        raise NotImplementedError

    def read(self, value: Any) -> Any:
        """Return the value as the dataclass holds it; raise NotPlain unless it is plainly right."""
        raise NotImplementedError

    def finish(self, loaded: Any) -> Any:
        """Return what the schema loaded as the dataclass holds it."""
        return loaded


class Key(Kind):
    """A workflow or stage key: 1 to 64 lowercase letters, digits and hyphens."""

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field that must match the key pattern."""
        return ma.fields.String(
            validate=[ma.validate.Regexp(_KEY_PATTERN, error=BAD_KEY)], error_messages=_TEXT_MESSAGES, **options
        )

    def read(self, value: Any) -> str:
        """Return a key; raise NotPlain for anything else."""
        if type(value) is not str or not _KEY.match(value):
            raise NotPlain
        return value


class Text(Kind):
    """Text, which may be blank unless ``blank`` is False."""

    def __init__(self, *, blank: bool = True) -> None:
        self.blank = blank

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field, refusing blank text if need be."""
        validators = [] if self.blank else [_not_blank]
        return ma.fields.String(validate=validators, error_messages=_TEXT_MESSAGES, **options)

    def read(self, value: Any) -> str:
        """Return the text; raise NotPlain for anything else or for blank text where it may not be."""
        if type(value) is not str or not (self.blank or value.strip()):
            raise NotPlain
        return value


class Calendar(Kind):
    """An ISO country code whose public holidays are known, such as KZ."""

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field that must name a known calendar."""
        return ma.fields.String(validate=[_known_calendar], error_messages=_TEXT_MESSAGES, **options)

    def read(self, value: Any) -> str:
        """Return the code; raise NotPlain for anything else."""
        if type(value) is not str or not is_known_calendar(value):
            raise NotPlain
        return value


class Flag(Kind):
    """true or false.

    Not "yes", "no" or "on": in a JSON document those are more likely a mistake
    than a flag. The schema does let 1 and 0 through, as they equal True and False.
    """

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a boolean field that takes only true and false."""
        return ma.fields.Boolean(
            truthy={True}, falsy={False}, error_messages={**_COMMON, "invalid": NOT_BOOLEAN}, **options
        )

    def read(self, value: Any) -> bool:
        """Return the flag; raise NotPlain for anything but True and False."""
        if type(value) is not bool:
            raise NotPlain
        return value


class Choice(Kind):
    """One value of an enumeration, written as its text; ``error`` says which values there are."""

    def __init__(self, choices: type[StrEnum], error: str) -> None:
        self.choices = choices
        self.error = error
        self._members = {member.value: member for member in choices}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field that must be one of the values."""
        return ma.fields.String(
            validate=ma.validate.OneOf(list(self._members), error=self.error),
            error_messages={**_COMMON, "invalid": self.error},
            **options,
        )

    def read(self, value: Any) -> StrEnum:
        """Return the member; raise NotPlain for anything else."""
        if type(value) is not str or value not in self._members:
            raise NotPlain
        return self._members[value]

    def finish(self, loaded: str) -> StrEnum:
        """Return the member the loaded text names."""
        return self.choices(loaded)


class Guard(Kind):
    """A guard a transition may require: one of ``GUARDS``."""

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field that must name a known guard."""
        return ma.fields.String(
            validate=[ma.validate.OneOf(GUARDS, error=BAD_GUARD)], error_messages=_TEXT_MESSAGES, **options
        )

    def read(self, value: Any) -> str:
        """Return the guard; raise NotPlain for anything else."""
        if type(value) is not str or value not in GUARDS:
            raise NotPlain
        return value


class Period(Kind):
    """A duration text; one that does not parse loads as an invalid Duration for ``validate`` to report."""

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a field that must be text and loads a Duration."""
        return _DurationField(**options)

    def read(self, value: Any) -> Duration:
        """Return the Duration of a text; raise NotPlain for anything else."""
        if type(value) is not str:
            raise NotPlain
        return Duration.lenient(value)


class Deadline(Kind):
    """A duration text, or a map of risk levels (high, medium, low) to duration texts."""

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a field that loads a DurationSpec."""
        return _DurationSpecField(**options)

    def read(self, value: Any) -> DurationSpec:
        """Return the DurationSpec; raise NotPlain for anything but a text or a non-empty map of known levels."""
        if type(value) is str:
            return DurationSpec(single=Duration.lenient(value))
        if type(value) is not dict or not value:
            raise NotPlain
        durations = {}
        for level, text in value.items():
            if level not in RISK_LEVELS or type(text) is not str:
                raise NotPlain
            durations[level] = Duration.lenient(text)
        return DurationSpec(**durations)


class ListOf(Kind):
    """A list of values of one kind, held as a tuple; an optional list left out or null is empty."""

    empty = ()

    def __init__(self, item: Kind) -> None:
        self.item = item

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a list field whose items are checked as the item kind says; an item may not be null."""
        return ma.fields.List(self.item.schema_field(), error_messages={**_COMMON, "invalid": NOT_LIST}, **options)

    def read(self, value: Any) -> tuple[Any, ...]:
        """Return the items read; raise NotPlain for anything but a list of plainly right items."""
        if type(value) is not list:
            raise NotPlain
        read = self.item.read
        return tuple([read(item) for item in value])

    def finish(self, loaded: list[Any] | None) -> tuple[Any, ...]:
        """Return the loaded items as a tuple."""
        return tuple(loaded or ())


class Field:
    """One field of a mapping in the format.

    ``name`` is how the document writes it and ``attribute`` the dataclass
    attribute, if different. A required field must be given and not null. A
    field with a ``default`` (written as in a document) means the default when
    left out, and refuses null. Any other field is optional: left out or null,
    it holds its kind's empty value. A ``translated`` field may have
    translations beside it (``name_ru``, ``name_kk``), kept in ``extra``, which
    must be text.
    """

    def __init__(
        self,
        name: str,
        kind: Kind,
        *,
        required: bool = False,
        default: Any = None,
        attribute: str | None = None,
        translated: bool = False,
    ) -> None:
        self.name = name
        self.kind = kind
        self.required = required
        self.default = default
        self.attribute = attribute or name
        self.nullable = not required and default is None
        #: The extension fields that translate this one, if it is translated.
        self.translations = translation_fields(name) if translated else ()

    def schema_field(self) -> ma.fields.Field:
        """Return the marshmallow field that checks this field of a mapping."""
        if self.required:
            options: dict[str, Any] = {"required": True}
        elif self.default is not None:
            options = {"load_default": self.default}
        else:
            options = {"allow_none": True}
        return self.kind.schema_field(data_key=self.name, **options)

    def read(self, document: Mapping[Any, Any]) -> Any:
        """Return this field of a document as the dataclass holds it; raise NotPlain unless it is plainly right."""
        value = document.get(self.name, self.default)
        if value is None:
            if not self.nullable:
                raise NotPlain
            return self.kind.empty
        return self.kind.read(value)


class Shape(Kind):
    """A mapping of fields (a stage, a transition, a whole definition), loaded into a dataclass."""

    def __init__(self, model: type, *fields: Field) -> None:
        self.model = model
        self.fields = fields
        #: The names the format knows; any other field of the mapping is kept in ``extra``.
        self.names = frozenset(field.name for field in fields)
        #: The translations of the translated fields, which must be text (null counts as absent).
        self.translations = tuple(key for field in fields for key in field.translations)
        #: The field names in the order a reader meets them, each translation after what it translates.
        self.reading_order = tuple(name for field in fields for name in (field.name, *field.translations))
        self.schema = _schema_class(self)

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a field nesting this shape's schema; anything but a mapping is refused as one."""
        return ma.fields.Nested(
            self.schema, error_messages={**_COMMON, "null": NOT_MAPPING, "type": NOT_MAPPING}, **options
        )

    def read(self, value: Any) -> Any:
        """Return the dataclass of a plain dict; raise NotPlain unless every field is plainly right."""
        if type(value) is not dict:
            raise NotPlain
        for key in self.translations:
            if not _is_optional_text(value.get(key)):
                raise NotPlain
        values = {field.attribute: field.read(value) for field in self.fields}
        return self.model(**values, extra=self.extra(value))

    def build(self, loaded: Mapping[str, Any], original: Mapping[Any, Any]) -> Any:
        """Return the dataclass of what the schema loaded, keeping the original's unknown fields."""
        values = {field.attribute: field.kind.finish(loaded.get(field.attribute)) for field in self.fields}
        return self.model(**values, extra=self.extra(original))

    def extra(self, document: Mapping[Any, Any]) -> dict[Any, Any]:
        """Return the fields of a document the format does not know, as written."""
        return {key: value for key, value in document.items() if key not in self.names}


class _ShapeSchema(ma.Schema):
    """The schema of a Shape: its messages can be translated, its unknown fields go to ``extra``."""

    #: The shape the schema checks.
    shape: ClassVar[Shape]
    error_messages: ClassVar[dict[str, str]] = {"type": NOT_MAPPING, "unknown": OTHER_SHAPE}

    class Meta:
        unknown = ma.EXCLUDE

    @ma.validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_translations(self, data: Any, original: Any, **kwargs: Any) -> None:
        """Refuse a translation that is not text; null counts as absent."""
        if not isinstance(original, Mapping):
            return
        errors = {key: [NOT_TEXT] for key in self.shape.translations if not _is_optional_text(original.get(key))}
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load(pass_original=True)
    def make_object(self, data: dict[str, Any], original: Mapping[Any, Any], **kwargs: Any) -> Any:
        """Build the shape's dataclass, keeping unknown fields."""
        return self.shape.build(data, original)


def _schema_class(shape: Shape) -> type[ma.Schema]:
    """Return the marshmallow schema of a shape, as if declared ``class StageSchema(_ShapeSchema)`` field by field."""
    declared = {field.attribute: field.schema_field() for field in shape.fields}
    return type(f"{shape.model.__name__}Schema", (_ShapeSchema,), {"__module__": __name__, "shape": shape, **declared})


class _DurationField(ma.fields.Field):
    """A duration text; one that does not parse loads as an invalid Duration for ``validate`` to report."""

    default_error_messages: ClassVar[dict[str, str]] = {**_COMMON, "invalid": NOT_DURATION}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Duration:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return Duration.lenient(value)


class _DurationSpecField(ma.fields.Field):
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
            raise ma.ValidationError(errors)
        return DurationSpec(**{level: Duration.lenient(text) for level, text in value.items()})


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError(BLANK)


def _known_calendar(value: str) -> None:
    if not is_known_calendar(value):
        raise ma.ValidationError(BAD_CALENDAR)


def _is_optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


STAGE = Shape(
    Stage,
    Field("key", Key(), required=True),
    Field("name", Text(blank=False), required=True, translated=True),
    Field("description", Text()),
    Field("agency_type", Text(blank=False), required=True),
    Field("start", Flag(), default=False, attribute="is_start"),
    Field("terminal", Flag(), default=False, attribute="is_terminal"),
    Field("respond_within", Deadline()),
    Field("complete_within", Deadline()),
    Field("review_every", Period()),
    Field("reminders", ListOf(Period())),
    Field("on_timeout", Choice(OnTimeout, BAD_ON_TIMEOUT), default=OnTimeout.escalate.value),
)

TRANSITION = Shape(
    Transition,
    Field("from", Text(blank=False), required=True, attribute="from_stage"),
    Field("to", Text(blank=False), required=True, attribute="to_stage"),
    Field("label", Text(), translated=True),
    Field("mode", Choice(Mode, BAD_MODE), default=Mode.handover.value),
    Field("requires", ListOf(Guard())),
    Field("return", Flag(), default=False, attribute="is_return"),
)

DEFINITION = Shape(
    Definition,
    Field("key", Key(), required=True),
    Field("name", Text(blank=False), required=True, translated=True),
    Field("description", Text()),
    Field("calendar", Calendar()),
    Field("retention", Period()),
    Field("stages", ListOf(STAGE), required=True),
    Field("transitions", ListOf(TRANSITION)),
)

StageSchema = STAGE.schema
TransitionSchema = TRANSITION.schema
DefinitionSchema = DEFINITION.schema
_SCHEMA = DefinitionSchema()


def load_definition(data: Any) -> tuple[Definition | None, list[Problem]]:
    """Load a parsed document; return (definition, []) or (None, every ``schema`` problem). Never raises."""
    if not isinstance(data, Mapping):
        return None, [make_problem("schema", NOT_A_DOCUMENT)]
    try:
        return DEFINITION.read(data), []
    except NotPlain:
        pass
    try:
        return _SCHEMA.load(data), []
    except ma.ValidationError as error:
        return None, _shape_problems(error.messages)


def _field_order() -> dict[str, int]:
    """Rank field names in the order a reader meets them, for listing problems.

    One rank serves all three shapes because a mapping of problems holds the
    fields of one shape only, and the shapes agree on the order of the names
    they share (key, name, description).
    """
    names = ["_schema", *DEFINITION.reading_order, *STAGE.reading_order, *TRANSITION.reading_order, *RISK_LEVELS]
    return {name: rank for rank, name in enumerate(dict.fromkeys(names))}


_FIELD_ORDER = _field_order()


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

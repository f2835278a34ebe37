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
  Each shape's ``read`` is generated from its fields (``Shape.source``), each
  kind's test inlined, so that a stage costs a few microseconds, about as much
  as NetworkX spends on it; equal durations are read once and shared.

Fields the format does not know are kept in ``extra``. Whether the graph makes
sense is ``validate``'s job.
"""

import dataclasses
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import cached_property, lru_cache
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


# Durations are immutable and a document repeats a few texts many times: reading one is a look-up.
@lru_cache(maxsize=4096)
def _duration(text: str) -> Duration:
    return Duration.lenient(text)


@lru_cache(maxsize=4096)
def _single_spec(text: str) -> DurationSpec:
    return DurationSpec(single=_duration(text))


@lru_cache(maxsize=4096)
def _level_spec(high: Any, medium: Any, low: Any, size: int) -> DurationSpec:
    """Return the DurationSpec of a map's texts per level, given its size; raise NotPlain unless plainly right.

    The map is plain when it names only risk levels (the size says so), at least one, each to text.
    """
    levels = {level: text for level, text in zip(RISK_LEVELS, (high, medium, low), strict=True) if text is not None}
    if not levels or len(levels) != size or any(type(text) is not str for text in levels.values()):
        raise NotPlain
    return DurationSpec(**{level: _duration(text) for level, text in levels.items()})


@lru_cache(maxsize=4096)
def _periods(texts: tuple[Any, ...]) -> tuple[Duration, ...]:
    """Return the Durations of a list's items; raise NotPlain unless each is text."""
    if any(type(text) is not str for text in texts):
        raise NotPlain
    return tuple(map(_duration, texts))


# The kinds of value a field may hold. Each gives the marshmallow field that
# checks a value and explains what is wrong with it, and the fast path for a
# value of exactly the expected plain type: ``plain``, a condition on the value
# that holds when it is plainly right, and ``held``, what the dataclass then
# holds. Both are Python expressions of ``{value}``, naming the objects of
# ``names()`` as ``{name}``: a shape's reader inlines them for each of its
# fields, and ``read`` is compiled from them for a value on its own. Anything
# not plain raises NotPlain, even what the schema would accept.


class Kind:
    """What a field holds; a base for the kinds below."""

    #: What an optional field holds when the document leaves it out or gives null.
    empty: Any = None
    #: When a value is plainly right, and what the dataclass then holds (see above).
    plain = "True"
    held = "{value}"

    def names(self) -> dict[str, Any]:
        """Return the objects ``plain`` and ``held`` name."""
        return {}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return the marshmallow field for this kind; ``options`` go to the field (data_key, required...)."""
        raise NotImplementedError

    @cached_property
    def read(self) -> Callable[[Any], Any]:
        """Return the value as the dataclass holds it; raise NotPlain unless it is plainly right."""
        names = {f"_{name}": value for name, value in self.names().items()}
        expressions = {name[1:]: name for name in names} | {"value": "value"}
        source = (
            f"def read(value):\n"
            f"    if not ({self.plain.format(**expressions)}):\n"
            f"        raise NotPlain\n"
            f"    try:\n"
            f"        return {self.held.format(**expressions)}\n"
            f"    except TypeError:\n"  # an unhashable value where a text belongs: no text
            f"        raise NotPlain from None\n"
        )
        return _compile(source, names, "read")

    def finish(self, loaded: Any) -> Any:
        """Return what the schema loaded as the dataclass holds it."""
        return loaded


class Key(Kind):
    """A workflow or stage key: 1 to 64 lowercase letters, digits and hyphens."""

    plain = "type({value}) is str and {match}({value})"

    def names(self) -> dict[str, Any]:
        """Return the key pattern's match."""
        return {"match": _KEY.match}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field that must match the key pattern."""
        return ma.fields.String(
            validate=[ma.validate.Regexp(_KEY_PATTERN, error=BAD_KEY)], error_messages=_TEXT_MESSAGES, **options
        )


class Text(Kind):
    """Text, which may be blank unless ``blank`` is False."""

    def __init__(self, *, blank: bool = True) -> None:
        self.blank = blank
        self.plain = "type({value}) is str" if blank else "type({value}) is str and {value}.strip()"

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field, refusing blank text if need be."""
        validators = [] if self.blank else [_not_blank]
        return ma.fields.String(validate=validators, error_messages=_TEXT_MESSAGES, **options)


class Calendar(Kind):
    """An ISO country code whose public holidays are known, such as KZ."""

    plain = "type({value}) is str and {known}({value})"

    def names(self) -> dict[str, Any]:
        """Return the test of a known calendar."""
        return {"known": is_known_calendar}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field that must name a known calendar."""
        return ma.fields.String(validate=[_known_calendar], error_messages=_TEXT_MESSAGES, **options)


class Flag(Kind):
    """true or false.

    Not "yes", "no" or "on": in a JSON document those are more likely a mistake
    than a flag. The schema does let 1 and 0 through, as they equal True and False.
    """

    plain = "type({value}) is bool"

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a boolean field that takes only true and false."""
        return ma.fields.Boolean(
            truthy={True}, falsy={False}, error_messages={**_COMMON, "invalid": NOT_BOOLEAN}, **options
        )


class Choice(Kind):
    """One value of an enumeration, written as its text; ``error`` says which values there are."""

    plain = "type({value}) is str and {value} in {members}"
    held = "{members}[{value}]"

    def __init__(self, choices: type[StrEnum], error: str) -> None:
        self.choices = choices
        self.error = error
        self._members = {member.value: member for member in choices}

    def names(self) -> dict[str, Any]:
        """Return the members by their text."""
        return {"members": self._members}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field that must be one of the values."""
        return ma.fields.String(
            validate=ma.validate.OneOf(list(self._members), error=self.error),
            error_messages={**_COMMON, "invalid": self.error},
            **options,
        )

    def finish(self, loaded: str) -> StrEnum:
        """Return the member the loaded text names."""
        return self.choices(loaded)


class Guard(Kind):
    """A guard a transition may require: one of ``GUARDS``."""

    plain = "type({value}) is str and {value} in {guards}"

    def names(self) -> dict[str, Any]:
        """Return the guards."""
        return {"guards": GUARDS}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a text field that must name a known guard."""
        return ma.fields.String(
            validate=[ma.validate.OneOf(GUARDS, error=BAD_GUARD)], error_messages=_TEXT_MESSAGES, **options
        )


class Period(Kind):
    """A duration text; one that does not parse loads as an invalid Duration for ``validate`` to report."""

    plain = "type({value}) is str"
    held = "{duration}({value})"

    def names(self) -> dict[str, Any]:
        """Return what reads a duration text."""
        return {"duration": _duration}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a field that must be text and loads a Duration."""
        return _DurationField(**options)


class Deadline(Kind):
    """A duration text, or a map of risk levels (high, medium, low) to duration texts."""

    plain = "type({value}) is str or type({value}) is dict"
    # A map is read by its three levels, not item by item: a look-up of four values.
    held = (
        "{single}({value}) if type({value}) is str"
        " else {levels}({value}.get('high'), {value}.get('medium'), {value}.get('low'), len({value}))"
    )

    def names(self) -> dict[str, Any]:
        """Return what reads a duration text and a map of levels."""
        return {"single": _single_spec, "levels": _level_spec}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a field that loads a DurationSpec."""
        return _DurationSpecField(**options)


class ListOf(Kind):
    """A list of values of one kind, held as a tuple; an optional list left out or null is empty."""

    empty = ()
    plain = "type({value}) is list"
    held = "tuple(map({item}, {value}))"

    def __init__(self, item: Kind) -> None:
        self.item = item
        if isinstance(item, Period):
            # Reminders repeat: the Durations of a list of texts are looked up at once.
            self.held = "{periods}(tuple({value}))"

    def names(self) -> dict[str, Any]:
        """Return what reads an item."""
        return {"item": self.item.read, "periods": _periods}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a list field whose items are checked as the item kind says; an item may not be null."""
        return ma.fields.List(self.item.schema_field(), error_messages={**_COMMON, "invalid": NOT_LIST}, **options)

    def finish(self, loaded: list[Any] | None) -> tuple[Any, ...]:
        """Return the loaded items as a tuple."""
        return tuple(loaded or ())


def _compile(source: str, names: dict[str, Any], function: str) -> Callable[..., Any]:
    """Return the function a generated ``source`` defines, with ``names`` and NotPlain as its globals."""
    namespace = {"NotPlain": NotPlain, **names}
    exec(compile(source, f"<workflows.format {function}>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace[function]


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


class Shape(Kind):
    """A mapping of fields (a stage, a transition, a whole definition), loaded into a dataclass."""

    held = "{read}({value})"

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
        #: The source of ``read``, generated from the fields.
        self.source, namespace = self._reader_source()
        self.read = _compile(self.source, namespace, "read")

    def names(self) -> dict[str, Any]:  # type: ignore[override]
        """Return what reads the shape."""
        return {"read": self.read}

    def schema_field(self, **options: Any) -> ma.fields.Field:
        """Return a field nesting this shape's schema; anything but a mapping is refused as one."""
        return ma.fields.Nested(
            self.schema, error_messages={**_COMMON, "null": NOT_MAPPING, "type": NOT_MAPPING}, **options
        )

    def _reader_source(self) -> tuple[str, dict[str, Any]]:
        """Return the source of ``read``, the dataclass of a plain dict (NotPlain unless every field is plainly
        right), and the objects it names: each field's kind inlined, read straight into the dataclass."""
        namespace: dict[str, Any] = {"_model": self.model, "_new": object.__new__, "_ABSENT": _ABSENT,
                                     "_known": self.names.issuperset, "_unknown": self._unknown}
        lines = ["def read(value):", "  try:", "    if type(value) is not dict:", "        raise NotPlain",
                 "    get = value.get"]
        for index, field in enumerate(self.fields):
            names = {f"_{index}_{name}": value for name, value in field.kind.names().items()}
            namespace.update(names)
            expressions = {name.split("_", 2)[2]: name for name in names} | {"value": "v"}
            plain, held = field.kind.plain.format(**expressions), field.kind.held.format(**expressions)
            name, target = repr(field.name), f"f{index}"
            if field.required:
                lines += [f"    v = get({name})", f"    if v is None or not ({plain}):", "        raise NotPlain",
                          f"    {target} = {held}"]
            elif field.default is not None:
                namespace[f"_{index}"] = field.kind.read(field.default)
                lines += [f"    v = get({name}, _ABSENT)", "    if v is _ABSENT:", f"        {target} = _{index}",
                          f"    elif v is not None and ({plain}):", f"        {target} = {held}",
                          "    else:", "        raise NotPlain"]
            else:
                namespace[f"_{index}"] = field.kind.empty
                lines += [f"    v = get({name})", "    if v is None:", f"        {target} = _{index}",
                          f"    elif {plain}:", f"        {target} = {held}", "    else:", "        raise NotPlain"]
        lines.append("    extra = {} if _known(value) else _unknown(value)")
        if _may_fill(self.model, self.fields):
            lines += ["    made = _new(_model)", "    filled = made.__dict__"]
            lines += [f"    filled[{field.attribute!r}] = f{index}" for index, field in enumerate(self.fields)]
            lines += ["    filled['extra'] = extra", "    return made"]
        else:
            values = ", ".join(f"{field.attribute}=f{index}" for index, field in enumerate(self.fields))
            lines.append(f"    return _model({values}, extra=extra)")
        # The lists and maps of texts are looked up whole; an unhashable item in one is no text.
        lines += ["  except TypeError:", "    raise NotPlain from None"]
        return "\n".join(lines) + "\n", namespace

    def _unknown(self, value: dict[Any, Any]) -> dict[Any, Any]:
        """Return the fields of a plain dict the format does not know; raise NotPlain for a translation not text."""
        for key in self.translations:
            if not _is_optional_text(value.get(key)):
                raise NotPlain
        return self.extra(value)

    def build(self, loaded: Mapping[str, Any], original: Mapping[Any, Any]) -> Any:
        """Return the dataclass of what the schema loaded, keeping the original's unknown fields."""
        values = {field.attribute: field.kind.finish(loaded.get(field.attribute)) for field in self.fields}
        return self.model(**values, extra=self.extra(original))

    def extra(self, document: Mapping[Any, Any]) -> dict[Any, Any]:
        """Return the fields of a document the format does not know, as written."""
        return {key: value for key, value in document.items() if key not in self.names}


# What ``read`` meets when a document leaves out a field that has a default.
_ABSENT = object()


def _may_fill(model: type, fields: tuple[Field, ...]) -> bool:
    """Return whether ``read`` may build the model by filling a new instance's dictionary.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``: some 1.5 µs
    for a transition, more than reading it. Where ``__init__`` would do no more than set the fields
    (no ``__post_init__``, every field given by the shape or ``extra``), ``read`` fills the
    instance's dictionary itself; the instance is the same, as frozen, equal and hashable.
    """
    attributes = {field.attribute for field in fields} | {"extra"}
    return not hasattr(model, "__post_init__") and attributes == {field.name for field in dataclasses.fields(model)}


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

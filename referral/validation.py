"""The one description of each input: marshmallow load schemas whose messages are in the reader's language.

The API loads a request body through a schema, the web forms load what was posted through the same schema
(``web.forms.SchemaForm``), and the CLI loads its files through it too. A schema checks each field and the
fields of one record together; the rules across rows (a taken code, a workflow that exists) stay in services.
"""

from datetime import date

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .errors import Invalid

#: marshmallow's own messages that need no value, in words a person reads, by error key.
_FIELD_MESSAGES = {
    "required": _l("This field is required."),
    "null": _l("This field is required."),
    "validator_failed": _l("This value is not valid."),
}
_INVALID = {
    ma.fields.Date: _l("Not a valid date: use the form YYYY-MM-DD."),
    ma.fields.Integer: _l("Not a whole number."),
    ma.fields.Boolean: _l("Not a yes or no."),
    ma.fields.Email: _l("Not a valid e-mail address."),
    ma.fields.List: _l("Not a list."),
    ma.fields.String: _l("Not a text."),
}


def _speak(field: ma.fields.Field) -> None:
    """Replace a field's built-in English messages (those it was not given) by translatable ones."""
    defaults = {}
    for cls in reversed(type(field).__mro__):
        defaults.update(getattr(cls, "default_error_messages", {}))
    for key, message in _FIELD_MESSAGES.items():
        if field.error_messages.get(key) == defaults.get(key):
            field.error_messages[key] = message
    invalid = next((text for cls, text in _INVALID.items() if isinstance(field, cls)), None)
    if invalid is not None and field.error_messages.get("invalid") == defaults.get("invalid"):
        field.error_messages["invalid"] = invalid
    if isinstance(field, ma.fields.List):
        _speak(field.inner)


class InputSchema(ma.Schema):
    """A load schema: unknown fields are refused and every message can be translated."""

    class Meta:
        unknown = ma.RAISE

    error_messages = {"unknown": _l("This field is not expected here."), "type": _l("Not an object.")}

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        _speak(field_obj)

    def handle_error(self, error: ma.ValidationError, data, **kwargs) -> None:
        # Lazy messages become text now, in the language of the request that is being answered.
        raise ma.ValidationError(plain(error.messages), error.field_name, data, valid_data=error.valid_data)


def load(schema: ma.Schema, values: dict):
    """Load values outside a request (the CLI, the demo) through a schema; raise Invalid naming each field."""
    try:
        return schema.load(values)
    except ma.ValidationError as error:
        raise Invalid(_l("The request contains invalid data."), errors=error.messages) from None


def plain(messages):
    """Return validation messages with every lazy text turned into a string."""
    if isinstance(messages, dict):
        # A lazy message raised alone is not a list to marshmallow: give every field a list, as for the others.
        return {key: plain(value if isinstance(value, dict | list | tuple) else [value])
                for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [plain(value) for value in messages]
    return messages if isinstance(messages, str | int | float | type(None)) else str(messages)


def refuse(message, field_name: str | None = None):
    """Raise a validation error with one lazy message (a bare lazy text would be read as a list of letters)."""
    if field_name is None:
        raise ma.ValidationError([message])
    raise ma.ValidationError([message], field_name)


class Text(ma.fields.String):
    """A line or paragraph of text, stripped; an empty one loads as None, and ``required`` refuses it."""

    def __init__(self, *, max_length: int, required: bool = False, too_long=None, **kwargs):
        self.max_length = max_length
        #: A lazy message with ``%(max)d`` for a text over ``max_length``, instead of the usual one.
        self.too_long = too_long
        super().__init__(required=required, allow_none=not required,
                         load_default=None if not required else ma.missing, **kwargs)
        self.validators.insert(0, self._check)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        return text or None

    def deserialize(self, value, attr=None, data=None, **kwargs):
        output = super().deserialize(value, attr, data, **kwargs)
        if output is None and self.required:
            raise ma.ValidationError(_FIELD_MESSAGES["required"])
        return output

    def _check(self, value: str | None) -> None:
        if value is not None and len(value) > self.max_length:
            if self.too_long is not None:
                refuse(self.too_long % {"max": self.max_length})
            refuse(_l("At most %(count)s characters.", count=self.max_length))


def one_of(choices, message) -> ma.validate.OneOf:
    """Return a validator that accepts only ``choices``, saying ``message`` otherwise."""
    return ma.validate.OneOf(list(choices), error=message)


def not_in_future(message):
    """Return a validator refusing a date after today."""

    def check(value: date) -> None:
        if value is not None and value > date.today():
            refuse(message)

    return check

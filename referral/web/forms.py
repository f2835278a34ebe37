"""Forms that render an input's one schema: the form draws the fields and keeps CSRF, the schema says what is valid."""

import marshmallow as ma
from flask import flash
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, PasswordField

from ..validation import Text


def _schema_fields(schema: ma.Schema) -> dict[str, tuple[str | None, ma.fields.Field]]:
    """Return each loadable field by name, with the nested record (e.g. ``child``) it belongs to."""
    found = {}
    for name, field in schema.load_fields.items():
        if isinstance(field, ma.fields.Nested):
            for inner_name, inner in field.schema.load_fields.items():
                found[inner.data_key or inner_name] = (field.data_key or name, inner)
        else:
            found[field.data_key or name] = (None, field)
    return found


class SchemaForm(FlaskForm):
    """A form whose fields a marshmallow load schema checks: ``load()`` returns the schema's data or None.

    The schema marks which fields are required and how long a text may be, so the page shows ``*`` and
    ``maxlength`` from the same description the API uses. A field the schema does not know is only drawn.
    """

    #: The input's load schema (an instance); set by each subclass.
    schema: ma.Schema

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        described = _schema_fields(self.schema)
        for field in self:
            _, rule = described.get(field.name, (None, None))
            if rule is None:
                continue
            field.flags.required = rule.required
            if isinstance(rule, Text):
                field.render_kw = {**(field.render_kw or {}), "maxlength": rule.max_length}

    def posted(self) -> dict:
        """Return what was posted for the schema's fields: a text trimmed, an empty one left out, lists whole."""
        described = _schema_fields(self.schema)
        values: dict = {}
        for field in self:
            if field.name not in described:
                continue
            nest, rule = described[field.name]
            if isinstance(field, FieldList):
                continue  # rows of sub-forms: the form that has them says how they are posted
            if isinstance(field, BooleanField):
                value = bool(field.data)  # an unticked box is not posted at all: it means no
            elif not field.raw_data:
                continue
            elif isinstance(rule, ma.fields.List):
                value = [item for item in field.raw_data if item]
            else:
                value = field.raw_data[0]
                if isinstance(value, str) and not isinstance(field, PasswordField):
                    value = value.strip()  # a password is taken as typed
                if value == "":
                    continue
            (values.setdefault(nest, {}) if nest else values)[field.name] = value
        return values

    def load(self, **extra):
        """Load what was posted (and ``extra`` values) through the schema; attach its messages on failure."""
        try:
            return self.schema.load({**self.posted(), **extra}, unknown=ma.EXCLUDE)
        except ma.ValidationError as error:
            self.attach(error.messages)
            return None

    def attach(self, messages: dict, owner: str | None = None) -> None:
        """Show a schema's or a service's field messages beside the fields they name (nested records flattened)."""
        for name, value in messages.items():
            # A list's item (``{"languages": {0: [...]}}``) is shown on the list's own field.
            name = name if isinstance(name, str) and name != "_schema" else owner
            if isinstance(value, dict):
                self.attach(value, owner=name)
                continue
            field = getattr(self, name, None) if name else None
            texts = [str(text) for text in (value if isinstance(value, list) else [value])]
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors or []) + texts
            else:
                for text in texts:
                    flash(text, "danger")

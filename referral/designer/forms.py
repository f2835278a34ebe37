"""Forms of the designer pages; the editor's tables are read by ``editing.document_from_form``."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class NewWorkflowForm(FlaskForm):
    key = StringField(_l("Key"), validators=[
        DataRequired(), Length(max=64),
        Regexp(r"^[a-z0-9-]+$", message=_l("Use lower-case letters, digits and hyphens only.")),
    ], description=_l("A stable identifier such as family-reunification. It cannot be changed later."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])


class ImportForm(FlaskForm):
    file = FileField(_l("Workflow file (YAML or JSON)"), validators=[FileRequired()])
    publish = BooleanField(_l("Publish it at once (only if it has no errors)"))


class PublishForm(FlaskForm):
    note = TextAreaField(_l("What changed and why"), validators=[Optional(), Length(max=2000)],
                         description=_l("Kept with the version; people reading the history will see it."))

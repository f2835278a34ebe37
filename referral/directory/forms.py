"""The agency form of the directory pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp


class AgencyForm(FlaskForm):
    code = StringField(_l("Code"), validators=[
        DataRequired(), Length(max=64),
        Regexp(r"^[a-z0-9-]+$", message=_l("Use lower-case letters, digits and hyphens only.")),
    ], description=_l("A stable identifier: lower-case letters, digits and hyphens. It cannot be changed later."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    name_ru = StringField(_l("Name in Russian"), validators=[Optional(), Length(max=200)])
    type = SelectField(_l("Type"), validators=[DataRequired()])
    region = SelectField(_l("Region"), validators=[DataRequired()])
    district = StringField(_l("District"), validators=[Optional(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    services = TextAreaField(_l("Services offered"), validators=[Optional(), Length(max=5000)],
                             description=_l("One service per line."))
    is_active = BooleanField(_l("Active"), default=True)


class ImportForm(FlaskForm):
    file = FileField(_l("Directory file (JSON)"), validators=[FileRequired()])

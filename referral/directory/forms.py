"""The agency form of the directory pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from .models import TEXT_LIMITS


class AgencyForm(FlaskForm):
    code = StringField(_l("Code"), validators=[
        DataRequired(), Length(max=TEXT_LIMITS["code"]),
        Regexp(r"^[a-z0-9-]+$", message=_l("Use lower-case letters, digits and hyphens only.")),
    ], description=_l("A stable identifier: lower-case letters, digits and hyphens. It cannot be changed later."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=TEXT_LIMITS["name"])])
    name_ru = StringField(_l("Name in Russian"), validators=[Optional(), Length(max=TEXT_LIMITS["name_ru"])])
    name_kk = StringField(_l("Name in Kazakh"), validators=[Optional(), Length(max=TEXT_LIMITS["name_kk"])])
    type = SelectField(_l("Type"), validators=[DataRequired()])
    region = SelectField(_l("Region"), validators=[DataRequired()])
    district = StringField(_l("District"), validators=[Optional(), Length(max=TEXT_LIMITS["district"])])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=TEXT_LIMITS["address"])])
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=TEXT_LIMITS["email"])])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=TEXT_LIMITS["phone"])])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    services = TextAreaField(_l("Services offered"), validators=[Optional(), Length(max=5000)],
                             description=_l("One service per line."))
    is_active = BooleanField(_l("Active"), default=True)
    webhook_url = URLField(_l("Webhook URL"), validators=[Optional(), Length(max=TEXT_LIMITS["webhook_url"])],
                           description=_l("Where the agency's own system receives events as signed JSON "
                                          "(http:// or https://). Leave empty for no webhook."))
    #: Write-only: a password field, blanked by the edit view, so the secret never goes back to a browser.
    webhook_secret = PasswordField(
        _l("Webhook secret"), validators=[Optional(), Length(max=TEXT_LIMITS["webhook_secret"])],
        description=_l("Signs each call (HMAC-SHA256). Leave empty to keep the current one."))
    clear_webhook_secret = BooleanField(_l("Remove the webhook secret"))


class ImportForm(FlaskForm):
    file = FileField(_l("Directory file (JSON)"), validators=[FileRequired()])

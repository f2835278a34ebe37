"""The agency form of the directory pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField, TextAreaField, URLField

from ..web.forms import SchemaForm
from .schemas import AgencyFormSchema


class AgencyForm(SchemaForm):
    """The agency form: it draws the fields, ``AgencyFormSchema`` checks them (as the API's schema does)."""

    schema = AgencyFormSchema()

    code = StringField(_l("Code"), description=_l(
        "A stable identifier: lower-case letters, digits and hyphens. It cannot be changed later."))
    name = StringField(_l("Name"))
    name_ru = StringField(_l("Name in Russian"))
    name_kk = StringField(_l("Name in Kazakh"))
    type = SelectField(_l("Type"))
    region = SelectField(_l("Region"))
    district = StringField(_l("District"))
    address = StringField(_l("Address"))
    email = EmailField(_l("E-mail"))
    phone = StringField(_l("Phone"))
    description = TextAreaField(_l("Description"))
    #: One service per line, posted as the schema's list of services by the view.
    services = TextAreaField(_l("Services offered"), description=_l("One service per line."))
    is_active = BooleanField(_l("Active"), default=True)
    webhook_url = URLField(_l("Webhook URL"), description=_l(
        "Where the agency's own system receives events as signed JSON (http:// or https://). "
        "Leave empty for no webhook."))
    #: A button: saves the form and generates a secret, shown once on the page that follows.
    rotate_webhook_secret = SubmitField(_l("Save and generate a new secret"))
    clear_webhook_secret = BooleanField(_l("Remove the webhook secret"))

    def values(self) -> dict | None:
        """Return the agency's values as the schema loads them, or None (the messages beside the fields)."""
        services = [{"name": line.strip()} for line in (self.services.data or "").splitlines() if line.strip()]
        values = self.load(services=services)
        if values is None:
            return None
        if self.clear_webhook_secret.data:
            values["webhook_secret"] = None
        return values


class ImportForm(FlaskForm):
    file = FileField(_l("Directory file (JSON)"), validators=[FileRequired()])

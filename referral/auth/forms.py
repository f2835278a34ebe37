"""Forms of sign-in, profile and user administration."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..web.forms import SchemaForm
from .schemas import UserInSchema


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)],
                       description=_l("The six digits your authenticator app shows now, or one of your recovery "
                                      "codes."))


class EnrolForm(FlaskForm):
    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=40)],
                       description=_l("The six digits the app shows now, to prove it has the key."))


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1000)])


class SecondFactorPolicyForm(FlaskForm):
    required = BooleanField(_l("Require a second factor of administrators and coordinators"))


class TokenForm(FlaskForm):
    label = StringField(_l("Label (what the token is for)"), validators=[Optional(), Length(max=100)])


class ResetForm(FlaskForm):
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1000)],
                        description=_l("At least 12 characters and hard to guess: several unrelated words work well."))
    repeat = PasswordField(_l("New password again"),
                           validators=[DataRequired(), EqualTo("new", _l("The two new passwords differ."))])


class PasswordForm(ResetForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1000)])


class PreferencesForm(FlaskForm):
    wants_email = BooleanField(_l("E-mail me a copy of each notification"))
    wants_digest = BooleanField(_l("Send me a daily digest of my agency's open work"))


class UserForm(SchemaForm):
    schema = UserInSchema()

    email = EmailField(_l("E-mail"))
    name = StringField(_l("Name"))
    agency = SelectField(_l("Agency"))
    role = SelectField(_l("Role"))
    locale = SelectField(_l("Language"), choices=[SelectChoice("en", "English"), SelectChoice("ru", "Русский"),
                                                     SelectChoice("kk", "Қазақша")])
    password = PasswordField(_l("Password"), description=_l("At least 12 characters and hard to guess. "
                                                            "Leave empty to keep the current one."))
    is_active = BooleanField(_l("Active"), default=True)
    #: Not a schema field: ticked means ``is_password_allowed`` false, so a form without the box keeps the password.
    single_sign_on_only = BooleanField(_l("Single sign-on only"),
                                       description=_l("The user signs in only through the identity provider; "
                                                      "the password is refused."))

    def posted(self) -> dict:
        return {**super().posted(), "is_password_allowed": not self.single_sign_on_only.data}

"""The form behind every action button of the inbox."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional


class ActionForm(FlaskForm):
    #: The version the page showed; a stale one is refused by the service.
    version = IntegerField(validators=[InputRequired()])
    reason = TextAreaField(validators=[Optional(), Length(max=5000)])
    outcome = TextAreaField(validators=[Optional(), Length(max=5000)])
    next = HiddenField()

"""The forms behind the inbox's buttons: an action on a referral, and assigning it."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional


class ActionForm(FlaskForm):
    #: The version the page showed; a stale one is refused by the service.
    version = IntegerField(validators=[InputRequired()])
    reason = TextAreaField(validators=[Optional(), Length(max=5000)])
    outcome = TextAreaField(validators=[Optional(), Length(max=5000)])
    next = HiddenField()


class AssignForm(FlaskForm):
    """Assign to me, give back, or a supervisor's choice of a user of the agency (``assignee`` e-mail, or empty)."""

    version = IntegerField(validators=[InputRequired()])
    assignee = HiddenField(validators=[Optional(), Length(max=254)])
    next = HiddenField()


class MessageForm(FlaskForm):
    """A message to the other agency of the referral."""

    text = TextAreaField(validators=[InputRequired(), Length(max=5000)])

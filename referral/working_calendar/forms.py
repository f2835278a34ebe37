"""The form of the calendar page: a day off or a working day decided by decree."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectField, StringField

from ..web.forms import SchemaForm
from .schemas import OverrideInSchema


class OverrideForm(SchemaForm):
    """Add an override: ``OverrideInSchema`` checks it, as it checks the API's body."""

    schema = OverrideInSchema()

    date = DateField(_l("Date"))
    kind = SelectField(_l("The day is"), choices=[SelectChoice("day_off", _l("a day off")),
                                                   SelectChoice("working_day", _l("a working day"))])
    name = StringField(_l("Name of the day"),
                       description=_l("As the decree names it, e.g. “Day off moved from Saturday 4 January” or "
                                      "“Kurban ait”."))

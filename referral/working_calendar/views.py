"""The working calendar page: the merged year for everyone signed in, overrides added and removed by admins."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_login import login_required

from agencies import Permission
from workflows.durations import package_version

from ..errors import ServiceError
from ..i18n import reading_language, show_date
from ..web.access import attempt, requires, web_actor
from . import service
from .forms import OverrideForm

bp = Blueprint("calendar", __name__, url_prefix="/calendar")

DEFAULT_COUNTRY = "KZ"


def _year() -> int:
    value = request.args.get("year", "")
    year = int(value) if value.isdigit() else date.today().year
    return min(max(year, service.FIRST_YEAR), service.LAST_YEAR)


def _render(country: str, year: int, form: OverrideForm, status: int = 200):
    try:
        days = service.calendar_days(country, year, reading_language())
    except ServiceError:
        abort(404)
    return render_template("calendar/index.html", country=country.upper(), year=year, days=days, form=form,
                           package_version=package_version(), first_year=service.FIRST_YEAR,
                           last_year=service.LAST_YEAR, weekday=lambda day: format_date(day, "EEEE")), status


@bp.route("/")
@login_required
def index():
    """Show a country's year: the package's holidays and moved days, with the overrides on top."""
    country = request.args.get("country", DEFAULT_COUNTRY)
    form = OverrideForm(formdata=None)
    return _render(country, _year(), form)


@bp.route("/<country>/days", methods=["POST"])
@requires(Permission.manage_calendar)
def add(country: str):
    """Add a day off or a working day; pending working-day deadlines it moves follow."""
    form = OverrideForm()
    values = form.load()
    year = values["date"].year if values else _year()
    if values is None:
        return _render(country, year, form, 422)
    outcome = attempt(lambda: service.add_override(country, values["date"], values["kind"], values["name"],
                                                   web_actor()), form)
    if outcome.refusal is not None:
        return _render(country, year, form, outcome.refusal.status)
    day, moved = show_date(values["date"]), outcome.result.moved
    if values["kind"] == "day_off":
        flash(ngettext("%(day)s is now a day off; %(num)d pending deadline moved.",
                       "%(day)s is now a day off; %(num)d pending deadlines moved.", moved, day=day), "success")
    else:
        flash(ngettext("%(day)s is now a working day; %(num)d pending deadline moved.",
                       "%(day)s is now a working day; %(num)d pending deadlines moved.", moved, day=day), "success")
    return redirect(url_for(".index", country=country.upper(), year=year))


@bp.route("/<country>/days/<day>/remove", methods=["POST"])
@requires(Permission.manage_calendar)
def remove(country: str, day: str):
    """Remove a date's override: the package decides the day again."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    outcome = attempt(lambda: service.remove_override(country, parsed, web_actor()))
    if outcome.refusal is None:
        flash(ngettext("The override of %(day)s was removed; %(num)d pending deadline moved.",
                       "The override of %(day)s was removed; %(num)d pending deadlines moved.",
                       outcome.result.moved, day=show_date(parsed)), "success")
    return redirect(url_for(".index", country=country.upper(), year=parsed.year))

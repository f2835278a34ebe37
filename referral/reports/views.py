"""The /reports page: a period's charts, the workflow coloured by delay, the tables and their exports."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Blueprint, Response, current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agencies import REGIONS, Permission
from workflows import Definition

from ..designer import service as designer
from ..designer.drawing import Heat, workflow_svg
from ..directory.models import Agency
from ..errors import ServiceError
from ..extensions import db
from ..web.access import requires, web_actor
from ..web.labels import agency_name, by_agency_name
from ..web.locale import select_locale
from . import charts
from . import service as reports
from .export import FORMATS, TABLES, export_table
from .schemas import ReportArgs

bp = Blueprint("reports", __name__)

#: The period shown when none is asked for: the last six months.
DEFAULT_DAYS = 183
SHARES = (("share-accepted", _l("accepted")), ("share-rejected", _l("rejected")),
          ("share-no-response", _l("no response")), ("share-waiting", _l("waiting or withdrawn")))


def _today() -> date:
    return datetime.now(ZoneInfo(current_app.config["REFERRAL_TIMEZONE"])).date()


def _defaults() -> dict:
    today = _today()
    return {"first": today - timedelta(days=DEFAULT_DAYS - 1), "last": today, "region": None, "agency": None}


def _arguments() -> dict:
    """Return the page's period and filters from the query; a bad value is flashed and the default used."""
    today = _today()
    given = {key: request.args[key] for key in ("from", "to", "region", "agency") if request.args.get(key)}
    defaults = _defaults()
    try:
        values = ReportArgs().load({"from": defaults["first"].isoformat(), "to": today.isoformat(), **given})
    except ma.ValidationError as error:
        for messages in error.messages.values():
            for message in messages if isinstance(messages, list) else [messages]:
                flash(str(message), "danger")
        return defaults
    return values


def _respond_deadlines(definition: Definition | None) -> dict[str, float]:
    """Return, per agency type, the shortest time to respond its stages give at medium risk, in hours."""
    hours: dict[str, float] = {}
    for stage in definition.stages if definition is not None else ():
        duration = stage.respond_within
        if duration is None:
            continue
        duration = duration if not hasattr(duration, "for_risk") else duration.for_risk("medium")
        if duration is None or not duration.is_valid:
            continue
        value = duration.nominal.total_seconds() / 3600
        hours[stage.agency_type] = min(value, hours.get(stage.agency_type, value))
    return hours


def _hours(value: float | None) -> str:
    return "—" if value is None else _("%(hours)s h", hours=f"{value:g}")


def _respond_chart(report, deadlines: dict[str, float]):
    bars = []
    for row in report.agencies:
        segments = []
        if row.respond_p90_hours is not None:
            segments.append(("respond-p90", row.respond_p90_hours, _("90%% answered within %(hours)s",
                                                                      hours=_hours(row.respond_p90_hours))))
        if row.respond_median_hours is not None:
            segments.append(("respond-median", row.respond_median_hours,
                             _("Median: %(hours)s", hours=_hours(row.respond_median_hours))))
        deadline = deadlines.get(row.agency.type.value)
        marker = (deadline, _("Deadline to respond: %(hours)s", hours=_hours(deadline))) if deadline else None
        note = (_("median %(median)s · 90%% %(p90)s", median=_hours(row.respond_median_hours),
                  p90=_hours(row.respond_p90_hours)) if segments else _("no answer yet"))
        bars.append(charts.Bar(agency_name(row.agency), segments, marker, note))
    return charts.bar_chart("chart-respond", _("Time to respond per agency"), bars)


def _shares_chart(report):
    bars = []
    for row in report.agencies:
        waiting = max(row.received - row.accepted - row.rejected - row.cancelled_no_response, 0)
        counts = (row.accepted, row.rejected, row.cancelled_no_response, waiting)
        total = max(row.received, 1)
        segments = [(css, count / total * 100, f"{label}: {count} ({count / total:.0%})")
                    for (css, label), count in zip(SHARES, counts, strict=True) if count]
        note = _("%(accepted)s%% accepted", accepted=round(row.accepted / total * 100))
        bars.append(charts.Bar(agency_name(row.agency), segments, note=note))
    return charts.bar_chart("chart-shares", _("Answers per agency"), bars, stacked=True, scale=100)


def _overdue_chart(report):
    bars = [charts.Bar(agency_name(row.agency), [("overdue", row.overdue_now, str(row.overdue_now))],
                       note=str(row.overdue_now)) for row in report.agencies if row.overdue_now]
    return charts.bar_chart("chart-overdue", _("Overdue now per agency"), bars)


def _months_chart(report, locale: str):
    columns = []
    for row in report.months:
        year, month = row.month.split("-")
        label = f"{month}.{year[2:]}"
        columns.append((label, [("registered", row.registered, _("%(count)s cases registered", count=row.registered)),
                                ("referred", row.referred, _("%(count)s referrals sent", count=row.referred))]))
    return charts.column_chart("chart-months", _("Referrals per month"), columns)


def _heat(report) -> dict[str, Heat]:
    """Colour each stage by its median days against the slowest stage, and mark where something is overdue."""
    slowest = max([row.median_days_in_stage or 0 for row in report.stages] + [0])
    heat = {}
    for row in report.stages:
        days = row.median_days_in_stage
        level = 0 if not days or not slowest else 1 + min(3, int(days / slowest * 3.999))
        caption = _("median %(days)s d · %(count)s overdue", days="—" if days is None else f"{days:g}",
                    count=row.overdue_now)
        heat[row.stage] = Heat(level, row.overdue_now > 0, caption)
    return heat


def _workflow():
    """Return the published workflow to draw (the one asked for, or the first), and every one to choose from."""
    published = [w for w in designer.list_workflows() if designer.latest_version(w.key) is not None]
    chosen = next((w for w in published if w.key == request.args.get("workflow")), published[0] if published else None)
    if chosen is None:
        return None, None, published
    return chosen, designer.published_definition(designer.latest_version(chosen.key)), published


@bp.route("/reports/")
@requires(Permission.view_reports)
def index():
    """Show the report of a period: charts, the workflow as a heat map, the tables with their exports."""
    args = _arguments()
    actor = web_actor()
    try:
        report = reports.referral_report(actor, args["first"], args["last"], region=args["region"],
                                         agency_code=args["agency"])
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        args = _defaults()
        report = reports.referral_report(actor, args["first"], args["last"])
    db.session.commit()
    workflow, definition, workflows = _workflow()
    picture = workflow_svg(definition, id_prefix="report-wf", heat=_heat(report)) if definition else None
    locale = select_locale()
    query = {"from": args["first"].isoformat(), "to": args["last"].isoformat(),
             **({"region": args["region"]} if args["region"] else {}),
             **({"agency": args["agency"]} if args["agency"] else {})}
    agencies = by_agency_name(db.session.scalars(db.select(Agency).where(Agency.is_active)))
    return render_template(
        "reports/index.html", report=report, args=args, query=query, regions=REGIONS, locale=locale,
        agencies=agencies, picture=picture, workflow=workflow, workflows=workflows, definition=definition,
        respond_chart=_respond_chart(report, _respond_deadlines(definition)), shares_chart=_shares_chart(report),
        overdue_chart=_overdue_chart(report), months_chart=_months_chart(report, locale), tables=TABLES,
        formats=FORMATS, shares=SHARES, stage_names=_stage_names(definition))


def _stage_names(definition: Definition | None) -> dict[str, str]:
    language = select_locale()
    return {stage.key: stage.name_in(language) for stage in definition.stages} if definition else {}


@bp.route("/reports/<table>.<fmt>")
@requires(Permission.view_reports)
def export(table: str, fmt: str):
    """Download one table of the report as CSV or XLSX; the export is audited."""
    args = _arguments()
    body = export_table(web_actor(), table, fmt, args["first"], args["last"], region=args["region"],
                        agency_code=args["agency"], agency_name=agency_name)
    db.session.commit()
    filename = f"report-{table}-{args['first'].isoformat()}-{args['last'].isoformat()}.{fmt}"
    return Response(body, mimetype=FORMATS[fmt].split(";")[0], headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})

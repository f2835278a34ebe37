"""Directory pages: list, search, create, edit, deactivate, import and export agencies."""

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from wtforms import SelectChoice

from agencies import REGIONS, AgencyType, Permission

from ..extensions import db
from ..web.access import attempt, page_number, requires, web_actor
from ..web.labels import agency_name
from ..web.locale import select_locale
from . import service, transfer
from .forms import AgencyForm, ImportForm

bp = Blueprint("directory", __name__, url_prefix="/agencies")


def _fill_choices(form: AgencyForm) -> None:
    locale = select_locale()
    form.type.choices = [SelectChoice(member.value, _(member.label)) for member in AgencyType]
    form.region.choices = [SelectChoice(region.code, f"{region.name(locale)} ({region.code})")
                           for region in REGIONS]


@bp.route("/")
@login_required
def index():
    """List and search agencies, filtered by type, region and state."""
    args = request.args
    state = args.get("state", "active")
    criteria = service.AgencyFilter(
        text=args.get("q", ""),
        type=args.get("type") if args.get("type") in {t.value for t in AgencyType} else None,
        region=args.get("region") or None,
        is_active={"active": True, "inactive": False}.get(state),
    )
    pagination = db.paginate(service.agencies_query(criteria), page=page_number(), per_page=50, error_out=False)
    return render_template("directory/index.html", pagination=pagination, args=args, state=state,
                           types=list(AgencyType), regions=REGIONS, locale=select_locale())


@bp.route("/<int:agency_id>")
@login_required
def show(agency_id: int):
    """Show one agency."""
    return render_template("directory/show.html", agency=service.get_agency(agency_id), locale=select_locale())


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.manage_agencies)
def create():
    """Create an agency (and its webhook secret, shown once, if asked)."""
    form = AgencyForm()
    _fill_choices(form)
    status = 200
    if request.method == "POST":
        values = form.values()
        if values is None:
            status = 422
        else:
            rotate = values.pop("rotate_webhook_secret", False)

            def save():
                agency = service.create_agency(values, web_actor())
                return agency, service.rotate_webhook_secret(agency.id, web_actor()) if rotate else None

            outcome = attempt(save, form)
            if outcome.refusal is None:
                agency, secret = outcome.result
                flash(_("Agency %(code)s created.", code=agency.code), "success")
                if secret:
                    return _secret_shown(agency, secret)
                return redirect(url_for(".show", agency_id=agency.id))
            status = outcome.refusal.status
    return render_template("directory/form.html", form=form, agency=None), status


@bp.route("/<int:agency_id>/edit", methods=["GET", "POST"])
@requires(Permission.manage_agencies)
def edit(agency_id: int):
    """Change an agency; 'Save and generate a new secret' shows the new webhook secret once."""
    agency = service.get_agency(agency_id)
    if request.method == "GET":
        return render_template("directory/form.html", form=_filled_form(agency), agency=agency)
    form = AgencyForm()
    _fill_choices(form)
    form.code.data = agency.code
    status = 422
    values = form.values()
    if values is not None:
        rotate = values.pop("rotate_webhook_secret", False)

        def save():
            changed = service.update_agency(agency.id, _every_field(values), web_actor())
            return service.rotate_webhook_secret(changed.id, web_actor()) if rotate else None

        outcome = attempt(save, form)
        if outcome.refusal is None:
            flash(_("Changes saved."), "success")
            if outcome.result:
                return _secret_shown(agency, outcome.result)
            return redirect(url_for(".show", agency_id=agency.id))
        status = outcome.refusal.status
    return render_template("directory/form.html", form=form, agency=agency), status


def _filled_form(agency) -> AgencyForm:
    """Return the agency form filled from an agency as it is stored (never with a secret)."""
    form = AgencyForm(formdata=None, obj=agency)
    _fill_choices(form)
    form.type.data = agency.type.value
    form.services.data = "\n".join(item.get("name", "") for item in agency.services or [])
    form.code.data = agency.code
    return form


def _secret_shown(agency, secret: str):
    """Render the agency's edit page with its new webhook secret: the only time the secret is shown.

    Rendered, not redirected to, so that the secret is in no URL, session or flash message; pages are never
    cached (``Cache-Control: no-store``).
    """
    return render_template("directory/form.html", form=_filled_form(agency), agency=agency, new_secret=secret)


@bp.route("/<int:agency_id>/active", methods=["POST"])
@requires(Permission.manage_agencies)
def set_active(agency_id: int):
    """Deactivate or reactivate an agency."""
    is_active = request.form.get("is_active") == "1"
    agency = service.set_active(agency_id, is_active, web_actor())
    db.session.commit()
    flash(_("%(name)s is now active.", name=agency_name(agency)) if is_active
          else _("%(name)s is now inactive: it receives no new referrals and its users cannot sign in.",
                 name=agency_name(agency)), "success")
    return redirect(url_for(".show", agency_id=agency_id))


@bp.route("/import", methods=["GET", "POST"])
@requires(Permission.manage_agencies)
def import_file():
    """Import a directory file; a file with any error changes nothing."""
    form = ImportForm()
    result = problems = None
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            result = transfer.import_text(raw.decode("utf-8"), web_actor())
        except UnicodeDecodeError:
            problems = [{"path": "", "message": _("The file is not UTF-8 text.")}]
        except transfer.DirectoryRejected as rejected:
            db.session.rollback()
            problems = rejected.problems
        else:
            db.session.commit()
    status = 422 if problems else 200
    return render_template("directory/import.html", form=form, result=result, problems=problems), status


@bp.route("/export")
@requires(Permission.manage_agencies)
def export_file():
    """Download the whole directory as an Open Referral-style JSON file."""
    document = transfer.export_document(web_actor())
    db.session.commit()
    return Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=agencies.json"})


def _every_field(values: dict) -> dict:
    """Return a posted form's values with a field left empty as None: the form always sends every field."""
    blank = {name: None for name in ("name_ru", "name_kk", "district", "address", "email", "phone",
                                     "description", "webhook_url")}
    return {**blank, **values}

"""Case pages: list and search cases, register a case, the case record with interviews, consents, routes, timeline;
close a case that has nothing open."""

import hashlib
from dataclasses import asdict
from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from agencies import REGIONS, AgencyType, Permission, Role, Visibility, has_permission
from workflows.durations import RISK_LEVELS

from ..designer.drawing import workflow_svg
from ..directory.service import agency_by_code
from ..extensions import db
from ..i18n import reading_language
from ..notifications.service import DEADLINE_LABELS
from ..referrals import consents as withdrawal
from ..referrals import service as referrals
from ..web.access import attempt, page_number, requires, web_actor
from ..web.labels import agency_name, agency_type_label, region_name, state_label
from ..web.locale import select_locale
from . import case_file, child_record, duplicates, interviews, notes, retention, service, stuck
from .disclosures import disclosures_of
from .forms import (
    CaseForm,
    ChildForm,
    CloseCaseForm,
    ConsentForm,
    ConsentWithdrawForm,
    HoldForm,
    InterviewForm,
    NoteForm,
    ReferForm,
)
from .models import Case, InterviewKind, Sex

bp = Blueprint("cases", __name__, url_prefix="/cases")

#: Timeline lines by event kind; ``stage`` is the stage's name, ``agency`` an agency's name, ``kind`` what was
#: recorded with the child.
_EVENT_TEXTS = {
    "case.registered": _l("Case registered at “%(stage)s” by %(agency)s"),
    "referral.requested": _l("Referred to %(agency)s for “%(stage)s”"),
    "referral.accepted": _l("Referral to “%(stage)s” accepted"),
    "referral.rejected": _l("Referral to “%(stage)s” rejected"),
    "referral.started": _l("Work on “%(stage)s” started"),
    "referral.resumed": _l("Work on “%(stage)s” resumed"),
    "referral.held": _l("“%(stage)s” put on hold"),
    "referral.completed": _l("“%(stage)s” completed"),
    "referral.failed": _l("“%(stage)s” could not be completed"),
    "referral.cancelled": _l("Referral to “%(stage)s” cancelled"),
    "referral.assigned": _l("“%(stage)s” assigned to %(assignee)s"),
    "referral.unassigned": _l("“%(stage)s” no longer assigned to anyone"),
    "consent.recorded": _l("Consent recorded"),
    "consent.withdrawn": _l("Consent withdrawn"),
    "case.hold_placed": _l("Legal hold placed: the data are kept past the retention period"),
    "case.hold_lifted": _l("Legal hold lifted"),
    "case.erased": _l("Personal data erased after the retention period"),
    "interview.recorded": _l("Recorded with the child: %(kind)s, by %(agency)s"),
    "case.closed": _l("Case closed"),
    "case.risk_changed": _l("Risk level changed"),
    "case.child_changed": _l("The child's record corrected: %(fields)s"),
    "deadline.missed": _l("The %(deadline)s deadline was missed"),
}

_INTERVIEW_KINDS = {
    InterviewKind.interview: _l("Interview"),
    InterviewKind.assessment: _l("Assessment"),
    InterviewKind.medical_examination: _l("Medical examination"),
    InterviewKind.court_hearing: _l("Court hearing"),
}


def _interview_kind_label(value: str) -> str:
    try:
        return str(_INTERVIEW_KINDS[InterviewKind(value)])
    except ValueError:
        return value


_CONSENT_STATES = {"active": _l("Active"), "pending": _l("Not yet in force"), "expired": _l("Expired"),
                   "withdrawn": _l("Withdrawn")}
_CONSENT_STATE_CLASSES = {"active": "text-bg-success", "pending": "text-bg-secondary", "expired": "text-bg-warning",
                          "withdrawn": "text-bg-danger"}


def _consent_state_label(state: str) -> str:
    return str(_CONSENT_STATES.get(state, state))


def _sex_label(value: str) -> str:
    return {"female": _("Female"), "male": _("Male"), "unknown": _("Unknown")}.get(value, value)


@bp.app_context_processor
def case_labels():
    return {"risk_label": state_label, "sex_label": _sex_label, "agency_type_name": agency_type_label,
            "event_text": _event_text, "age_of": service.age_of,
            "interview_kind_label": _interview_kind_label, "nothing_open_count": _nothing_open_count,
            "consent_state_label": _consent_state_label, "consent_state_class": _CONSENT_STATE_CLASSES}


def _nothing_open_count() -> int:
    return stuck.stuck_count(web_actor())


def _event_text(event, definition) -> str:
    detail = event.detail or {}
    key = detail.get("stage") or detail.get("to_stage")
    stage = definition.stage(key).name_in(reading_language()) if key and definition.has_stage(key) else (key or "")
    code = detail.get("to_agency") or detail.get("agency")
    template = _EVENT_TEXTS.get(event.kind)
    values = {"stage": stage, "agency": _agency_name(code) if code else "",
              "kind": _interview_kind_label(detail.get("interview_kind", "")), "assignee": detail.get("assignee") or "",
              "deadline": _(DEADLINE_LABELS.get(detail.get("deadline"), detail.get("deadline") or "")),
              "fields": _field_names(detail.get("fields"))}
    return str(template) % values if template is not None else event.kind


def _agency_name(code: str) -> str:
    # A timeline names the same few agencies again and again: look each up once per request.
    names = g.setdefault("agency_names", {})
    if code not in names:
        agency = agency_by_code(code)
        names[code] = agency_name(agency) if agency is not None else code
    return names[code]


@bp.route("/")
@login_required
def index():
    """List the cases the user may see, newest first; search by number, filter open, closed or nothing open."""
    actor = web_actor()
    status = request.args.get("status") if request.args.get("status") in ("open", "closed", "stuck") else None
    text = request.args.get("q", "")
    filters = {"risk_level": request.args.get("risk") or None, "region": request.args.get("region") or None,
               "assigned_to_me": request.args.get("mine") == "1"}
    if status == "stuck":
        statement = stuck.stuck_cases_query(actor, text=text, **filters)
    else:
        statement = service.cases_query(actor, text=text, status=status, **filters)
    pagination = db.paginate(statement, page=page_number(), per_page=50, error_out=False)
    locale = select_locale()
    rows = []
    for case, visibility in service.listed(pagination.items, actor):
        # Where else the child is stays hidden from an agency that has only been asked.
        stages = []
        if visibility is Visibility.full:
            definition = service.definition_of(case)
            stages = [definition.stage(key).name_in(locale) for key in service.active_stages(case)]
        rows.append((case, visibility, stages, visibility is Visibility.full and stuck.is_stuck(case)))
    page = render_template("cases/index.html", pagination=pagination, rows=rows, status=status, text=text,
                           may_register=bool(service.registrable_workflows(actor)),
                           full=Visibility.full, locale=locale, filters=filters, regions=REGIONS,
                           risk_levels=RISK_LEVELS,
                           nothing_open=None if status == "stuck" else stuck.stuck_count(actor))
    db.session.commit()  # the audit of the records shown
    return page


def _fill_case_choices(form: CaseForm, workflows) -> None:
    locale = select_locale()
    form.workflow.choices = [SelectChoice(definition.key, definition.name_in(locale)) for definition in workflows]
    form.risk_level.choices = [SelectChoice(level, state_label(level)) for level in RISK_LEVELS]
    # No sex is chosen for the user: a default would be recorded without anyone having looked.
    form.sex.choices = [SelectChoice("", _("Choose…")),
                        *(SelectChoice(sex.value, _sex_label(sex.value)) for sex in Sex)]
    form.region.choices = [SelectChoice(region.code, region.name(locale)) for region in REGIONS]


def _checked(child) -> str:
    """Return a fingerprint of what a duplicate check compared, so that a confirmation covers what was checked."""
    compared = (child.given_name, child.family_name, child.patronymic, child.birth_date, child.estimated_age,
                child.sex)
    return hashlib.sha256(repr(compared).encode()).hexdigest()[:32]


def _with_matches(form: CaseForm, child, matches, actor, status: int = 200, asked: int | None = None):
    """Render the case form again with what was typed and the possible duplicates, asking to confirm."""
    db.session.commit()  # the audit of the check shown
    form.checked.data = _checked(child)
    return render_template("cases/new.html", form=form, matches=matches, asked=asked,
                           openable=service.openable_cases({match.case_id for match in matches}, actor),
                           holder_names={code: _agency_name(code) for match in matches for code in match.held_by},
                           locale=select_locale()), status


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.register_cases)
def create():
    """Register a case: the child's record and the workflow it runs on (only where a workflow lets the agency).

    The first press checks for possible duplicates and, if there are any, shows them with the form as typed;
    a second press of the same record registers it. From the list the user may ask a case's holders instead.
    """
    actor = web_actor()
    workflows = service.registrable_workflows(actor)
    if not workflows:
        # Say so before anyone fills in a child's record that would then be refused.
        types = [agency_type_label(kind) for kind in service.start_agency_types()]
        return render_template("cases/new.html", form=None, registering_types=types), \
            (200 if request.method == "GET" else 403)
    form = CaseForm()
    _fill_case_choices(form, workflows)
    if request.method == "GET":
        form.region.data = actor.user.agency.region
        form.risk_level.data = "medium"
    status = 200
    if request.method == "POST":
        values = form.load()
        status = 422
        if values is not None:
            child = values["child"]
            asked = request.form.get("ask", "")
            if asked.isdigit():
                matches = duplicates.find_matches(child, actor)
                outcome = attempt(lambda: duplicates.ask_holders(int(asked), actor))
                if outcome.refusal is not None:
                    return _with_matches(form, child, duplicates.find_matches(child, actor), actor,
                                         outcome.refusal.status)
                flash(_("%(agencies)s have been asked about case %(number)s and will get in touch with your "
                        "agency. Nothing is registered until you press “Register anyway”.",
                        agencies=", ".join(_agency_name(code) for code in outcome.result.asked),
                        number=outcome.result.number), "success")
                return _with_matches(form, child, matches, actor, asked=outcome.result.case_id)
            # A second press of the record that was checked registers it; a changed record is checked again.
            matches = [] if form.checked.data == _checked(child) else duplicates.find_matches(child, actor)
            if matches:
                return _with_matches(form, child, matches, actor)
            outcome = attempt(lambda: service.register_case(values["workflow"], values["risk_level"], child, actor),
                              form)
            if outcome.refusal is None:
                flash(_("Case %(number)s registered.", number=outcome.result.number), "success")
                return redirect(url_for(".show", case_id=outcome.result.id))
            status = outcome.refusal.status
    return render_template("cases/new.html", form=form), status


#: The fields of the child's record, as the timeline names them when they are corrected.
CHILD_FIELD_LABELS = {
    "given_name": _l("given name"), "family_name": _l("family name"), "patronymic": _l("patronymic"),
    "birth_date": _l("birth date"), "estimated_age": _l("estimated age"), "sex": _l("sex"), "region": _l("region"),
    "languages": _l("languages"), "settlement": _l("district or settlement"),
    "returned_on": _l("date of return"), "guardians": _l("guardians"), "risk_level": _l("risk level"),
}


def _field_names(fields) -> str:
    return ", ".join(str(CHILD_FIELD_LABELS.get(name, name)) for name in fields or [])


@bp.route("/<int:case_id>/child", methods=["GET", "POST"])
@login_required
def edit_child(case_id: int):
    """Correct the child's record: the fields of registration, the guardians, the return and where the child lives."""
    actor = web_actor()
    case, visibility = service.get_case(case_id, actor)  # the form shows the record: a read, audited
    if visibility is not Visibility.full:
        db.session.commit()
        abort(404)
    if not child_record.may_edit_child(case, actor):
        db.session.commit()
        abort(403)
    if request.method == "GET":
        record = asdict(child_record.record_of(case))
        guardians = list(record.pop("guardians"))
        form = ChildForm(formdata=None, data={**record, "version": case.version,
                                              "guardians": guardians + [{}] * (len(guardians) >= 3)})
        db.session.commit()
        return render_template("cases/child.html", form=_fill_child_choices(form), case=case)
    form = _fill_child_choices(ChildForm())
    data = form.load(guardians=form.guardians_posted())
    status = 422
    if data is not None:
        version = int(form.version.data) if (form.version.data or "").isdigit() else None
        outcome = attempt(lambda: child_record.change_case(case_id, actor, child=asdict(data), version=version),
                          form)
        if outcome.refusal is None:
            changed = outcome.result[1]
            flash(_("Saved: %(fields)s.", fields=_field_names(changed)) if changed else _("Nothing was changed."),
                  "success")
            return redirect(url_for(".show", case_id=case_id, _anchor="child"))
        status = outcome.refusal.status
    db.session.rollback()
    return render_template("cases/child.html", form=form, case=db.session.get(Case, case_id)), status


def _fill_child_choices(form: ChildForm) -> ChildForm:
    locale = select_locale()
    form.sex.choices = [SelectChoice(sex.value, _sex_label(sex.value)) for sex in Sex]
    form.region.choices = [SelectChoice(region.code, region.name(locale)) for region in REGIONS]
    return form


@bp.route("/<int:case_id>")
@login_required
def show(case_id: int):
    """Show a case as far as the user may see it; a full read is audited."""
    return _render_case(case_id)


@bp.route("/<int:case_id>/print")
@login_required
def print_file(case_id: int):
    """Show the case file laid out for paper, as far as the user may see it; audited as an export."""
    found = case_file.case_file(case_id, web_actor(), agency_notes=request.args.get("agency_notes") == "1")
    page = render_template("cases/print.html", file=found, locale=select_locale())
    db.session.commit()  # the audit of the export
    return page


@bp.route("/<int:case_id>/hold", methods=["POST"])
@login_required
def place_hold(case_id: int):
    """Place a legal hold on the case, with a reason (coordinators of its region, admins)."""
    form = HoldForm()
    return _act_on_case(case_id, form, "hold_form", form.load(),
                        lambda values: retention.place_hold(case_id, values["reason"], web_actor()),
                        lambda _hold: _("Legal hold placed: the case's data are kept until it is lifted."),
                        "legal-hold")


@bp.route("/<int:case_id>/hold/lift", methods=["POST"])
@login_required
def lift_hold(case_id: int):
    """Lift the case's legal hold."""
    form = FlaskForm()
    if form.validate_on_submit():
        outcome = attempt(lambda: retention.lift_hold(case_id, web_actor()))
        if outcome.result is not None:
            flash(_("Legal hold lifted."), "success")
    return redirect(url_for(".show", case_id=case_id, _anchor="legal-hold"))


_DISCLOSED = {"summary": _l("Summary (age, sex, region, the referral)"), "full": _l("Full record"),
              "export": _l("Printed or exported"), "notification": _l("Notification"),
              "webhook": _l("Sent to the agency's own system")}


@bp.route("/<int:case_id>/disclosures")
@login_required
def disclosures(case_id: int):
    """Show who read or received the child's record and when, to print for a guardian (audited)."""
    found = disclosures_of(case_id, web_actor())
    case = db.session.get(Case, case_id)
    page = render_template("cases/disclosures.html", case=case, disclosures=found, what_label=_DISCLOSED,
                           agency_label=_agency_name, role_label=_role_label)
    db.session.commit()  # the audit of the read
    return page


def _role_label(value: str | None) -> str:
    return _(Role(value).label) if value else "—"


@bp.route("/<int:case_id>/consents", methods=["POST"])
@requires(Permission.record_consent)
def record_consent(case_id: int):
    """Record a consent given for the child."""
    form = ConsentForm()
    form.agency_types.choices = _agency_type_choices()
    return _act_on_case(case_id, form, "consent_form", form.load(),
                        lambda data: service.record_consent(case_id, data, web_actor()),
                        lambda _consent: _("Consent recorded."), "consents")


@bp.route("/<int:case_id>/consents/<int:consent_id>/withdraw", methods=["POST"])
@requires(Permission.record_consent)
def withdraw_consent(case_id: int, consent_id: int):
    """Withdraw a consent, with a reason; what needed it is cancelled and every agency it concerned is told."""
    form = ConsentWithdrawForm()
    form.consent_id = consent_id
    return _act_on_case(case_id, form, "withdraw_form", form.load(),
                        lambda values: withdrawal.withdraw_consent(case_id, consent_id, values["reason"], web_actor()),
                        lambda _consent: _("The consent is withdrawn: it covers nothing from now on."), "consents")


@bp.route("/<int:case_id>/interviews", methods=["POST"])
@requires(Permission.record_interviews)
def record_interview(case_id: int):
    """Record an interview with the child or an assessment the user's agency held."""
    form = InterviewForm()
    _fill_interview_choices(form)
    # The form shows the earlier interviews and what another one takes; the refusal need not repeat them.
    return _act_on_case(case_id, form, "interview_form", form.load(),
                        lambda data: interviews.record_interview(case_id, data, web_actor()),
                        lambda _interview: _("Recorded. The next agency will read it before planning another "
                                             "interview."),
                        "interviews", flash_problems=False)


@bp.route("/<int:case_id>/notes", methods=["POST"])
@login_required
def add_note(case_id: int):
    """Write a note on the case, for the user's agency or shared with every full reader."""
    form = NoteForm()
    return _act_on_case(case_id, form, "note_form", form if form.validate_on_submit() else None,
                        lambda form: notes.add_note(case_id, form.text.data, form.shared.data, web_actor()),
                        lambda note: _("Note saved.") if not note.shared
                        else _("Note saved and shared with every agency that sees the full record."), "notes")


def _fill_interview_choices(form: InterviewForm) -> None:
    form.kind.choices = [SelectChoice(kind.value, _interview_kind_label(kind.value)) for kind in InterviewKind]
    form.shared_with.choices = _agency_type_choices()


@bp.route("/<int:case_id>/referrals", methods=["POST"])
@requires(Permission.refer_cases)
def refer(case_id: int):
    """Refer the case to an agency for a next stage of its workflow."""
    form = ReferForm()
    # The service checks the agency against the route; any code may be posted.
    form.to_agency.choices = [SelectChoice(request.form.get("to_agency", ""), "")]
    return _act_on_case(case_id, form, "refer_form", form if form.validate_on_submit() else None,
                        lambda form: referrals.refer(case_id, form.to_stage.data, form.to_agency.data, form.reason.data,
                                                     web_actor(), from_stage=form.from_stage.data or None),
                        lambda made: _("Case referred to %(agency)s; they have been notified.",
                                       agency=agency_name(made.to_agency)),
                        "referrals")


@bp.route("/<int:case_id>/close", methods=["POST"])
@requires(Permission.close_region_cases)
def close(case_id: int):
    """Close a case on which no referral is open, with the coordinator's reason."""
    form = CloseCaseForm()
    submitted = form if form.validate_on_submit() else None
    if submitted is None:
        # The form sits in a notice that is gone once the case has moved on: say what was wrong up here too.
        flash(_("The case was not closed: say why, in at most %(count)s characters.", count=stuck.MAX_CLOSE_REASON),
              "danger")
    return _act_on_case(case_id, form, "close_form", submitted,
                        lambda form: stuck.close_case(case_id, form.reason.data, web_actor()),
                        lambda case: _("Case %(number)s closed. The agencies that held it have been told.",
                                       number=case.number),
                        None)


def _act_on_case(case_id: int, form, slot: str, submitted, act, said, anchor: str | None, **options):
    """Do what a form on the case page asks, and answer as every such form does.

    ``submitted`` is what the form gave (None if its input was wrong); ``act`` calls the service with it. On
    success, flash what ``said`` says of the result and go back to the case (at ``anchor``); on wrong input or a
    refusal, draw the case page again with the form (as ``slot``) and its problems. ``options`` go to ``attempt``.
    """
    if submitted is None:
        return _render_case(case_id, status=422, **{slot: form})
    outcome = attempt(lambda: act(submitted), form, **options)
    if outcome.refusal:
        return _render_case(case_id, status=outcome.refusal.status, **{slot: form})
    flash(said(outcome.result), "success")
    return redirect(url_for(".show", case_id=case_id, _anchor=anchor))


def _agency_type_choices() -> list[SelectChoice]:
    return [SelectChoice(member.value, _(member.label)) for member in AgencyType]


def _render_case(case_id: int, *, consent_form: ConsentForm | None = None, refer_form: ReferForm | None = None,
                 interview_form: InterviewForm | None = None, close_form: CloseCaseForm | None = None,
                 note_form: NoteForm | None = None, withdraw_form: ConsentWithdrawForm | None = None,
                 hold_form: HoldForm | None = None, status: int = 200):
    actor = web_actor()
    case, visibility = service.get_case(case_id, actor)
    db.session.commit()
    if visibility is not Visibility.full:
        summary = service.summary_for(case, actor)
        return render_template("cases/summary.html", case=case, age=summary.child.age, asked=summary.asked,
                               definition=service.definition_of(case), actions_for=referrals.actions_for,
                               actor=actor, locale=select_locale()), status
    definition = service.definition_of(case)
    if consent_form is None:
        consent_form = ConsentForm(formdata=None)
        consent_form.agency_types.choices = _agency_type_choices()
    if interview_form is None:
        interview_form = InterviewForm(formdata=None)
        _fill_interview_choices(interview_form)
    held = [(interview, interviews.may_read_summary(interview, actor))
            for interview in interviews.interviews_for(case, actor)]
    routes = referrals.routes_for(case, actor)
    locale = select_locale()
    refer_forms = []
    for route in routes:
        posted = refer_form is not None and refer_form.to_stage.data == route.stage.key
        form = refer_form if posted else ReferForm(formdata=None, to_stage=route.stage.key,
                                                   from_stage=route.from_stage)
        # Agencies of the case's region first, then by name as the reader reads it.
        candidates = sorted(route.candidates,
                            key=lambda a: (a.region != case.region, agency_name(a, locale).casefold()))
        form.to_agency.choices = [SelectChoice(a.code, f"{agency_name(a, locale)} — {region_name(a.region, locale)}")
                                  for a in candidates]
        refer_forms.append((route, form))
    if close_form is None:
        close_form = CloseCaseForm(formdata=None)
    active = service.active_stages(case)
    # A closed case is shown where it ended, so the picture still tells where it went.
    shown = active or service.last_stages(case)
    names = ", ".join(definition.stage(key).name_in(locale) for key in shown if key in definition.stage_keys) or "—"
    picture = workflow_svg(definition, highlight=shown, id_prefix=f"case-{case.id}",
                           title=_("Where the case is now: %(stages)s", stages=names) if active
                           else _("Where the case ended: %(stages)s", stages=names))
    return render_template(
        "cases/show.html", case=case, age=service.age_of(case), definition=definition, consent_form=consent_form,
        refer_forms=refer_forms, may_refer=_may(actor, Permission.refer_cases), picture=picture,
        active=active, events=service.timeline(case), actions_for=referrals.actions_for, actor=actor,
        may_record_consent=_may(actor, Permission.record_consent), locale=locale,
        interviews=held, interview_form=interview_form, guard=interviews.guard_of(case, actor),
        withdraw_form=withdraw_form or ConsentWithdrawForm(formdata=None), today=date.today(),
        hold_form=hold_form or HoldForm(formdata=None), may_hold=service.oversees(case, actor),
        retention_ends=retention.retention_ends(case),
        notes=notes.notes_for(case.id, actor, audit=False), note_form=note_form or NoteForm(formdata=None),
        may_record_interview=_may(actor, Permission.record_interviews),
        nothing_open=stuck.is_stuck(case), stopped=stuck.where_it_stopped(case),
        may_close=stuck.may_close(case, actor), close_form=close_form,
        may_edit_child=child_record.may_edit_child(case, actor),
    ), status


def _may(actor, permission: Permission) -> bool:
    return has_permission(actor.role, permission)

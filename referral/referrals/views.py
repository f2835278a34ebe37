"""The agency inbox: incoming referrals by status, outgoing ones, and the action buttons."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from agencies import Permission, Visibility
from workflows.lifecycle import ACTIVE_STATUSES, TABLE, Action

from ..cases import service as cases
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db
from ..web.access import attempt, page_number, requires, safe_next, show_refusal, web_actor
from ..web.labels import referral_card
from ..web.locale import select_locale
from . import messages, service
from .forms import ActionForm, AssignForm, MessageForm
from .models import Referral, current_due

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

#: Tabs of the inbox: the incoming box by status, and the outgoing box.
TABS = {
    "requested": _l("Requested"),
    "active": _l("Active"),
    "closed": _l("Closed"),
    "outgoing": _l("Sent"),
}

_DONE = {
    Action.accept: _l("Referral accepted."), Action.reject: _l("Referral rejected; the sender has been told."),
    Action.start: _l("Work started."), Action.resume: _l("Work resumed."), Action.hold: _l("Put on hold."),
    Action.complete: _l("Referral completed."), Action.fail: _l("Marked as failed."),
    Action.cancel: _l("Referral cancelled."),
}


def agency_inbox_counts() -> dict[str, int]:
    """Return the signed-in user's agency's open incoming referrals by status, counted once per request."""
    if "inbox_counts" not in g:
        g.inbox_counts = service.inbox_counts(current_user.agency_id)
    return g.inbox_counts


def assigned_to_me() -> int:
    """Return how many open referrals are assigned to the signed-in user, counted once per request."""
    if "assigned_to_me" not in g:
        g.assigned_to_me = service.assigned_count(current_user.id)
    return g.assigned_to_me


#: The inbox's second filter: whose referrals, inside the agency.
WHOSE = {"all": _l("All"), "me": _l("Mine"), "none": _l("Unassigned")}


@bp.app_context_processor
def referral_helpers():
    return {"referral_due": current_due, "action_needs": needs_of, "may_assign": service.may_assign,
            "referral_card": referral_card}




def needs_of(referral: Referral, action: Action) -> str | None:
    """Return ``reason`` or ``outcome`` when the action cannot go without it."""
    rule = TABLE.get((referral.status, action))
    return rule.needs.value if rule is not None and rule.needs is not None else None


@bp.route("/")
@requires(Permission.act_on_referrals)
def index():
    """List the agency's referrals of one tab, most urgent and oldest first."""
    actor = web_actor()
    tab = request.args.get("tab") if request.args.get("tab") in TABS else "requested"
    text = request.args.get("q", "")
    whose = request.args.get("whose") if request.args.get("whose") in WHOSE else "all"
    assignee = None if whose == "all" else whose
    if tab == "outgoing":
        statement = service.inbox_query(actor, "outgoing", None, text)
    elif tab == "active":
        statement = service.inbox_query(actor, "incoming", None, text, assignee).where(
            Referral.status.in_(ACTIVE_STATUSES))
    else:
        statement = service.inbox_query(actor, "incoming", tab, text, assignee)
    pagination = db.paginate(statement, page=page_number(), per_page=50, error_out=False)
    counts = agency_inbox_counts()
    tab_counts = {"requested": counts.get("requested", 0),
                  "active": sum(counts.get(status.value, 0) for status in ACTIVE_STATUSES)}
    return render_template("inbox/index.html", pagination=pagination, tab=tab, tabs=TABS, tab_counts=tab_counts,
                           text=text, actor=actor, actions_for=service.actions_for, whose=whose, whose_labels=WHOSE,
                           mine=assigned_to_me(),
                           definition_of=cases.definition_of, locale=select_locale())


@bp.route("/<int:referral_id>")
@requires(Permission.act_on_referrals)
def show(referral_id: int):
    """Show one referral with its actions."""
    return _render_referral(referral_id)


@bp.route("/<int:referral_id>/assign", methods=["POST"])
@requires(Permission.act_on_referrals)
def assign(referral_id: int):
    """Assign the referral to the user named (``assignee``: an e-mail, or empty for nobody) at the version shown."""
    form = AssignForm()
    if not form.validate_on_submit():
        flash(_("The form could not be accepted. Reload the page and try again."), "danger")
        return _render_referral(referral_id, status=422)
    outcome = attempt(lambda: service.assign(referral_id, form.assignee.data or None, form.version.data,
                                             web_actor()))
    if outcome.refusal:
        return _render_referral(referral_id, status=outcome.refusal.status)
    assignee = outcome.result.assignee
    flash(_("Assigned to %(name)s.", name=assignee.name) if assignee is not None
          else _("The referral is no longer assigned to anyone."), "success")
    return redirect(safe_next(form.next.data) or url_for(".show", referral_id=referral_id))


@bp.route("/<int:referral_id>/messages", methods=["POST"])
@requires(Permission.act_on_referrals)
def post_message(referral_id: int):
    """Write to the other agency of the referral."""
    form = MessageForm()
    if not form.validate_on_submit():
        flash(_("Write your message."), "danger")
        return _render_referral(referral_id, status=422)
    outcome = attempt(lambda: messages.post_message(referral_id, form.text.data, web_actor()), form)
    if outcome.refusal:
        return _render_referral(referral_id, status=outcome.refusal.status, message_form=form)
    flash(_("Message sent; the other agency has been told."), "success")
    return redirect(url_for(".show", referral_id=referral_id, _anchor="messages"))


@bp.route("/<int:referral_id>/<action>", methods=["POST"])
@requires(Permission.act_on_referrals)
def act(referral_id: int, action: str):
    """Take an action on a referral at the version the page showed."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form could not be accepted. Reload the page and try again."), "danger")
        return _render_referral(referral_id, status=422)
    try:
        service.act(referral_id, action, form.version.data, web_actor(),
                    reason=form.reason.data, outcome=form.outcome.data)
    except (Conflict, Forbidden, Invalid) as error:
        db.session.rollback()
        if service.get_referral(referral_id, web_actor()).version != form.version.data:
            flash(_("Someone changed this referral while you were looking at it. Below is how it stands now: "
                    "reload the page you came from before acting again."), "warning")
        else:
            show_refusal(error)
        # Keep what was typed, so a refusal costs the user nothing but a correction.
        typed = {"action": action, "text": form.outcome.data or form.reason.data or ""}
        return _render_referral(referral_id, status=error.status, typed=typed)
    db.session.commit()
    flash(str(_DONE[Action(action)]), "success")
    return redirect(safe_next(form.next.data) or url_for(".index"))


def _render_referral(referral_id: int, status: int = 200, typed: dict | None = None,
                     message_form: MessageForm | None = None):
    actor = web_actor()
    referral = service.read_referral(referral_id, actor, via="web")
    case = referral.case
    visibility = cases.visibility_of(case, actor)
    page = render_template("inbox/show.html", referral=referral, case=case,
                           may_open_case=visibility is not Visibility.none, full=visibility is Visibility.full,
                           actions=service.actions_for(referral, actor), age=cases.age_of(case),
                           definition=cases.definition_of(case), next_url=safe_next(request.form.get("next")),
                           locale=select_locale(), typed=typed, actor=actor,
                           messages=messages.messages_of(referral.id, actor, audit=False)
                           if referral.from_agency_id is not None and messages.may_read(referral, actor) else None,
                           may_write=messages.may_write(referral, actor),
                           message_form=message_form or MessageForm(formdata=None),
                           assignable=service.assignable_users(referral)
                           if service.may_assign(referral, actor, others=True) else [])
    db.session.commit()  # the audited read (a refused action was rolled back before this page)
    return page, status



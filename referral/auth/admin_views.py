"""User administration for admins."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from agencies import Permission, Role

from ..directory.service import all_agencies
from ..extensions import db
from ..notifications.delivery import DeliveryError, send_email
from ..web.access import attempt, page_number, requires, web_actor
from ..web.labels import agency_name, by_agency_name
from . import second_factor, service
from .forms import SecondFactorPolicyForm, UserForm
from .models import User

bp = Blueprint("users_admin", __name__, url_prefix="/admin/users")

PER_PAGE = 50


def _fill_choices(form: UserForm) -> None:
    form.agency.choices = [SelectChoice(agency.code, f"{agency_name(agency)} ({agency.code})")
                           for agency in by_agency_name(all_agencies())]
    form.role.choices = [SelectChoice(role.value, _(role.label)) for role in Role]


@bp.route("/")
@requires(Permission.manage_users)
def index():
    """List users, searchable by name or e-mail and filterable by agency and role."""
    text = request.args.get("q", "").strip().lower()
    role = request.args.get("role", "")
    pagination = db.paginate(service.users_query(web_actor(), text, role), page=page_number(), per_page=PER_PAGE,
                             error_out=False)
    policy = SecondFactorPolicyForm(formdata=None, required=second_factor.required_for_privileged())
    return render_template("admin/users.html", pagination=pagination, roles=list(Role), q=text, role=role,
                           policy=policy, without_second_factor=second_factor.privileged_without_one())


@bp.route("/second-factor-policy", methods=["POST"])
@requires(Permission.manage_users)
def second_factor_policy():
    """Require, or stop requiring, a second factor of administrators and coordinators."""
    form = SecondFactorPolicyForm()
    if form.validate_on_submit() and second_factor.set_required_for_privileged(form.required.data, web_actor()):
        db.session.commit()
        flash(_("Administrators and coordinators must now sign in with a second factor; those without one set "
                "it up at their next page.") if form.required.data
              else _("A second factor is no longer required; those who have one keep it."), "success")
    return redirect(url_for(".index"))


@bp.route("/<int:user_id>/second-factor/remove", methods=["POST"])
@requires(Permission.manage_users)
def remove_second_factor(user_id: int):
    """Remove a user's second factor (a lost phone); they sign in with the password and set it up again."""
    user = second_factor.remove_for(user_id, web_actor())
    db.session.commit()
    flash(_("The second factor of %(email)s is removed.", email=user.email), "success")
    return redirect(url_for(".edit", user_id=user_id))


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.manage_users)
def create():
    """Create a user."""
    form = UserForm()
    _fill_choices(form)
    status = 200
    if request.method == "POST":
        data, status = form.load(), 422
        if data is not None:
            outcome = attempt(lambda: service.create_user(data, web_actor()), form)
            if outcome.refusal is None:
                flash(_("User %(email)s created.", email=outcome.result.email), "success")
                return redirect(url_for(".index"))
            status = outcome.refusal.status
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.manage_users)
def edit(user_id: int):
    """Change a user, unlock them, or deactivate them."""
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    _fill_choices(form)
    if request.method == "GET":
        form.agency.data = user.agency.code
        form.role.data = user.role.value
        form.is_active.data = user.is_active_account
        form.single_sign_on_only.data = not user.is_password_allowed
    status = 200
    if request.method == "POST":
        data, status = form.load(), 422
        if data is not None:
            outcome = attempt(lambda: service.update_user(user.id, data, web_actor()), form)
            if outcome.refusal is None:
                flash(_("Changes saved."), "success")
                return redirect(url_for(".index"))
            status = outcome.refusal.status
    return render_template("admin/user_form.html", form=form, user=user), status


@bp.route("/<int:user_id>/unlock", methods=["POST"])
@requires(Permission.manage_users)
def unlock(user_id: int):
    """Lift a login lockout."""
    service.unlock_user(user_id, web_actor())
    db.session.commit()
    flash(_("The account is unlocked."), "success")
    return redirect(url_for(".edit", user_id=user_id))


@bp.route("/<int:user_id>/reset-link", methods=["POST"])
@requires(Permission.manage_users)
def send_reset_link(user_id: int):
    """E-mail a user a one-hour, single-use link to set a new password."""
    config = current_app.config
    if not config.get("REFERRAL_SMTP_URL"):
        flash(_("E-mail is not configured (REFERRAL_SMTP_URL), so no link can be sent."), "danger")
        return redirect(url_for(".edit", user_id=user_id))
    user, token = service.issue_reset_token(user_id, web_actor())
    link = config["REFERRAL_BASE_URL"].rstrip("/") + url_for("auth.reset", token=token)
    with force_locale(user.locale):
        payload = {"to": user.email, "subject": _("Set a new password for the referral engine"),
                   "body": _("An administrator asked for a new password to be set for your account.\n\n"
                             "Open this link within one hour to choose it; it works once:\n%(link)s\n\n"
                             "If you did not expect this, tell your administrator.", link=link)}
    try:
        send_email(config["REFERRAL_SMTP_URL"], config["REFERRAL_MAIL_FROM"], payload)
    except DeliveryError:
        db.session.rollback()
        flash(_("The e-mail could not be sent; try again later."), "danger")
        return redirect(url_for(".edit", user_id=user_id))
    db.session.commit()
    flash(_("A link to set a new password was sent to %(email)s. It works once, for one hour.", email=user.email),
          "success")
    return redirect(url_for(".edit", user_id=user_id))

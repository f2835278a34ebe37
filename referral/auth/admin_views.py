"""User administration for admins."""

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from agencies import Permission, Role

from ..directory.models import Agency
from ..errors import ServiceError
from ..extensions import db
from ..web.access import page_number, requires, show_service_errors, web_actor
from . import service
from .forms import UserForm
from .models import User

bp = Blueprint("users_admin", __name__, url_prefix="/admin/users")

PER_PAGE = 50


def _fill_choices(form: UserForm) -> None:
    agencies = db.session.execute(sa.select(Agency.code, Agency.name).order_by(Agency.name)).all()
    form.agency.choices = [SelectChoice(code, f"{name} ({code})") for code, name in agencies]
    form.role.choices = [SelectChoice(role.value, _(role.label)) for role in Role]


@bp.route("/")
@requires(Permission.manage_users)
def index():
    """List users, searchable by name or e-mail and filterable by agency and role."""
    text = request.args.get("q", "").strip().lower()
    role = request.args.get("role", "")
    statement = sa.select(User).join(User.agency).order_by(User.name, User.id)
    if text:
        statement = statement.where(sa.or_(sa.func.lower(User.name).like(f"%{text}%"),
                                           User.email.like(f"%{text}%"),
                                           Agency.code.like(f"%{text}%")))
    if role in {r.value for r in Role}:
        statement = statement.where(User.role == Role(role))
    pagination = db.paginate(statement, page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/users.html", pagination=pagination, roles=list(Role), q=text, role=role)


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.manage_users)
def create():
    """Create a user."""
    form = UserForm()
    _fill_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            user = service.create_user(_user_data(form), web_actor())
        except ServiceError as error:
            db.session.rollback()
            show_service_errors(form, error)
            status = error.status
        else:
            db.session.commit()
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for(".index"))
    elif form.errors:
        status = 422
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
    status = 200
    if form.validate_on_submit():
        try:
            service.update_user(user.id, _user_data(form), web_actor())
        except ServiceError as error:
            db.session.rollback()
            show_service_errors(form, error)
            status = error.status
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for(".index"))
    elif form.errors:
        status = 422
    return render_template("admin/user_form.html", form=form, user=user), status


@bp.route("/<int:user_id>/unlock", methods=["POST"])
@requires(Permission.manage_users)
def unlock(user_id: int):
    """Lift a login lockout."""
    service.unlock_user(user_id, web_actor())
    db.session.commit()
    flash(_("The account is unlocked."), "success")
    return redirect(url_for(".edit", user_id=user_id))


def _user_data(form: UserForm) -> service.UserData:
    return service.UserData(email=form.email.data, name=form.name.data, agency_code=form.agency.data,
                            role=form.role.data, locale=form.locale.data,
                            password=form.password.data or None, is_active=form.is_active.data)


"""The designer's "Move running cases" page: choose versions, map removed stages, try, then apply."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from agencies import Permission

from ..designer import service as designer
from ..errors import ServiceError
from ..extensions import db
from ..i18n import reading_language
from ..web.access import requires, web_actor
from . import service

bp = Blueprint("migration", __name__, url_prefix="/designer")

#: What each kind of clock asks for, as a column of the dry run shows it.
KIND_LABELS = {"respond": _l("to answer"), "complete": _l("to complete the work"), "review": _l("periodic review")}


def _number(name: str, default: int, allowed: list[int]) -> int:
    value = request.values.get(name, "")
    return int(value) if value.isdigit() and int(value) in allowed else default


def _default_source(counts: dict[int, int], target: int) -> int:
    """The newest other version that has open cases, else the one before the target."""
    with_cases = [number for number, count in counts.items() if count and number != target]
    if with_cases:
        return max(with_cases)
    others = [number for number in counts if number != target]
    return max((n for n in others if n < target), default=min(others))


@bp.route("/<key>/migrate", methods=["GET", "POST"])
@requires(Permission.publish_workflows)
def move_cases(key: str):
    """Show what moving the open cases of one version to another would do; apply it when asked."""
    workflow = designer.get_workflow(key)
    counts = service.open_cases_by_version(key)
    numbers = list(counts)
    if len(numbers) < 2:
        flash(_("Workflow %(key)s has one published version: there is nowhere to move its cases yet.", key=key),
              "info")
        return redirect(url_for("designer.show", key=key))
    target = _number("to", numbers[-1], numbers)
    source = _number("from", _default_source(counts, target), numbers)
    removed = service.removed_stages(key, source, target) if source != target else []
    stage_map = {stage: request.form.get(f"map-{stage}", "") for stage in removed}
    result, status = None, 200
    if request.method == "POST" and source != target:
        dry_run = request.form.get("action") != "apply"
        try:
            result = service.migrate(key, source, target, stage_map, dry_run, web_actor())
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            status = error.status
        else:
            db.session.commit()
            if result.applied:
                counts = service.open_cases_by_version(key)
                flash(ngettext("%(num)d case moved to version %(version)s.",
                               "%(num)d cases moved to version %(version)s.", result.movable,
                               version=target), "success")
    elif source == target:
        flash(_("Choose another version than the one the cases run on."), "warning")
    source_definition = designer.published_definition(designer.get_version(key, source))
    target_definition = designer.published_definition(designer.get_version(key, target))
    language = reading_language()

    def stage_name(definition, stage_key: str) -> str:
        return definition.stage(stage_key).name_in(language) if definition.has_stage(stage_key) else stage_key

    return render_template(
        "designer/migrate.html", workflow=workflow, counts=counts, source=source, target=target, removed=removed,
        stage_map=stage_map, result=result, target_stages=target_definition.stages,
        old_name=lambda stage_key: stage_name(source_definition, stage_key),
        new_name=lambda stage_key: stage_name(target_definition, stage_key), kind_labels=KIND_LABELS,
    ), status

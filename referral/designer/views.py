"""Designer pages: list workflows, edit drafts in tables or as text, check, publish, compare, import, export."""

from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from agencies import AgencyType, Permission
from workflows import Mode, OnTimeout, diff, is_valid, load_definition, parse_document, validate
from workflows.i18n import N_

from ..errors import ServiceError
from ..extensions import db
from ..i18n import reading_language
from ..web.access import attempt, requires, web_actor
from . import editing, editor_state, service
from .drawing import PALETTE, workflow_svg
from .forms import ImportForm, NewWorkflowForm, PublishForm
from .models import Workflow

bp = Blueprint("designer", __name__, url_prefix="/designer")

FORMATS = ("yaml", "json")
MAX_TEXT = 2_000_000


@bp.context_processor
def designer_context():
    return {
        "agency_types": [(member.value, _(member.label)) for member in AgencyType],
        "palette": PALETTE,
        "modes": [str(mode) for mode in Mode],
        "on_timeouts": [str(choice) for choice in OnTimeout],
        "duration_units": [(unit, _(label)) for unit, label in DURATION_UNIT_LABELS],
        "workflow_name": _workflow_name,
    }


#: The units a deadline is chosen in, as the editor's lists name them.
DURATION_UNIT_LABELS = (("minutes", N_("minutes")), ("hours", N_("hours")), ("days", N_("days")),
                        ("working_days", N_("working days")), ("weeks", N_("weeks")), ("months", N_("months")))


def _workflow_name(workflow: Workflow | dict | None) -> str:
    """Return a workflow's (or a document's) name in the reader's language: the draft's, else the latest version's."""
    if isinstance(workflow, Workflow):
        document = workflow.draft if workflow.draft is not None else (
            workflow.versions[-1].document if workflow.versions else None)
        fallback = workflow.name
    else:
        document, fallback = workflow, ""
    if isinstance(document, dict):
        language = reading_language()
        for name in (f"name_{language}", "name"):
            text = document.get(name)
            if isinstance(text, str) and text.strip():
                return text.strip()
    return fallback or (workflow.key if isinstance(workflow, Workflow) else "")


def _format(value: str | None) -> str:
    return value if value in FORMATS else "yaml"


def _posted(key: str) -> editor_state.Editing:
    """Read the editor as posted: the tables (view=form) or the text (view=text)."""
    form = request.form
    fmt = _format(form.get("format"))
    if form.get("view") == "text":
        text = form.get("text", "")[:MAX_TEXT]
        document, problems = parse_document(text)
        editor = editor_state.Editing(view="text", fmt=fmt, text=text, document=document, raw_problems=problems)
        return editor_state.checked(key, editor)
    document = editing.document_from_form(form)
    document["key"] = key
    return editor_state.from_document(key, document, fmt)


def _is_saved(workflow: Workflow, editor: editor_state.Editing) -> bool:
    """Return whether the editor shows the draft as stored (so it is ready to publish if it has no errors)."""
    return workflow.draft is not None and editor.document == workflow.draft


def _render_editor(workflow: Workflow, editor: editor_state.Editing, status: int = 200):
    return render_template("designer/edit.html", workflow=workflow, editor=editor,
                           svg=editor.svg(workflow.key), saved=_is_saved(workflow, editor)), status


@bp.route("/")
@requires(Permission.view_workflows)
def index():
    """List workflows with their latest version and the state of their draft."""
    workflows = service.list_workflows()
    types = service.active_agency_types()  # once for the page, not once per draft
    draft_errors = {
        workflow.key: sum(problem.is_error for problem in validate(workflow.draft, types))
        for workflow in workflows if workflow.draft is not None
    }
    return render_template("designer/index.html", workflows=workflows, draft_errors=draft_errors)


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.design_workflows)
def create():
    """Start a new workflow from a small template and open it in the editor."""
    form = NewWorkflowForm()
    status = 200
    if form.validate_on_submit():
        starter = editing.starter_document(form.key.data, form.name.data)
        outcome = attempt(lambda: service.create_workflow(starter, web_actor()), form, flash_problems=False)
        if outcome.refusal is None:
            flash(_("Workflow %(key)s created as a draft from the template; change it and publish it.",
                    key=form.key.data), "success")
            return redirect(url_for(".edit", key=form.key.data))
        status = outcome.refusal.status
    elif form.errors:
        status = 422
    return render_template("designer/new.html", form=form), status


@bp.route("/<key>")
@requires(Permission.view_workflows)
def show(key: str):
    """Show a workflow: its picture, the draft's problems and the published versions."""
    workflow = service.get_workflow(key)
    document = service.editable_document(workflow)
    problems = service.check_definition(document) if document is not None else []
    return render_template(
        "designer/show.html", workflow=workflow, problems=editing.placed_problems(problems, document),
        svg=workflow_svg(document, problems, id_prefix=f"wf-{key}"),
    )


@bp.route("/<key>/edit", methods=["GET", "POST"])
@requires(Permission.design_workflows)
def edit(key: str):
    """Edit the draft in tables or as text; Check shows the problems, Save draft stores it."""
    workflow = service.get_workflow(key)
    if request.method == "GET":
        return _render_editor(workflow, editor_state.from_document(key, service.editable_document(workflow)))
    editor = _posted(key)
    action = request.form.get("action", "check")
    if action.startswith(("add-", "remove-")):
        editor_state.apply_row_action(editor, action)
        editor = editor_state.from_document(key, editor.document, editor.fmt)
        return _render_editor(workflow, editor)
    if action != "save":
        return _render_editor(workflow, editor, 200 if is_valid(editor.raw_problems) else 422)
    if editor.document is None:
        flash(_("The text is not a workflow definition, so it was not saved. See the problems below."), "danger")
        return _render_editor(workflow, editor, 422)
    outcome = attempt(lambda: service.save_workflow_draft(key, editor.document, web_actor()), flash_problems=False)
    if outcome.refusal:
        return _render_editor(workflow, editor, outcome.refusal.status)
    result = outcome.result
    errors = sum(problem.is_error for problem in result.problems)
    if errors:
        flash(ngettext("Draft saved. It has %(num)d error to fix before it can be published.",
                       "Draft saved. It has %(num)d errors to fix before it can be published.", errors),
              "warning")
    else:
        flash(_("Draft saved. It has no errors and can be published."), "success")
    return redirect(url_for(".edit", key=key, format=editor.fmt if editor.fmt != "yaml" else None))


@bp.route("/<key>/check", methods=["POST"])
@requires(Permission.design_workflows)
def check(key: str):
    """Check the posted editor and answer in JSON: problems by row, the picture, the other view."""
    workflow = service.get_workflow(key)
    editor = _posted(key)
    rows = editor.rows
    return jsonify({
        "valid": not editor.errors,
        "errors": editor.errors,
        "warnings": editor.warnings,
        "problems": editor.problems,
        "svg": str(svg) if (svg := editor.svg(key)) is not None else None,
        "text": editor.text if editor.view == "form" else None,
        "tables": render_template("designer/_tables.html", editor=editor, rows=rows)
        if editor.view == "text" and rows is not None else None,
        "stage_keys": [stage["key"] for stage in rows["stages"]] if rows else [],
        "summary": render_template("designer/_summary.html", editor=editor, saved=_is_saved(workflow, editor)),
    })


@bp.route("/<key>/discard", methods=["POST"])
@requires(Permission.design_workflows)
def discard(key: str):
    """Throw the draft away; the published versions stay."""
    if attempt(lambda: service.discard_draft(key, web_actor()), flash_problems=False).refusal is None:
        flash(_("The draft was discarded."), "success")
    return redirect(url_for(".show", key=key))


@bp.route("/<key>/publish", methods=["GET", "POST"])
@requires(Permission.publish_workflows)
def publish(key: str):
    """Confirm and publish the draft as the next version; refused with the problems if it has errors."""
    workflow = service.get_workflow(key)
    if workflow.draft is None:
        flash(_("Workflow %(key)s has no draft to publish; edit it first.", key=key), "warning")
        return redirect(url_for(".show", key=key))
    form = PublishForm()
    status = 200
    refused = None
    if form.validate_on_submit():
        outcome = attempt(lambda: service.publish(key, web_actor(), note=form.note.data), flash_problems=False)
        if outcome.refusal is None:
            flash(_("Version %(number)s of %(key)s is published. New cases start on it; cases already open "
                    "stay on the version they started on.", number=outcome.result.number, key=key), "success")
            return redirect(url_for(".show", key=key))
        refused = outcome.refusal.problems
        status = outcome.refusal.status
    elif form.errors:
        status = 422
    problems = service.check_definition(workflow.draft)
    latest = workflow.versions[-1] if workflow.versions else None
    return render_template(
        "designer/publish.html", workflow=workflow, form=form, refused=refused,
        problems=editing.placed_problems(problems, workflow.draft),
        changes=_diff(latest.document, workflow.draft) if latest else None,
        svg=workflow_svg(workflow.draft, problems, id_prefix=f"wf-{key}"),
    ), status


def _diff(old: Any, new: Any):
    old_definition, _problems = load_definition(old)
    new_definition, _problems = load_definition(new)
    if old_definition is None or new_definition is None:
        return None
    return diff(old_definition, new_definition)


def _document_of(workflow: Workflow, which: str | None) -> tuple[dict, str]:
    """Return the document and label of a version number or ``draft``; abort 404 if there is none."""
    if which == "draft":
        if workflow.draft is None:
            abort(404)
        return workflow.draft, _("draft")
    if which is None or not which.isdigit():
        abort(404)
    version = service.get_version(workflow.key, int(which))
    return version.document, _("version %(number)s", number=version.number)


@bp.route("/<key>/versions/<int:number>")
@requires(Permission.view_workflows)
def version(key: str, number: int):
    """Show one published version: its picture and its text."""
    workflow = service.get_workflow(key)
    found = service.get_version(key, number)
    problems = service.check_definition(found.document)
    return render_template(
        "designer/version.html", workflow=workflow, version=found, text=service.render_document(found.document),
        problems=editing.placed_problems(problems, found.document),
        svg=workflow_svg(found.document, problems, id_prefix=f"wf-{key}-{number}"),
    )


@bp.route("/<key>/diff")
@requires(Permission.view_workflows)
def compare(key: str):
    """Show what changed between two versions (or a version and the draft)."""
    workflow = service.get_workflow(key)
    new_which = request.args.get("new") or ("draft" if workflow.draft is not None else str(workflow.latest_version))
    default_old = str(int(new_which) - 1) if new_which.isdigit() else str(workflow.latest_version)
    old_which = request.args.get("old") or default_old
    old, old_label = _document_of(workflow, old_which)
    new, new_label = _document_of(workflow, new_which)
    changes = _diff(old, new)
    highlighted = set()
    if changes is not None:
        highlighted = {*changes.stages_added, *(change.key for change in changes.stages_changed)}
    return render_template(
        "designer/diff.html", workflow=workflow, changes=changes, old_which=old_which, new_which=new_which,
        old_label=old_label, new_label=new_label,
        svg=workflow_svg(new, (), highlighted, id_prefix=f"wf-{key}-diff"),
    )


@bp.route("/<key>/export")
@requires(Permission.view_workflows)
def export(key: str):
    """Download a version (``?version=N``, the latest by default) or the draft as YAML or JSON."""
    workflow = service.get_workflow(key)
    which = request.args.get("version") or (str(workflow.latest_version) if workflow.versions else "draft")
    document, _label = _document_of(workflow, which)
    fmt = _format(request.args.get("format"))
    suffix = "draft" if which == "draft" else f"v{which}"
    mimetype = "application/json" if fmt == "json" else "application/yaml"
    return Response(service.render_document(document, fmt), mimetype=f"{mimetype}; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={key}-{suffix}.{fmt}"})


@bp.route("/import", methods=["GET", "POST"])
@requires(Permission.design_workflows)
def import_file():
    """Import a YAML or JSON file as a workflow's draft, publishing it if asked; a refused file changes nothing."""
    form = ImportForm()
    problems = None
    status = 200
    if form.validate_on_submit():
        filename = (form.file.data.filename or "").lower()
        fmt = "json" if filename.endswith(".json") else "yaml" if filename.endswith((".yaml", ".yml")) else None
        try:
            result = service.import_text(form.file.data.read(MAX_TEXT + 1)[:MAX_TEXT], web_actor(), fmt,
                                         publish_it=form.publish.data)
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            problems = error.problems or [{"message": str(message)} for messages in error.errors.values()
                                          for message in messages]
            status = error.status
        else:
            db.session.commit()
            key = result.workflow.key
            if form.publish.data:
                flash(_("Imported and published %(key)s as version %(number)s.", key=key,
                        number=result.workflow.latest_version), "success")
                return redirect(url_for(".show", key=key))
            flash(_("Imported %(key)s as its draft.", key=key), "success")
            return redirect(url_for(".edit", key=key))
    elif form.errors:
        status = 422
    return render_template("designer/import.html", form=form, problems=problems), status

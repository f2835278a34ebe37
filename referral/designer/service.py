"""Workflow drafts and publication: validate, save a draft, publish a version, import and export."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import yaml
from flask_babel import gettext, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.util import identity_key

from agencies import AgencyType, Permission
from workflows import Definition, Problem, is_valid, load_definition, parse_document, validate
from workflows.library import DEFAULT_WORKFLOW_KEY, load_default_workflow_text

from ..actors import Actor, require
from ..audit.service import record
from ..directory.models import Agency
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db, utcnow
from . import wording
from .models import Workflow, WorkflowVersion

KEY_RE = re.compile(r"^[a-z0-9-]{1,64}$")


@dataclass(frozen=True)
class DraftResult:
    """A saved draft, whether the key was new, and the draft's problems."""

    workflow: Workflow
    created: bool
    problems: list[Problem]


def translate(problem: Problem, document: Any = None) -> str:
    """Return a problem's message in the reader's language; with the document, places are named in words."""
    if not problem.template:
        return problem.message
    template = gettext(problem.template)
    if not problem.params:
        return template
    params = dict(problem.params)
    if isinstance(params.get("languages"), str):
        params["languages"] = wording.languages(params["languages"])
    if document is not None:
        if isinstance(params.get("path"), str):
            params["path"] = wording.place(params["path"], document)
        if isinstance(params.get("deadline_path"), str):
            params["deadline_path"] = wording.field_words(params["deadline_path"]) or params["deadline_path"]
    return template % params


def problem_dicts(problems: list[Problem], document: Any = None) -> list[dict[str, Any]]:
    """Return problems as the JSON objects of DESIGN.md section 5, messages translated (places in words
    when the document is given)."""
    return [{**problem.as_dict(), "message": translate(problem, document)} for problem in problems]


def active_agency_types() -> set[str]:
    """Return the types of which at least one active agency exists."""
    return {str(kind.value if isinstance(kind, AgencyType) else kind)
            for kind in db.session.scalars(sa.select(Agency.type).where(Agency.is_active.is_(True)).distinct())}


def check_definition(document: Any) -> list[Problem]:
    """Return every problem of a document, with the directory's agencies as they are now."""
    return validate(document, active_agency_types())


def workflows_query() -> sa.Select:
    """Return a select of every workflow, by key."""
    return sa.select(Workflow).order_by(Workflow.key)


def list_workflows() -> list[Workflow]:
    """Return every workflow, by key."""
    return list(db.session.scalars(workflows_query()))


def find_workflow(key: str) -> Workflow | None:
    """Return the workflow with a key, or None."""
    return db.session.scalar(sa.select(Workflow).where(Workflow.key == key))


def get_workflow(key: str) -> Workflow:
    """Return the workflow with a key; raise NotFound."""
    workflow = find_workflow(key)
    if workflow is None:
        raise NotFound(_l("No workflow has the key %(key)s.", key=key))
    return workflow


def get_version(key: str, number: int) -> WorkflowVersion:
    """Return one published version of a workflow; raise NotFound."""
    version = db.session.scalar(
        sa.select(WorkflowVersion).join(Workflow).where(Workflow.key == key, WorkflowVersion.number == number)
    )
    if version is None:
        raise NotFound(_l("Workflow %(key)s has no version %(number)s.", key=key, number=number))
    return version


def latest_version(key: str) -> WorkflowVersion | None:
    """Return the newest published version of a workflow, or None."""
    return db.session.scalar(
        sa.select(WorkflowVersion).join(Workflow).where(Workflow.key == key)
        .order_by(WorkflowVersion.number.desc()).limit(1)
    )


# Published versions never change, so their loaded definitions are kept. The publication time in the
# key keeps two databases (tests) that reuse an id from sharing an entry.
_PUBLISHED: dict[tuple, Definition] = {}
_PUBLISHED_KEPT = 256


def published_definition_of(version_id: int, published_at: datetime | None = None) -> Definition:
    """Return the definition of a published version by its id, loaded once.

    The cache key needs only the publication time: given by a caller that read it with other rows, or from
    the session when the version is there, else from a one-column query; the whole row (its document) is read
    only when the definition is not cached.
    """
    if published_at is None:
        held = db.session.identity_map.get(identity_key(WorkflowVersion, version_id))
        published_at = sa.inspect(held).dict.get("published_at") if held is not None else None
    if published_at is None:
        published_at = db.session.scalar(
            sa.select(WorkflowVersion.published_at).where(WorkflowVersion.id == version_id))
    found = _PUBLISHED.get((version_id, published_at))
    if found is not None:
        return found
    return published_definition(db.session.get(WorkflowVersion, version_id))


def published_definition(version: WorkflowVersion) -> Definition:
    """Return the definition of a published version (it loaded without errors when published), loaded once."""
    key = (version.id, version.published_at)
    found = _PUBLISHED.get(key)
    if found is None:
        found, problems = load_definition(version.document)
        if found is None:  # pragma: no cover - publication refuses documents that do not load
            raise RuntimeError(f"published workflow version {version.id} does not load: {problems}")
        if len(_PUBLISHED) >= _PUBLISHED_KEPT:
            _PUBLISHED.clear()
        _PUBLISHED[key] = found
    return found


def editable_document(workflow: Workflow) -> dict | None:
    """Return what the editor starts from: the draft, or else the latest published version."""
    if workflow.draft is not None:
        return workflow.draft
    if workflow.versions:
        return workflow.versions[-1].document
    return None


def _key_of(document: Any) -> str:
    if not isinstance(document, Mapping):
        raise Invalid(_l("A workflow definition must be a mapping with key, name, stages and transitions."),
                      errors={"key": [str(_l("A workflow definition must be a mapping."))]})
    key = document.get("key")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise Invalid(
            _l("The definition needs a key of 1 to 64 lowercase letters, digits and hyphens before it can be saved."),
            errors={"key": [str(_l("1 to 64 lowercase letters, digits and hyphens."))]},
        )
    return key


def _name_of(document: Mapping, key: str) -> str:
    name = document.get("name")
    return name.strip()[:300] if isinstance(name, str) and name.strip() else key


def save_draft(document: Any, actor: Actor) -> DraftResult:
    """Create or replace the draft of the workflow the document names; raise Invalid without a usable key."""
    require(actor, Permission.design_workflows)
    key = _key_of(document)
    workflow = db.session.scalar(sa.select(Workflow).where(Workflow.key == key).with_for_update())
    created = workflow is None
    if created:
        workflow = Workflow(key=key, latest_version=0)
        db.session.add(workflow)
    workflow.name = _name_of(document, key)
    workflow.draft = dict(document)
    workflow.draft_updated_at = utcnow()
    workflow.draft_updated_by_id = actor.user_id
    db.session.flush()
    problems = check_definition(document)
    record(actor, "workflow.draft_saved", "workflow", key,
           {"created": created, "errors": sum(p.is_error for p in problems)})
    return DraftResult(workflow, created, problems)


def create_workflow(document: Any, actor: Actor) -> DraftResult:
    """Start a new workflow with the document as its draft; raise Conflict if a workflow has its key already."""
    require(actor, Permission.design_workflows)
    key = _key_of(document)
    if find_workflow(key) is not None:
        raise Conflict(_l("A workflow with the key %(key)s exists already.", key=key),
                       errors={"key": [str(_l("A workflow with this key exists already."))]})
    return save_draft(document, actor)


def discard_draft(key: str, actor: Actor) -> Workflow:
    """Throw the draft away, keeping the published versions; raise NotFound or Conflict."""
    require(actor, Permission.design_workflows)
    workflow = get_workflow(key)
    if workflow.draft is None:
        raise Conflict(_l("Workflow %(key)s has no draft.", key=key))
    if not workflow.versions:
        raise Conflict(_l("Workflow %(key)s has never been published; its draft is all there is.", key=key))
    workflow.draft = None
    workflow.draft_updated_at = None
    workflow.draft_updated_by_id = None
    workflow.name = _name_of(workflow.versions[-1].document, key)
    db.session.flush()
    record(actor, "workflow.draft_discarded", "workflow", key)
    return workflow


def publish(key: str, actor: Actor, note: str | None = None) -> WorkflowVersion:
    """Publish the draft of a workflow as its next version.

    Raise NotFound for an unknown key, Conflict when there is no draft, and
    Invalid (with the problems) when the draft has any error.
    """
    require(actor, Permission.publish_workflows)
    # The row lock makes two publications at once number their versions one after the other.
    workflow = db.session.scalar(sa.select(Workflow).where(Workflow.key == key).with_for_update())
    if workflow is None:
        raise NotFound(_l("No workflow has the key %(key)s.", key=key))
    if workflow.draft is None:
        raise Conflict(_l("Workflow %(key)s has no draft to publish; edit it first.", key=key))
    problems = check_definition(workflow.draft)
    if not is_valid(problems):
        errors = [problem for problem in problems if problem.is_error]
        raise Invalid(
            lazy_ngettext("The workflow cannot be published: it has %(num)d error.",
                          "The workflow cannot be published: it has %(num)d errors.", len(errors)),
            problems=problem_dicts(errors),
        )
    version = WorkflowVersion(workflow=workflow, number=workflow.latest_version + 1, document=workflow.draft,
                              published_by_id=actor.user_id, note=(note or "").strip() or None)
    db.session.add(version)
    workflow.latest_version = version.number
    workflow.draft = None
    workflow.draft_updated_at = None
    workflow.draft_updated_by_id = None
    db.session.flush()
    record(actor, "workflow.published", "workflow", key,
           {"version": version.number, "warnings": len(problems)})
    return version


def render_document(document: Mapping, fmt: str = "yaml") -> str:
    """Return a document as JSON or YAML text, keys in definition order."""
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=False, width=100)


def parse_text(text: str | bytes, fmt: str | None = None) -> dict:
    """Parse a JSON or YAML document; raise Invalid with its schema problems if it does not parse."""
    data, problems = parse_document(text, fmt)
    if data is None:
        raise Invalid(_l("The file is not a workflow definition."), problems=problem_dicts(problems))
    return data


def import_text(text: str | bytes, actor: Actor, fmt: str | None = None, publish_it: bool = False) -> DraftResult:
    """Save a file as a workflow's draft, and publish it if asked; raise Invalid as save_draft and publish do."""
    result = save_draft(parse_text(text, fmt), actor)
    if publish_it:
        publish(result.workflow.key, actor)
    return result


def ensure_default_workflow(actor: Actor) -> WorkflowVersion:
    """Publish the bundled returned-child workflow unless a version of it exists; return its latest version."""
    existing = latest_version(DEFAULT_WORKFLOW_KEY)
    if existing is not None:
        return existing
    save_draft(parse_text(load_default_workflow_text(), "yaml"), actor)
    return publish(DEFAULT_WORKFLOW_KEY, actor, note="Bundled default workflow")


def save_workflow_draft(key: str, document: Any, actor: Actor) -> DraftResult:
    """Save a document as the draft of the workflow ``key``; raise Invalid if it names another key, as save_draft."""
    if not isinstance(document, Mapping) or document.get("key") != key:
        raise Invalid(
            _l("The definition's key must stay %(key)s; to make another workflow, create or import it.", key=key),
            errors={"key": [str(_l("The key cannot change here."))]},
        )
    return save_draft(document, actor)

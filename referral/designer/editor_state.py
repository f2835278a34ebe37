"""The editor's state: a document being edited with its rows, text, problems and picture, and its row actions.

Nothing here reads the request; the views read what was posted and render what this holds.
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flask_babel import gettext as _

from workflows import Problem

from . import editing, service
from .drawing import workflow_svg


@dataclass
class Editing:
    """What the editor shows for a document being edited: its rows, text, problems and picture."""

    view: str
    fmt: str
    text: str
    document: Any = None
    problems: list[dict] = field(default_factory=list)
    raw_problems: list[Problem] = field(default_factory=list)

    @cached_property
    def rows(self) -> dict | None:
        return editing.table_rows(self.document)

    @property
    def errors(self) -> int:
        return sum(problem["severity"] == "error" for problem in self.problems)

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors

    @property
    def general(self) -> list[dict]:
        return [problem for problem in self.problems if not problem["stage_rows"] and not problem["transition_rows"]]

    @cached_property
    def stage_problems(self) -> dict[int, list[dict]]:
        return by_row(self.problems, "stage_rows")

    @cached_property
    def transition_problems(self) -> dict[int, list[dict]]:
        return by_row(self.problems, "transition_rows")

    def svg(self, key: str):
        return workflow_svg(self.document, self.raw_problems, id_prefix=f"wf-{key}")


def by_row(problems: list[dict], rows: str) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = {}
    for problem in problems:
        for index in problem[rows]:
            found.setdefault(index, []).append(problem)
    return found


def checked(key: str, editor: Editing) -> Editing:
    """Fill in the problems of the editor's document, and one if its key is not the workflow's."""
    if editor.document is not None:
        editor.raw_problems = service.check_definition(editor.document)
    editor.problems = editing.placed_problems(editor.raw_problems, editor.document)
    if isinstance(editor.document, dict) and editor.document.get("key") != key:
        editor.problems.insert(0, {
            "code": "key_changed", "severity": "error", "severity_label": _("error"), "stages": [],
            "transition": None, "stage_rows": [], "transition_rows": [],
            "message": _("The key must stay %(key)s; to make another workflow, create or import it.", key=key),
        })
    return editor


def from_document(key: str, document: Any, fmt: str = "yaml", view: str = "form") -> Editing:
    text = service.render_document(document, fmt) if isinstance(document, dict) else ""
    return checked(key, Editing(view=view, fmt=fmt, text=text, document=document))


def apply_row_action(editor: Editing, action: str) -> None:
    """Add or remove a table row in the editor's document (not saved)."""
    document = editor.document
    if not isinstance(document, dict) or editor.rows is None:
        return
    document.setdefault("stages", [])
    if not isinstance(document.get("transitions"), list):
        document["transitions"] = []
    if action == "add-stage":
        document["stages"].append({"key": "", "name": "", "agency_type": ""})
    elif action == "add-transition":
        document["transitions"].append({"from": "", "to": ""})
    else:
        kind, _sep, number = action.rpartition("-")
        rows = {"remove-stage": document["stages"], "remove-transition": document["transitions"]}.get(kind)
        if rows is not None and number.isdigit() and int(number) < len(rows):
            del rows[int(number)]

"""Workflow definitions shipped with the engine."""

from pathlib import Path

from ..model import Definition
from ..parsing import load_document

#: The workflow the demo loads and publishes.
DEFAULT_WORKFLOW_KEY = "returned-child"

_HERE = Path(__file__).resolve().parent


def default_workflow_path() -> Path:
    """Return the path of the bundled ``returned-child.yaml``."""
    return _HERE / f"{DEFAULT_WORKFLOW_KEY}.yaml"


def load_default_workflow_text() -> str:
    """Return the text of the bundled default workflow."""
    return default_workflow_path().read_text(encoding="utf-8")


def load_default_workflow() -> Definition:
    """Return the bundled default workflow loaded; raise ValueError if it does not load."""
    definition, problems = load_document(load_default_workflow_text(), "yaml")
    if definition is None:
        raise ValueError("; ".join(problem.message for problem in problems))
    return definition

"""Reading a workflow definition document: JSON or YAML text into a plain mapping.

The text is parsed strictly: a field given twice in one mapping, a YAML anchor
or alias, a tag that would build a Python object, or a document beyond
``MAX_DOCUMENT_CHARS`` is a ``schema`` problem, never silently accepted.
"""

import json
from typing import Any

import yaml

from .format import NOT_A_DOCUMENT, load_definition
from .i18n import N_
from .model import Definition
from .problems import Problem, make_problem

EMPTY_DOCUMENT = N_("The document is empty.")
SYNTAX_AT = N_("The document is not valid %(format)s: line %(line)s, column %(column)s: %(detail)s")
SYNTAX = N_("The document is not valid %(format)s: %(detail)s")
DUPLICATE_KEY = N_(
    "The document is not valid %(format)s: line %(line)s: the field %(field)s appears twice in one mapping."
)
DUPLICATE_KEY_SOMEWHERE = N_("The document is not valid %(format)s: the field %(field)s appears twice in one mapping.")
UNKNOWN_FORMAT = N_("Unknown document format %(format)s; use json or yaml.")
YAML_ALIAS = N_(
    "The document is not valid YAML for a workflow: line %(line)s uses an anchor or alias (& or *);"
    " write the value out."
)
TOO_LARGE = N_("The document is %(size)s characters long; a workflow definition may have at most %(limit)s.")

# A real workflow is a few kilobytes; this bound keeps parsing cheap whatever arrives.
MAX_DOCUMENT_CHARS = 256_000


def parse_document(text: str, fmt: str | None = None) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse JSON or YAML text (``fmt`` json, yaml or None to detect); return (mapping, problems). Never raises."""
    if fmt is not None and fmt not in ("json", "yaml"):
        return None, [make_problem("schema", UNKNOWN_FORMAT, {"format": fmt})]
    if isinstance(text, bytes | bytearray):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, [make_problem("schema", SYNTAX, {"format": fmt or "JSON or YAML", "detail": "not UTF-8 text"})]
    if not isinstance(text, str) or not text.strip():
        return None, [make_problem("schema", EMPTY_DOCUMENT)]
    if len(text) > MAX_DOCUMENT_CHARS:
        return None, [make_problem("schema", TOO_LARGE, {"size": len(text), "limit": MAX_DOCUMENT_CHARS})]
    if fmt == "json" or (fmt is None and text.lstrip().startswith(("{", "["))):
        data, problems = _parse_json(text)
    else:
        data, problems = _parse_yaml(text)
    if problems:
        return None, problems
    if data is None:
        return None, [make_problem("schema", EMPTY_DOCUMENT)]
    if not isinstance(data, dict):
        return None, [make_problem("schema", NOT_A_DOCUMENT)]
    return data, []


def load_document(text: str, fmt: str | None = None) -> tuple[Definition | None, list[Problem]]:
    """Parse and load a document in one step; return (definition, problems). Never raises."""
    data, problems = parse_document(text, fmt)
    if problems:
        return None, problems
    return load_definition(data)


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


def _parse_json(text: str) -> tuple[Any, list[Problem]]:
    def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        for key, value in pairs:
            if key in mapping:
                raise _DuplicateKey(key, 0)
            mapping[key] = value
        return mapping

    try:
        return json.loads(text, object_pairs_hook=unique_pairs), []
    except json.JSONDecodeError as error:
        params = {"format": "JSON", "line": error.lineno, "column": error.colno, "detail": error.msg}
        return None, [make_problem("schema", SYNTAX_AT, params)]
    except _DuplicateKey as duplicate:
        # json gives no position; JSON is almost always YAML too, and the YAML loader knows the line.
        _, problems = _parse_yaml(text)
        if problems and problems[0].template == DUPLICATE_KEY:
            params = {**problems[0].params, "format": "JSON"}
            return None, [make_problem("schema", DUPLICATE_KEY, params)]
        params = {"format": "JSON", "field": duplicate.key}
        return None, [make_problem("schema", DUPLICATE_KEY_SOMEWHERE, params)]
    except (ValueError, RecursionError) as error:
        return None, [make_problem("schema", SYNTAX, {"format": "JSON", "detail": str(error)})]


class _Alias(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping, and any anchor or alias.

    Aliases are refused outright rather than bounded: nested aliases expand exponentially (the
    "billion laughs"), and a workflow never needs them.
    """

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose the next node; raise _Alias on an alias or an anchored node before anything expands."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Alias(event.start_mark.line + 1)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping; raise _DuplicateKey when a key repeats."""
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key; the base class reports it
            if repeated:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str) -> tuple[Any, list[Problem]]:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), []
    except _Alias as alias:
        return None, [make_problem("schema", YAML_ALIAS, {"line": alias.line})]
    except _DuplicateKey as duplicate:
        return None, [
            make_problem("schema", DUPLICATE_KEY, {"format": "YAML", "line": duplicate.line, "field": duplicate.key})
        ]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        detail = " ".join(part for part in (error.context, error.problem) if part) or "syntax error"
        if mark is None:
            return None, [make_problem("schema", SYNTAX, {"format": "YAML", "detail": detail})]
        params = {"format": "YAML", "line": mark.line + 1, "column": mark.column + 1, "detail": detail}
        return None, [make_problem("schema", SYNTAX_AT, params)]
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as error:
        return None, [make_problem("schema", SYNTAX, {"format": "YAML", "detail": str(error) or type(error).__name__})]

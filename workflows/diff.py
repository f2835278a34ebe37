"""What changed between two versions of a workflow definition.

Stages are matched by key and transitions by their from → to pair (the first
of any duplicates). Values are compared as written in the document, so
``P1D`` to ``PT24H`` is a change even though the length is the same.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from .model import Definition, Stage, Transition


@dataclass(frozen=True)
class FieldChange:
    """One field that differs; a value is None where the field is absent."""

    field: str
    old: Any = dataclass_field(default=None, hash=False)
    new: Any = dataclass_field(default=None, hash=False)

    def as_dict(self) -> dict[str, Any]:
        """Return the change as a JSON-ready mapping."""
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class StageChange:
    """A stage present in both versions whose fields differ."""

    key: str
    changes: tuple[FieldChange, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        """Return the names of the changed fields."""
        return tuple(change.field for change in self.changes)


@dataclass(frozen=True)
class TransitionChange:
    """A transition present in both versions whose fields differ."""

    from_stage: str
    to_stage: str
    changes: tuple[FieldChange, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        """Return the names of the changed fields."""
        return tuple(change.field for change in self.changes)


@dataclass(frozen=True)
class DefinitionDiff:
    """Every difference between an old and a new definition."""

    fields_changed: tuple[FieldChange, ...] = ()
    stages_added: tuple[str, ...] = ()
    stages_removed: tuple[str, ...] = ()
    stages_changed: tuple[StageChange, ...] = ()
    transitions_added: tuple[tuple[str, str], ...] = ()
    transitions_removed: tuple[tuple[str, str], ...] = ()
    transitions_changed: tuple[TransitionChange, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Return whether the two definitions are the same."""
        return not any(
            (
                self.fields_changed,
                self.stages_added,
                self.stages_removed,
                self.stages_changed,
                self.transitions_added,
                self.transitions_removed,
                self.transitions_changed,
            )
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the diff as a JSON-ready mapping."""

        def pair(keys: tuple[str, str]) -> dict[str, str]:
            return {"from": keys[0], "to": keys[1]}

        return {
            "fields_changed": [change.as_dict() for change in self.fields_changed],
            "stages_added": list(self.stages_added),
            "stages_removed": list(self.stages_removed),
            "stages_changed": [
                {"key": change.key, "changes": [item.as_dict() for item in change.changes]}
                for change in self.stages_changed
            ],
            "transitions_added": [pair(keys) for keys in self.transitions_added],
            "transitions_removed": [pair(keys) for keys in self.transitions_removed],
            "transitions_changed": [
                {**pair((change.from_stage, change.to_stage)), "changes": [item.as_dict() for item in change.changes]}
                for change in self.transitions_changed
            ],
        }


def diff(old: Definition, new: Definition) -> DefinitionDiff:
    """Return what changed from ``old`` to ``new``."""
    old_stages = _first_by(old.stages, lambda stage: stage.key)
    new_stages = _first_by(new.stages, lambda stage: stage.key)
    old_transitions = _first_by(old.transitions, lambda transition: transition.pair)
    new_transitions = _first_by(new.transitions, lambda transition: transition.pair)

    stages_changed = []
    for key in new_stages.keys() & old_stages.keys():
        changes = _changes(_stage_fields(old_stages[key]), _stage_fields(new_stages[key]))
        if changes:
            stages_changed.append(StageChange(key=key, changes=changes))
    transitions_changed = []
    for pair in new_transitions.keys() & old_transitions.keys():
        changes = _changes(_transition_fields(old_transitions[pair]), _transition_fields(new_transitions[pair]))
        if changes:
            transitions_changed.append(TransitionChange(from_stage=pair[0], to_stage=pair[1], changes=changes))

    new_order = {key: index for index, key in enumerate(new_stages)}
    new_pair_order = {pair: index for index, pair in enumerate(new_transitions)}
    return DefinitionDiff(
        fields_changed=_changes(_top_fields(old), _top_fields(new)),
        stages_added=tuple(key for key in new_stages if key not in old_stages),
        stages_removed=tuple(key for key in old_stages if key not in new_stages),
        stages_changed=tuple(sorted(stages_changed, key=lambda change: new_order[change.key])),
        transitions_added=tuple(pair for pair in new_transitions if pair not in old_transitions),
        transitions_removed=tuple(pair for pair in old_transitions if pair not in new_transitions),
        transitions_changed=tuple(
            sorted(transitions_changed, key=lambda change: new_pair_order[(change.from_stage, change.to_stage)])
        ),
    )


def _first_by(items: tuple[Any, ...], key: Any) -> dict[Any, Any]:
    found: dict[Any, Any] = {}
    for item in items:
        found.setdefault(key(item), item)
    return found


def _top_fields(definition: Definition) -> dict[str, Any]:
    fields = {
        "key": definition.key,
        "name": definition.name,
        "description": definition.description,
        "calendar": definition.calendar,
        "retention": definition.retention.text if definition.retention is not None else None,
    }
    return _with_extra(fields, definition.extra)


def _stage_fields(stage: Stage) -> dict[str, Any]:
    document = stage.to_document()
    fields = {
        name: document.get(name)
        for name in ("name", "description", "agency_type", "respond_within", "complete_within", "review_every")
    }
    fields.update(
        start=stage.is_start,
        terminal=stage.is_terminal,
        reminders=[reminder.text for reminder in stage.reminders],
        on_timeout=str(stage.on_timeout),
    )
    return _with_extra(fields, stage.extra)


def _transition_fields(transition: Transition) -> dict[str, Any]:
    fields = {
        "label": transition.label,
        "mode": str(transition.mode),
        "requires": list(transition.requires),
        "return": transition.is_return,
    }
    return _with_extra(fields, transition.extra)


def _with_extra(fields: dict[str, Any], extra: Mapping[Any, Any]) -> dict[Any, Any]:
    return {**fields, **{name: value for name, value in extra.items() if name not in fields}}


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    names = list(dict.fromkeys([*new, *old]))
    return tuple(
        FieldChange(field=str(name), old=old.get(name), new=new.get(name))
        for name in names
        if old.get(name) != new.get(name) or (name in old) != (name in new)
    )

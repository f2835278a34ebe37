"""Validation of a workflow definition (DESIGN.md section 5).

The graph questions are answered on a NetworkX digraph of the stages, with
transitions to unknown stages and self-loops left out (each is reported on its
own): descendants of the start for reachability, strongly connected components
for traps (a component no edge leaves) and loops (one that can be left), and
the ancestors of a node every terminal leads to for who can still finish.
One graph serves every question; the loops that are warnings are the
components that remain once the routes back are taken out of it.

Each stage is reported under the most specific code: a stage with no way out
is a ``dead_end``; the members of a cycle with no way out are one ``trap_cycle``;
only the remaining stages that cannot reach a terminal are ``no_path_to_terminal``.
A cycle closed by a transition marked ``return: true`` is intended and is not
a ``loop`` warning.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any

import networkx as nx

from .durations import Duration
from .format import load_definition
from .i18n import N_
from .model import AGENCY_TYPES, TRANSLATED_LANGUAGES, Definition, Stage
from .problems import CODES, Problem, make_problem

DUPLICATE_STAGE = N_("%(count)s stages share the key %(stage)s; stage keys must be unique.")
UNKNOWN_STAGE = N_("The transition %(from)s → %(to)s names the stage %(stage)s, which does not exist.")
NO_START = N_("No stage is marked as the start; mark exactly one stage with start: true.")
MULTIPLE_STARTS = N_("%(count)s stages are marked as the start (%(stage_list)s); mark exactly one.")
NO_TERMINAL = N_("No stage is marked as terminal, so a case could never be closed.")
UNREACHABLE_STAGE = N_("No path from the start stage leads to stage %(stage)s.")
DEAD_END = N_("Stage %(stage)s is not terminal but has no transition to another stage.")
TRAP_CYCLE = N_(
    "Stages %(stage_list)s form a cycle that no transition leaves and that holds no terminal stage; "
    "a case that enters it could never close."
)
NO_PATH_TO_TERMINAL = N_("No path leads from stage %(stage)s to a terminal stage.")
TERMINAL_HAS_EXIT = N_("Terminal stage %(stage)s has a transition to %(to)s; a terminal stage must not lead anywhere.")
SELF_LOOP = N_("The transition %(from)s → %(to)s leads from a stage back to itself.")
DUPLICATE_TRANSITION = N_("The transition %(from)s → %(to)s is defined %(count)s times.")
UNKNOWN_AGENCY_TYPE = N_(
    "Stage %(stage)s has agency type %(agency_type)s; use justice, health, education, social or civil_society."
)
DURATION_SYNTAX = N_(
    '%(path)s: %(value)s is not a duration; write ISO 8601 such as PT24H, P3D or P1DT12H, or "N working days".'
)
DURATION_NOT_POSITIVE = N_("%(path)s: %(value)s is not positive; a duration must be longer than zero.")
REMINDER_NOT_BEFORE_DEADLINE = N_(
    "%(path)s: the reminder %(reminder)s is not shorter than the deadline %(deadline_path)s (%(deadline)s), "
    "so it could not come before it."
)
LOOP = N_(
    "Stages %(stage_list)s form a loop that a case can go round more than once; "
    "if that is intended, mark the route back with return: true."
)
NO_RESPONSE_DEADLINE = N_(
    "Stage %(stage)s receives referrals but has no respond_within, so a referral could wait forever."
)
NO_AGENCY_FOR_STAGE = N_("No active agency of type %(agency_type)s can take stage %(stage)s.")
STAGE_UNTRANSLATED = N_(
    "Stage %(stage)s has no name in %(languages)s; readers of that language will see it in English."
)
TRANSITION_UNTRANSLATED = N_(
    "The transition %(from)s → %(to)s has no label in %(languages)s; readers of that language will see it in English."
)


def validate(definition: Definition | Mapping[str, Any] | Any, directory: Iterable[str] | None = None) -> list[Problem]:
    """Return every problem of a Definition or a parsed document, errors first by code. Never raises.

    ``directory`` holds the agency types that have at least one active agency;
    without it the ``no_agency_for_stage`` check is skipped.
    """
    if not isinstance(definition, Definition):
        definition, problems = load_definition(definition)
        if definition is None:
            return problems
    return _Checker(definition, directory).run()


# Where nothing stands in for "reaches a terminal": an extra node every terminal leads to.
_TERMINUS = ("terminus",)
_AGENCY_TYPES = frozenset(AGENCY_TYPES)
_PAIR = attrgetter("from_stage", "to_stage")
_KEY = attrgetter("key")
_FROM = attrgetter("from_stage")
_TO = attrgetter("to_stage")
_EXTRA = attrgetter("extra")


class _Checker:
    def __init__(self, definition: Definition, directory: Iterable[str] | None) -> None:
        self.definition = definition
        self.directory = None if directory is None else frozenset(directory)
        self.found: dict[str, list[Problem]] = {code: [] for code in CODES}
        # The distinct stage keys in definition order (``stage_keys``, without its index of the stages).
        self.order = {key: index for index, key in enumerate(dict.fromkeys(map(_KEY, definition.stages)))}
        # The first stage of each key, in definition order: every stage when the keys are distinct.
        if len(self.order) == len(definition.stages):
            self.firsts = list(definition.stages)
        else:
            self.firsts = [definition.stage(key) for key in definition.stage_keys]
        self.terminals = definition.terminal_keys
        self.spoken = _spoken_languages(definition)
        # One graph answers every graph question: the stages, each transition an edge.
        self.graph = nx.DiGraph()
        self.graph.add_nodes_from(self.order)
        self.graph.add_edges_from(map(_PAIR, definition.transitions))
        # Whether every transition joins two different stages that exist: no other node, no self-loop.
        self.all_edges = len(self.graph) == len(self.order) and not nx.number_of_selfloops(self.graph)

    def add(self, code: str, template: str, params: Mapping[str, Any] | None = None, **where: Any) -> None:
        self.found[code].append(make_problem(code, template, params, **where))

    def run(self) -> list[Problem]:
        self.check_stages()
        self.check_transitions()
        self.check_graph()
        return [problem for code in CODES for problem in self.found[code]]

    def check_stages(self) -> None:
        definition = self.definition
        if len(self.order) < len(definition.stages):
            counts = Counter(stage.key for stage in definition.stages)
            for key in definition.stage_keys:
                if counts[key] > 1:
                    self.add("duplicate_stage", DUPLICATE_STAGE, {"stage": key, "count": counts[key]}, stages=[key])

        starts = [stage.key for stage in definition.stages if stage.is_start]
        if not starts:
            self.add("no_start", NO_START)
        elif len(starts) > 1:
            params = {"count": len(starts), "stage_list": _listing(starts)}
            self.add("multiple_starts", MULTIPLE_STARTS, params, stages=starts)
        if not self.terminals:
            self.add("no_terminal", NO_TERMINAL)

        retention = definition.retention
        if retention is not None and retention.error is not None:
            template = DURATION_NOT_POSITIVE if retention.error == "not_positive" else DURATION_SYNTAX
            self.add("invalid_duration", template, {"path": "retention", "value": retention.text})

        # Whether durations are in order, by the durations: the loader shares equal ones between stages,
        # and the objects outlive the loop, so their ids name them.
        in_order: dict[tuple[int, int, int, int], bool] = {}
        for index, stage in enumerate(definition.stages):
            if stage.agency_type not in _AGENCY_TYPES:
                params = {"stage": stage.key, "agency_type": stage.agency_type}
                self.add("unknown_agency_type", UNKNOWN_AGENCY_TYPE, params, stages=[stage.key])
            durations = (id(stage.respond_within), id(stage.complete_within), id(stage.review_every),
                         id(stage.reminders))
            fine = in_order.get(durations)
            if fine is None:
                fine = in_order[durations] = _durations_in_order(stage)
            if not fine:
                self.check_durations(index, stage)
        for stage in definition.stages if self.spoken else ():
            missing = _untranslated(stage.extra, "name", self.spoken)
            if missing:
                self.add("missing_translation", STAGE_UNTRANSLATED, {"stage": stage.key, "languages": missing,
                                                                     "field": "name"}, stages=[stage.key])

        if self.directory is not None:
            for stage in self.firsts:
                if stage.agency_type in AGENCY_TYPES and stage.agency_type not in self.directory:
                    params = {"stage": stage.key, "agency_type": stage.agency_type}
                    self.add("no_agency_for_stage", NO_AGENCY_FOR_STAGE, params, stages=[stage.key])

    def check_durations(self, index: int, stage: Stage) -> None:
        shortest = None
        for path, duration in stage.deadlines():
            if duration.error is not None:
                self.invalid_duration(index, stage, path, duration)
            elif shortest is None or duration.nominal < shortest[1].nominal:
                shortest = (path, duration)
        for number, reminder in enumerate(stage.reminders):
            path = f"reminders[{number}]"
            if reminder.error is not None:
                self.invalid_duration(index, stage, path, reminder)
            elif shortest is not None and reminder.nominal >= shortest[1].nominal:
                params = {
                    "path": f"stages[{index}].{path}",
                    "reminder": reminder.text,
                    "deadline_path": shortest[0],
                    "deadline": shortest[1].text,
                }
                self.add("reminder_not_before_deadline", REMINDER_NOT_BEFORE_DEADLINE, params, stages=[stage.key])

    def invalid_duration(self, index: int, stage: Stage, path: str, duration: Duration) -> None:
        template = DURATION_NOT_POSITIVE if duration.error == "not_positive" else DURATION_SYNTAX
        params = {"path": f"stages[{index}].{path}", "value": duration.text}
        self.add("invalid_duration", template, params, stages=[stage.key])

    def check_transitions(self) -> None:
        for transition in self.definition.transitions if self.spoken else ():
            missing = _untranslated(transition.extra, "label", self.spoken) if transition.label else None
            if missing:
                source, target = transition.pair
                params = {"from": source, "to": target, "languages": missing, "field": "label"}
                where = {"stages": [key for key in transition.pair if key in self.order], "transition": transition.pair}
                self.add("missing_translation", TRANSITION_UNTRANSLATED, params, **where)
        order, terminals, transitions = self.order, self.terminals, self.definition.transitions
        repeats = len(set(map(_PAIR, transitions))) < len(transitions)
        if self.all_edges and not repeats and not any(degree for _, degree in self.graph.out_degree(terminals)):
            return  # nothing below to report
        pairs = list(map(_PAIR, transitions))
        counts = Counter(pairs) if repeats else None
        reported: set[tuple[str, str]] = set()
        for pair in pairs:
            source, target = pair
            suspect = (
                source not in order
                or target not in order
                or source in terminals
                or source == target
                or (counts is not None and counts[pair] > 1)
            )
            if not suspect or pair in reported:
                continue
            reported.add(pair)
            where = {"stages": [key for key in pair if key in order], "transition": pair}
            for key in dict.fromkeys(pair):
                if key not in order:
                    self.add("unknown_stage", UNKNOWN_STAGE, {"from": source, "to": target, "stage": key}, **where)
            if source in terminals:
                self.add("terminal_has_exit", TERMINAL_HAS_EXIT, {"stage": source, "to": target}, **where)
            if source == target:
                self.add("self_loop", SELF_LOOP, {"from": source, "to": target}, **where)
            if counts is not None and counts[pair] > 1:
                params = {"from": source, "to": target, "count": counts[pair]}
                self.add("duplicate_transition", DUPLICATE_TRANSITION, params, **where)

    def check_graph(self) -> None:
        order, graph = self.order, self.graph
        returns = [_PAIR(transition) for transition in self.definition.transitions if transition.is_return]
        if self.all_edges:
            has_exit = set(map(_FROM, self.definition.transitions))
            has_entry = set(map(_TO, self.definition.transitions))
        else:
            # Transitions to unknown stages and self-loops are reported on their own; the graph leaves them out.
            graph.remove_nodes_from([key for key in graph if key not in order])
            graph.remove_edges_from(list(nx.selfloop_edges(graph)))
            edges = [pair for pair in map(_PAIR, self.definition.transitions) if pair in graph.edges]
            returns = [pair for pair in returns if pair in graph.edges]
            has_exit = set(map(itemgetter(0), edges))
            has_entry = set(map(itemgetter(1), edges))

        components = [members for members in nx.strongly_connected_components(graph) if len(members) > 1]
        traps = [
            members
            for members in components
            if self.terminals.isdisjoint(members)
            and all(after in members for key in members for after in graph.successors(key))
        ]
        in_trap = set().union(*traps)

        starts = list(dict.fromkeys(stage.key for stage in self.definition.stages if stage.is_start))
        reached: set[str] = set()
        for start in starts:
            if start not in reached:
                reached.add(start)
                reached.update(nx.descendants(graph, start))
        # Sets of stages, listed in definition order.
        by_order = order.__getitem__
        unreachable = sorted(order.keys() - reached, key=by_order) if starts else []

        dead_ends = sorted(order.keys() - self.terminals - has_exit, key=by_order)
        no_path: list[str] = []
        if self.terminals:
            graph.add_edges_from((key, _TERMINUS) for key in self.terminals)
            reaches_terminal = nx.ancestors(graph, _TERMINUS)
            graph.remove_node(_TERMINUS)
            no_path = sorted((order.keys() - reaches_terminal - in_trap - self.terminals) & has_exit, key=by_order)
        silent = [stage.key for stage in self.firsts if stage.respond_within is None and stage.key in has_entry]

        for key in unreachable:
            self.add("unreachable_stage", UNREACHABLE_STAGE, {"stage": key}, stages=[key])
        for key in dead_ends:
            self.add("dead_end", DEAD_END, {"stage": key}, stages=[key])
        for members in self._in_order(traps):
            self.add("trap_cycle", TRAP_CYCLE, {"stage_list": _listing(members)}, stages=members)
        for key in no_path:
            self.add("no_path_to_terminal", NO_PATH_TO_TERMINAL, {"stage": key}, stages=[key])

        loops = [members for members in components if members.isdisjoint(in_trap)]
        if returns and loops:
            # Only the cycles that survive without the intended routes back are warnings. Each lies
            # within a component, so those of the whole graph less the routes back, outside the traps.
            graph.remove_edges_from(returns)
            loops = [
                members
                for members in nx.strongly_connected_components(graph)
                if len(members) > 1 and members.isdisjoint(in_trap)
            ]
        for members in self._in_order(loops):
            self.add("loop", LOOP, {"stage_list": _listing(members)}, stages=members)
        for key in silent:
            self.add("no_response_deadline", NO_RESPONSE_DEADLINE, {"stage": key}, stages=[key])

    def _in_order(self, groups: Iterable[set[str]]) -> list[set[str]]:
        return sorted(groups, key=lambda members: min(self.order[key] for key in members))


def _durations_in_order(stage: Stage) -> bool:
    """Return whether a stage's durations are all valid and each reminder is shorter than every deadline.

    What most stages are, answered without building the paths that only a problem names.
    """
    respond, complete, review = stage.respond_within, stage.complete_within, stage.review_every
    shortest = None
    if respond is not None:
        if respond.shortest is None:
            return False
        shortest = respond.shortest.nominal
    if complete is not None:
        if complete.shortest is None:
            return False
        if shortest is None or complete.shortest.nominal < shortest:
            shortest = complete.shortest.nominal
    if review is not None:
        if review.error is not None:
            return False
        if shortest is None or review.nominal < shortest:
            shortest = review.nominal
    for reminder in stage.reminders:
        if reminder.error is not None or (shortest is not None and reminder.nominal >= shortest):
            return False
    return True


def _listing(keys: Iterable[str]) -> str:
    return ", ".join(sorted(set(keys)))


def _has_text(extra: Mapping[str, Any], name: str) -> bool:
    text = extra.get(name)
    return isinstance(text, str) and bool(text.strip())


def _spoken_languages(definition: Definition) -> tuple[str, ...]:
    """Return the languages the definition names anything in: each of them should name everything."""
    extras = list(filter(None, chain((definition.extra,), map(_EXTRA, definition.stages),
                                     map(_EXTRA, definition.transitions))))
    return tuple(language for language in TRANSLATED_LANGUAGES
                 if any(_has_text(extra, f"name_{language}") or _has_text(extra, f"label_{language}")
                        for extra in extras))


def _untranslated(extra: Mapping[str, Any], field_name: str, languages: tuple[str, ...]) -> str | None:
    """Return the languages (codes, comma-separated) a name or label lacks of those given, or None."""
    missing = [language for language in languages if not _has_text(extra, f"{field_name}_{language}")]
    return ", ".join(missing) or None

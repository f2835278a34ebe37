"""The picture of a workflow: an inline SVG drawn on the server from ``workflows.layout``.

Stages are coloured by agency type; the start stage has an entry dot and
terminal stages a double border; stages with errors are outlined in red,
unreachable ones greyed, highlighted ones (e.g. the active stages of a case)
ringed in blue. Every stage is a ``<g class="stage …" data-stage="key">`` and
every transition a ``<g class="transition …" data-from data-to>`` so pages,
scripts and tests can find them.
"""

import textwrap
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup, escape

from workflows import Definition, Problem, layout, load_definition
from workflows.layout import LAYER_GAP

from ..i18n import reading_language
from ..web.labels import agency_type_label
from .service import translate

#: Extra room between layers beyond the layout's, so that edge labels fit.
EXTRA_LAYER_GAP = 70.0
GAP = LAYER_GAP + EXTRA_LAYER_GAP
#: Vertical distance between the lanes of back edges drawn below the stages.
BACK_LANE_STEP = 10.0


@dataclass(frozen=True)
class Palette:
    fill: str
    stroke: str


#: Fill and border of a stage by agency type; colour-blind-safe hues, light fills for dark text.
PALETTE: Mapping[str, Palette] = {
    "justice": Palette("#e9e1f7", "#6a3fb5"),
    "health": Palette("#d8f1ee", "#0f7b6c"),
    "education": Palette("#fff0c7", "#a8770a"),
    "social": Palette("#dde9fb", "#1f5fbf"),
    "civil_society": Palette("#e2f2dc", "#3b8a2e"),
}
UNKNOWN = Palette("#eeeeee", "#6c757d")
#: Fills of a heat map, from no delay to the worst (light to dark orange-red, readable with dark text),
#: and the border of a stage where something is overdue now.
HEAT = ("#f4f6f8", "#fde9c8", "#fbc98e", "#f59d62", "#e8694a")
OVERDUE = "#b3261e"


@dataclass(frozen=True)
class Heat:
    """How hot a stage is in a report: a level of ``HEAT`` (0 coolest), whether anything is overdue, a caption."""

    level: int
    overdue: bool
    caption: str
ERROR = "#d62828"
WARNING = "#e08e0b"
HIGHLIGHT = "#0d6efd"
EDGE = "#555b61"


def workflow_svg(
    definition: Definition | Mapping[str, Any] | None,
    problems: Iterable[Problem] = (),
    highlight: Collection[str] = (),
    *,
    id_prefix: str = "wf",
    title: str | None = None,
    heat: Mapping[str, Heat] | None = None,
) -> Markup | None:
    """Return the SVG picture of a definition or document; None when it does not load.

    ``problems`` mark stages and transitions (errors red, warnings amber,
    unreachable stages grey); ``highlight`` rings the stages with these keys; ``heat`` fills each stage by
    its delay instead of its agency type, outlines it where something is overdue and writes its caption.
    """
    if definition is None:
        return None
    if not isinstance(definition, Definition):
        definition, _problems = load_definition(definition)
        if definition is None:
            return None
    return Markup(_Drawing(definition, list(problems), frozenset(highlight), id_prefix, title, heat).svg())


class _Drawing:
    def __init__(self, definition: Definition, problems: list[Problem], highlight: frozenset[str],
                 prefix: str, title: str | None, heat: Mapping[str, Heat] | None = None) -> None:
        self.definition = definition
        self.heat = heat
        self.layout = layout(definition)
        self.highlight = highlight
        self.prefix = prefix
        #: Stage names and labels are drawn in the reader's language where the workflow gives one.
        self.language = reading_language()
        self.title = title or definition.name_in(self.language)
        self.error_stages: set[str] = set()
        self.warning_stages: set[str] = set()
        self.unreachable: set[str] = set()
        self.error_pairs: set[tuple[str, str]] = set()
        self.messages: dict[str, list[str]] = {}
        for problem in problems:
            if problem.code == "unreachable_stage":
                self.unreachable.update(problem.stages)
            if problem.transition is not None:
                if problem.is_error:
                    self.error_pairs.add((problem.transition["from"], problem.transition["to"]))
            elif problem.is_error:
                self.error_stages.update(problem.stages)
            else:
                self.warning_stages.update(problem.stages)
            for key in problem.stages:
                self.messages.setdefault(key, []).append(translate(problem))
        self.boxes = {node.key: node for node in self.layout.nodes}

    def x(self, key: str) -> float:
        node = self.boxes[key]
        return node.x + node.layer * EXTRA_LAYER_GAP

    def svg(self) -> str:
        layers = len(self.layout.layers)
        width = self.layout.width + max(layers - 1, 0) * EXTRA_LAYER_GAP
        back_edges = [edge for edge in self.layout.edges if edge.is_back_edge]
        height = self.layout.height + max(len(back_edges) - 1, 0) * BACK_LANE_STEP
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-svg" role="img" '
            f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'aria-labelledby="{self.prefix}-title" font-family="system-ui, -apple-system, \'Segoe UI\', sans-serif">',
            f'<title id="{self.prefix}-title">{escape(self.title)}</title>',
            "<defs>",
            self._marker("arrow", EDGE),
            self._marker("arrow-error", ERROR),
            "</defs>",
        ]
        ports_out, ports_in = self._ports()
        back_number = {(edge.from_stage, edge.to_stage): index for index, edge in enumerate(back_edges)}
        for edge in self.layout.edges:
            parts.append(self._edge(edge, ports_out, ports_in, back_number))
        for node in self.layout.nodes:
            parts.append(self._stage(node))
        parts.append("</svg>")
        return "\n".join(parts)

    def _marker(self, name: str, colour: str) -> str:
        return (f'<marker id="{self.prefix}-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')

    def _ports(self) -> tuple[dict, dict]:
        """Spread the ends of forward edges along the sides of the boxes, ordered by the other end's height."""
        outgoing: dict[str, list] = {}
        incoming: dict[str, list] = {}
        for edge in self.layout.edges:
            if not edge.is_back_edge and not edge.is_self_loop:
                outgoing.setdefault(edge.from_stage, []).append(edge)
                incoming.setdefault(edge.to_stage, []).append(edge)
        ports_out, ports_in = {}, {}
        for key, edges in outgoing.items():
            box = self.boxes[key]
            edges.sort(key=lambda edge: self.boxes[edge.to_stage].center[1])
            for index, edge in enumerate(edges):
                ports_out[(edge.from_stage, edge.to_stage)] = box.y + box.height * (index + 1) / (len(edges) + 1)
        for key, edges in incoming.items():
            box = self.boxes[key]
            edges.sort(key=lambda edge: self.boxes[edge.from_stage].center[1])
            for index, edge in enumerate(edges):
                ports_in[(edge.from_stage, edge.to_stage)] = box.y + box.height * (index + 1) / (len(edges) + 1)
        return ports_out, ports_in

    def _edge(self, edge, ports_out: dict, ports_in: dict, back_number: dict) -> str:
        pair = (edge.from_stage, edge.to_stage)
        source, target = self.boxes[edge.from_stage], self.boxes[edge.to_stage]
        if edge.is_self_loop:
            shift = self.x(source.key) - source.x
            points = [(x + shift, y) for x, y in edge.points]
            (x0, y0), (x1, y1), (x2, y2), (x3, y3), (x4, y4) = points
            path = (f"M{x0:.1f},{y0:.1f} C{x1:.1f},{y1 - 10:.1f} {x3 + 10:.1f},{y2:.1f} {x3:.1f},{y3:.1f} "
                    f"L{x4:.1f},{y4:.1f}")
            label_at = (x2 + 4, y1 - 6)
            anchor = "start"
        elif edge.is_back_edge:
            lane = edge.points[1][1] + back_number[pair] * BACK_LANE_STEP
            x0, y0 = self.x(source.key) + source.width / 2, source.y + source.height
            x3, y3 = self.x(target.key) + target.width / 2, target.y + target.height
            # A cubic with both control points at depth d reaches 3/4 of d.
            c0, c3 = y0 + (lane - y0) / 0.75, y3 + (lane - y3) / 0.75
            path = f"M{x0:.1f},{y0:.1f} C{x0:.1f},{c0:.1f} {x3:.1f},{c3:.1f} {x3:.1f},{y3:.1f}"
            label_at = ((x0 + x3) / 2, lane - 4)
            anchor = "middle"
        else:
            x0, y0 = self.x(source.key) + source.width, ports_out.get(pair, source.center[1])
            x3, y3 = self.x(target.key), ports_in.get(pair, target.center[1])
            middle = (x0 + x3) / 2
            path = f"M{x0:.1f},{y0:.1f} C{middle:.1f},{y0:.1f} {middle:.1f},{y3:.1f} {x3:.1f},{y3:.1f}"
            label_at = _label_point(((x0, y0), (middle, y0), (middle, y3), (x3, y3)), source.width)
            anchor = "middle"

        is_error = pair in self.error_pairs
        transition = self.definition.transition(*pair)
        classes = ["transition", f"mode-{edge.mode}"]
        if edge.is_back_edge:
            classes.append("back-edge")
        if is_error:
            classes.append("has-error")
        colour = ERROR if is_error else EDGE
        label = transition.label_in(self.language) if transition is not None else edge.label
        dash = ' stroke-dasharray="6 4"' if edge.mode == "parallel" else ""
        tooltip = f"{edge.from_stage} → {edge.to_stage}"
        if label:
            tooltip += f": {label}"
        if transition is not None and transition.requires:
            tooltip += " (" + _("requires: %(guards)s", guards=", ".join(transition.requires)) + ")"
        if edge.mode == "parallel":
            tooltip += " · " + _("parallel")
        lines = []
        if label:
            lines.append(self._text_lines(label, label_at, anchor, colour))
        return (
            f'<g class="{" ".join(classes)}" data-from="{escape(edge.from_stage)}" data-to="{escape(edge.to_stage)}">'
            f"<title>{escape(tooltip)}</title>"
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{2.5 if is_error else 1.5}"{dash} '
            f'marker-end="url(#{self.prefix}-{"arrow-error" if is_error else "arrow"})"/>'
            + "".join(lines) + "</g>"
        )

    def _text_lines(self, text: str, at: tuple[float, float], anchor: str, colour: str) -> str:
        lines = textwrap.wrap(text, 24)
        if len(lines) > 3:
            lines = lines[:3]
            lines[2] = lines[2][:22] + "…"
        x, y = at
        top = y - (len(lines) - 1) * 11 / 2 + 3
        spans = "".join(
            f'<tspan x="{x:.1f}" y="{top + index * 11:.1f}">{escape(line)}</tspan>' for index, line in enumerate(lines)
        )
        return (f'<text class="edge-label" font-size="10" text-anchor="{anchor}" fill="{colour}" stroke="#fff" '
                f'stroke-width="3" paint-order="stroke" stroke-linejoin="round">{spans}</text>')

    def _stage(self, node) -> str:
        stage = self.definition.stage(node.key)
        palette = PALETTE.get(stage.agency_type, UNKNOWN)
        classes = ["stage", f"agency-{stage.agency_type}"]
        if stage.is_start:
            classes.append("start")
        if stage.is_terminal:
            classes.append("terminal")
        if node.key in self.unreachable:
            classes.append("unreachable")
        if node.key in self.error_stages:
            classes.append("has-error")
        elif node.key in self.warning_stages:
            classes.append("has-warning")
        if node.key in self.highlight:
            classes.append("highlighted")
        x, y, w, h = self.x(node.key), node.y, node.width, node.height

        fill, stroke, stroke_width, dash = palette.fill, palette.stroke, 1.5, ""
        if node.key in self.unreachable:
            fill, stroke, dash = "#f1f1f1", "#9a9a9a", ' stroke-dasharray="4 3"'
        if node.key in self.error_stages:
            stroke, stroke_width, dash = ERROR, 3.5, ""
        elif node.key in self.warning_stages:
            stroke, stroke_width, dash = WARNING, 2.5, ' stroke-dasharray="5 3"'
        opacity = ' opacity="0.6"' if node.key in self.unreachable else ""
        heat = self.heat.get(node.key, Heat(0, False, "")) if self.heat is not None else None
        if heat is not None:
            classes.append(f"heat-{heat.level}")
            fill = HEAT[max(0, min(heat.level, len(HEAT) - 1))]
            if heat.overdue:
                classes.append("overdue")
                stroke, stroke_width, dash = OVERDUE, 3.0, ""

        name = stage.name_in(self.language)
        notes = [name, f"{stage.key} · {agency_type_label(stage.agency_type)}"]
        if stage.is_start:
            notes.append(_("Start stage"))
        if stage.is_terminal:
            notes.append(_("Terminal stage"))
        notes.extend(self.messages.get(node.key, []))
        if heat is not None and heat.caption:
            notes.append(heat.caption)
        parts = [
            f'<g class="{" ".join(classes)}" data-stage="{escape(node.key)}"{opacity}>',
            f"<title>{escape(chr(10).join(notes))}</title>",
        ]
        if node.key in self.highlight:
            parts.append(f'<rect class="highlight-ring" x="{x - 5:.1f}" y="{y - 5:.1f}" width="{w + 10:.1f}" '
                         f'height="{h + 10:.1f}" rx="12" fill="none" stroke="{HIGHLIGHT}" stroke-width="4"/>')
        parts.append(f'<rect class="box" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8" '
                     f'fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>')
        if stage.is_terminal:
            parts.append(f'<rect class="terminal-mark" x="{x + 4:.1f}" y="{y + 4:.1f}" width="{w - 8:.1f}" '
                         f'height="{h - 8:.1f}" rx="5" fill="none" stroke="{palette.stroke}" stroke-width="1"/>')
        if stage.is_start:
            cy = y + h / 2
            parts.append(f'<g class="start-mark"><circle cx="{x - 15:.1f}" cy="{cy:.1f}" r="6" fill="#212529"/>'
                         f'<path d="M{x - 9:.1f},{cy:.1f} L{x - 1:.1f},{cy:.1f}" stroke="#212529" stroke-width="1.5" '
                         f'marker-end="url(#{self.prefix}-arrow)"/></g>')
        name_lines = textwrap.wrap(name, 26) or [""]
        if len(name_lines) > 2:
            name_lines = [name_lines[0], name_lines[1][:24] + "…"]
        top = y + (19 if len(name_lines) == 2 else 25)
        for index, line in enumerate(name_lines):
            parts.append(f'<text x="{x + w / 2:.1f}" y="{top + index * 14:.1f}" font-size="11.5" font-weight="600" '
                         f'text-anchor="middle" fill="#212529">{escape(line)}</text>')
        if heat is not None:
            caption = heat.caption if len(heat.caption) <= 34 else heat.caption[:33] + "…"
            parts.append(f'<text class="heat-caption" x="{x + w / 2:.1f}" y="{y + h - 9:.1f}" font-size="10" '
                         f'font-weight="600" text-anchor="middle" fill="{OVERDUE if heat.overdue else "#343a40"}">'
                         f"{escape(caption)}</text>")
        else:
            key_text = stage.key if len(stage.key) <= 28 else stage.key[:27] + "…"
            parts.append(f'<text class="stage-key" x="{x + w / 2:.1f}" y="{y + h - 9:.1f}" font-size="9.5" '
                         f'font-family="ui-monospace, monospace" text-anchor="middle" fill="#495057">'
                         f"{escape(key_text)}</text>")
        parts.append("</g>")
        return "".join(parts)


def _label_point(controls: tuple[tuple[float, float], ...], box_width: float) -> tuple[float, float]:
    """Return the point of an edge's curve in the gap between two layers nearest the curve's middle."""
    x0, x3 = controls[0][0], controls[3][0]
    step = box_width + GAP
    count = max(round(((x0 + x3) / 2 - (x0 + GAP / 2)) / step), 0)
    target_x = min(x0 + GAP / 2 + count * step, x3 - GAP / 2)
    return min((_bezier(controls, t / 50) for t in range(51)), key=lambda point: abs(point[0] - target_x))


def _bezier(points: tuple[tuple[float, float], ...], t: float) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    u = 1 - t
    return (u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
            u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3)

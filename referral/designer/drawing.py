"""The picture of a workflow: an inline SVG drawn on the server from ``workflows.layout``.

Stages are drawn top to bottom, each route's label beside its line (the
layout keeps labels clear of boxes, other labels and other routes); names and
labels wrap inside their room. Stages are coloured by agency type; the start
stage has an entry dot and terminal stages a double border; stages with errors are outlined in red,
unreachable ones greyed, highlighted ones (e.g. the active stages of a case)
ringed in blue. Every stage is a ``<g class="stage …" data-stage="key">`` and
every transition a ``<g class="transition …" data-from data-to>`` so pages,
scripts and tests can find them.
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup, escape

from workflows import Definition, Problem, layout, load_definition
from workflows.layout import EdgePath, NodeBox, TextBox

from ..i18n import reading_language
from ..web.labels import agency_type_label
from .service import translate


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
        #: Stage names and labels are drawn in the reader's language where the workflow gives one.
        self.language = reading_language()
        captions = {key: value.caption for key, value in heat.items() if value.caption} if heat is not None else None
        self.layout = layout(definition, self.language, captions)
        self.highlight = highlight
        self.prefix = prefix
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

    def svg(self) -> str:
        width, height = self.layout.width, self.layout.height
        start = self.definition.start_stage
        description = _("Stages: %(stages)s, routes: %(routes)s, drawn from the top down.",
                        stages=len(self.layout.nodes), routes=len(self.layout.edges))
        if start is not None:
            description += " " + _("The case starts at %(stage)s.", stage=start.name_in(self.language))
        if self.highlight:
            names = [self.definition.stage(node.key).name_in(self.language)
                     for node in self.layout.nodes if node.key in self.highlight]
            description += " " + _("Marked: %(stages)s.", stages=", ".join(names))
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-svg" role="img" '
            f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'aria-labelledby="{self.prefix}-title {self.prefix}-desc" '
            f'font-family="system-ui, -apple-system, \'Segoe UI\', sans-serif">',
            f'<title id="{self.prefix}-title">{escape(self.title)}</title>',
            f'<desc id="{self.prefix}-desc">{escape(description)}</desc>',
            "<defs>",
            self._marker("arrow", EDGE),
            self._marker("arrow-error", ERROR),
            "</defs>",
        ]
        for edge in self.layout.edges:
            parts.append(self._edge(edge))
        for node in self.layout.nodes:
            parts.append(self._stage(node))
        parts.append("</svg>")
        return "\n".join(parts)

    def _marker(self, name: str, colour: str) -> str:
        return (f'<marker id="{self.prefix}-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')

    def _edge(self, edge: EdgePath) -> str:
        pair = (edge.from_stage, edge.to_stage)
        is_error = pair in self.error_pairs
        transition = self.definition.transition(*pair)
        classes = ["transition", f"mode-{edge.mode}"]
        if edge.is_back_edge:
            classes.append("back-edge")
        if edge.is_self_loop:
            classes.append("self-loop")
        if is_error:
            classes.append("has-error")
        colour = ERROR if is_error else EDGE
        label = edge.label
        dash = ' stroke-dasharray="6 4"' if edge.mode == "parallel" else ""
        tooltip = f"{edge.from_stage} → {edge.to_stage}"
        if label:
            tooltip += f": {label}"
        if transition is not None and transition.requires:
            tooltip += " (" + _("requires: %(guards)s", guards=", ".join(transition.requires)) + ")"
        if edge.mode == "parallel":
            tooltip += " · " + _("parallel")
        text = ""
        if edge.label_box is not None:
            text = _text(edge.label_box, "edge-label", colour, anchor="start", halo=True)
        return (
            f'<g class="{" ".join(classes)}" data-from="{escape(edge.from_stage)}" data-to="{escape(edge.to_stage)}">'
            f"<title>{escape(tooltip)}</title>"
            f'<path d="{_path(edge)}" fill="none" stroke="{colour}" stroke-width="{2.5 if is_error else 1.5}"{dash} '
            f'marker-end="url(#{self.prefix}-{"arrow-error" if is_error else "arrow"})"/>'
            + text + "</g>"
        )

    def _stage(self, node: NodeBox) -> str:
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
        x, y, w, h = node.x, node.y, node.width, node.height

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
            parts.append(f'<rect class="terminal-mark" x="{x + 3:.1f}" y="{y + 3:.1f}" width="{w - 6:.1f}" '
                         f'height="{h - 6:.1f}" rx="6" fill="none" stroke="{palette.stroke}" stroke-width="1"/>')
        if stage.is_start:
            parts.append(f'<circle class="start-mark" cx="{x + 8:.1f}" cy="{y + 8:.1f}" r="4" fill="#212529"/>')
        if node.name is not None:
            parts.append(_text(node.name, "stage-name", "#212529", weight="600"))
        if node.note is not None:
            if heat is not None and heat.caption:
                # Red on the darkest fills would not read: there the red border alone says "overdue".
                colour = OVERDUE if heat.overdue and heat.level < 3 else "#212529"
                parts.append(_text(node.note, "heat-caption", colour, weight="600"))
            else:
                parts.append(_text(node.note, "stage-key", "#495057", mono=True))
        parts.append("</g>")
        return "".join(parts)


def _text(box: TextBox, css: str, colour: str, *, anchor: str = "middle", weight: str | None = None,
          mono: bool = False, halo: bool = False) -> str:
    """Return a <text> with one <tspan> a line, centred in its box or (``anchor="start"``) from its left."""
    x = box.x + box.width / 2 if anchor == "middle" else box.x
    spans = "".join(f'<tspan x="{x:.1f}" y="{baseline:.1f}">{escape(line)}</tspan>'
                    for line, baseline in zip(box.lines, box.baselines(), strict=True))
    attributes = f'class="{css}" font-size="{box.size}" text-anchor="{anchor}" fill="{colour}"'
    if weight:
        attributes += f' font-weight="{weight}"'
    if mono:
        attributes += ' font-family="ui-monospace, monospace"'
    if halo:
        attributes += ' stroke="#fff" stroke-width="3" paint-order="stroke" stroke-linejoin="round"'
    return f"<text {attributes}>{spans}</text>"


def _path(edge: EdgePath) -> str:
    """Return the path of a route: straight through a layer, an S-curve across a gap (inside its rectangle)."""
    (x0, y0), *rest = edge.points
    commands = [f"M{x0:.1f},{y0:.1f}"]
    if edge.is_self_loop:
        (x1, y1), (x2, y2), (x3, y3) = rest
        commands.append(f"C{x1:.1f},{y1:.1f} {x2:.1f},{y2:.1f} {x3:.1f},{y3:.1f}")
        return " ".join(commands)
    # Jumps across the gaps between layers and runs through a layer alternate, starting with a jump.
    for index, (x1, y1) in enumerate(rest):
        if index % 2:
            commands.append(f"L{x1:.1f},{y1:.1f}")
        else:
            middle = (y0 + y1) / 2
            commands.append(f"C{x0:.1f},{middle:.1f} {x1:.1f},{middle:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(commands)

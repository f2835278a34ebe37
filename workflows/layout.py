"""A layered drawing of a workflow graph, top to bottom, for the designer's SVG.

Stages sit on layers: the longest-path generations of the graph once the
edges that close cycles are turned round (routes marked ``return: true``
first, then the back edges of a depth-first search from the start). Between
two layers of stages lies a layer of route labels: every route is a chain of
items, one per layer it crosses, and its label is one of those items (the one
next to the stage the route leaves), with the size of its wrapped text. So a
label takes room like a stage does and nothing is ever drawn over it: inside
a layer items never overlap, a route runs straight down through its own items,
and it bends only in the gaps between layers, where nothing else is drawn.

Within a layer, barycenter sweeps order the items to cut crossings (the best
order seen is kept); then each item is pulled towards the middle of its
neighbours, the layer keeping its order and its gaps (an isotonic regression).
Stage names, keys, captions and labels are wrapped to their widths with an
estimate of the text's width in a common sans-serif font (generous, so that
the browser's text fits); nothing is cut short. Everything is deterministic,
and an invalid definition (unknown stages, duplicates, cycles, no start) still
gets a drawing.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from .format import load_definition
from .model import Definition

#: Width of a stage's box, and the room for its text inside.
NODE_WIDTH = 184.0
NODE_PADDING_X = 10.0
NODE_PADDING_Y = 8.0
#: The smallest box (one line of name and one of key).
NODE_HEIGHT = 48.0
NAME_SIZE = 12.0
NAME_LINE = 15.0
NOTE_SIZE = 9.5
NOTE_LINE = 12.0
LABEL_SIZE = 10.5
LABEL_LINE = 13.0
#: The widest line of a route label.
LABEL_WIDTH = 150.0
#: Distance from a route's line to its label's text.
LABEL_INSET = 5.0
LABEL_PADDING_Y = 3.0
#: Room of a route that only passes through a layer.
PASS_WIDTH = 8.0
#: Horizontal gap between items of a layer, and vertical gap between layers (where routes bend).
ITEM_GAP = 18.0
LAYER_GAP = 24.0
MARGIN = 16.0
#: A route from a stage to itself: how far its loop reaches right of the box.
LOOP_REACH = 18.0
_SWEEPS = 12
_PULLS = 12

Point = tuple[float, float]


@dataclass(frozen=True)
class TextBox:
    """Wrapped text and the box it takes: ``x``/``y`` the top left, one line every ``line`` pixels."""

    lines: tuple[str, ...]
    x: float
    y: float
    width: float
    height: float
    size: float
    line: float

    def baselines(self) -> tuple[float, ...]:
        """Return the y of each line's baseline."""
        return tuple(self.y + self.size * 0.95 + index * self.line for index in range(len(self.lines)))


@dataclass(frozen=True)
class NodeBox:
    """Where one stage is drawn: its layer (row from the top), position in the layer and box."""

    key: str
    layer: int
    position: int
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT
    #: The stage's name in the layout's language, wrapped.
    name: TextBox | None = None
    #: The line under the name: the stage key or the caption given for it, wrapped.
    note: TextBox | None = None

    @property
    def center(self) -> Point:
        """Return the middle of the box."""
        return self.x + self.width / 2, self.y + self.height / 2


@dataclass(frozen=True)
class EdgePath:
    """How one transition is drawn; ``points`` is a polyline from source to target.

    Consecutive points with the same x are a straight run through a layer; the others cross the gap
    between two layers and may be drawn as a curve inside the rectangle they span.
    """

    from_stage: str
    to_stage: str
    label: str | None
    mode: str
    #: The edge points back to the same or an earlier layer (it closes a loop).
    is_back_edge: bool
    is_self_loop: bool
    points: tuple[Point, ...]
    #: Where the label (in the layout's language) is written, beside the route's line.
    label_box: TextBox | None = None


@dataclass(frozen=True)
class Layout:
    """A drawing of a whole workflow: boxes, edges, layers and the canvas size."""

    nodes: tuple[NodeBox, ...]
    edges: tuple[EdgePath, ...]
    layers: tuple[tuple[str, ...], ...]
    width: float
    height: float

    def node(self, key: str) -> NodeBox:
        """Return the box of a stage; raise KeyError if the stage is not drawn."""
        for node in self.nodes:
            if node.key == key:
                return node
        raise KeyError(key)


# Widths in em of a sans-serif font as wide as DejaVu Sans (the usual fallback on Linux), rounded up.
_NARROW = set("iljI.,:;!|'’`іїı ")
_SEMI = set("frtJ()[]{}-/\"«»")
_WIDE = set("mwMWжшщюыфЖШЩЮЫФ@%—…")
_MONO = 0.62


def text_width(text: str, size: float, *, bold: bool = False, mono: bool = False) -> float:
    """Return the estimated width in pixels of one line of text at a font size."""
    if mono:
        return len(text) * _MONO * size
    total = 0.0
    for char in text:
        if char in _NARROW:
            em = 0.33
        elif char in _SEMI:
            em = 0.45
        elif char in _WIDE:
            em = 0.98
        elif char.isupper():
            em = 0.76
        else:
            em = 0.65
        total += em
    # A little more than measured in Chromium with DejaVu Sans, so that other fonts fit too.
    return total * size * (1.08 if bold else 1.0) * 1.06


def wrap(text: str, width: float, size: float, *, bold: bool = False, mono: bool = False) -> tuple[str, ...]:
    """Break text into lines no wider than ``width``: at spaces, after hyphens, and inside a word too long."""
    def fits(line: str) -> bool:
        return text_width(line, size, bold=bold, mono=mono) <= width

    # A word too long for a line (a stage key) may break after each hyphen: its pieces are glued, not spaced.
    words: list[tuple[str, bool]] = []
    for word in text.split():
        pieces = [word] if fits(word) else [piece for piece in word.replace("-", "-\0").split("\0") if piece]
        words.extend((piece, index > 0) for index, piece in enumerate(pieces))
    lines: list[str] = []
    line = ""
    for word, glued in words:
        joiner = "" if not line or glued else " "
        if fits(line + joiner + word):
            line += joiner + word
            continue
        if line:
            lines.append(line)
        line = ""
        while not fits(word):
            cut = max(index for index in range(1, len(word) + 1) if index == 1 or fits(word[:index]))
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line or not lines:
        lines.append(line)
    return tuple(lines)


def _text_box(text: str, width: float, size: float, line: float, **style: bool) -> TextBox:
    lines = wrap(text, width, size, **style)
    widest = max(text_width(one, size, **style) for one in lines)
    return TextBox(lines=lines, x=0.0, y=0.0, width=widest, height=len(lines) * line, size=size, line=line)


def _moved(box: TextBox, x: float, y: float) -> TextBox:
    return TextBox(lines=box.lines, x=x, y=y, width=box.width, height=box.height, size=box.size, line=box.line)


@dataclass(eq=False)
class _Item:
    """One thing in a layer: a stage, a route's label or a route passing through."""

    kind: str
    width: float
    #: From the item's left to where its routes run (a label's line is at its left).
    anchor: float
    key: str = ""
    text: TextBox | None = None
    #: A stage's key or caption, under its name.
    note: TextBox | None = None
    x: float = 0.0
    up: list["_Item"] = field(default_factory=list)
    down: list["_Item"] = field(default_factory=list)

    @property
    def line(self) -> float:
        return self.x + self.anchor


def layout(
    definition: Definition | Mapping[str, Any],
    language: str | None = None,
    captions: Mapping[str, str] | None = None,
) -> Layout:
    """Lay out a definition (or a document that loads) in layers, names and labels in ``language``.

    ``captions`` replace the key written under a stage's name. An unloadable document gives an empty layout.
    """
    if not isinstance(definition, Definition):
        definition, _ = load_definition(definition)
        if definition is None:
            return Layout(nodes=(), edges=(), layers=(), width=2 * MARGIN, height=2 * MARGIN)
    captions = captions or {}

    keys = definition.stage_keys
    order = {key: index for index, key in enumerate(keys)}
    transitions: dict[tuple[str, str], Any] = {}
    for transition in definition.transitions:
        if transition.from_stage in order and transition.to_stage in order:
            transitions.setdefault(transition.pair, transition)

    oriented = _orient(definition, keys, transitions)
    dag = nx.DiGraph()
    dag.add_nodes_from(keys)
    dag.add_edges_from(pair for pair in oriented.values() if pair is not None)
    layer_of = {key: number for number, generation in enumerate(nx.topological_generations(dag))
                for key in generation}
    layer_count = max(layer_of.values(), default=-1) + 1
    ranks: list[list[_Item]] = [[] for _ in range(max(2 * layer_count - 1, 0))]

    inner = NODE_WIDTH - 2 * NODE_PADDING_X
    stage_items: dict[str, _Item] = {}
    for key in keys:
        stage = definition.stage(key)
        name = _text_box(stage.name_in(language) or key, inner, NAME_SIZE, NAME_LINE, bold=True)
        caption = captions.get(key)
        note = (_text_box(caption, inner, NOTE_SIZE + 0.5, NOTE_LINE, bold=True) if caption
                else _text_box(key, inner, NOTE_SIZE, NOTE_LINE, mono=True))
        item = _Item(kind="stage", width=NODE_WIDTH, anchor=NODE_WIDTH / 2, key=key, text=name, note=note)
        stage_items[key] = item
        ranks[2 * layer_of[key]].append(item)

    chains: dict[tuple[str, str], list[_Item]] = {}
    loop_labels: dict[str, TextBox] = {}
    for pair, transition in transitions.items():
        label = transition.label_in(language)
        label_box = _text_box(label, LABEL_WIDTH, LABEL_SIZE, LABEL_LINE) if label else None
        if oriented[pair] is None:
            if label_box is not None:
                loop_labels[pair[0]] = label_box
            continue
        upper, lower = oriented[pair]
        reversed_ = upper != pair[0]
        top, bottom = 2 * layer_of[upper], 2 * layer_of[lower]
        label_rank = bottom - 1 if reversed_ else top + 1
        chain = [stage_items[upper]]
        for rank in range(top + 1, bottom):
            if rank == label_rank and label_box is not None:
                item = _Item(kind="label", width=LABEL_INSET + label_box.width, anchor=0.0, text=label_box)
            else:
                item = _Item(kind="pass", width=PASS_WIDTH, anchor=PASS_WIDTH / 2)
            ranks[rank].append(item)
            chain.append(item)
        chain.append(stage_items[lower])
        for above, below in zip(chain, chain[1:], strict=False):
            above.down.append(below)
            below.up.append(above)
        chains[pair] = chain
    for key, box in loop_labels.items():
        stage_items[key].width = NODE_WIDTH + LOOP_REACH + LABEL_INSET + box.width
    for key in keys:
        if (key, key) in transitions and key not in loop_labels:
            stage_items[key].width = NODE_WIDTH + LOOP_REACH + LABEL_INSET

    _order(ranks)
    _place(ranks)

    # Rows: a layer of stages is as tall as its tallest box, a layer of labels as its tallest label.
    heights = []
    for number, rank in enumerate(ranks):
        if number % 2 == 0:
            tallest = NODE_HEIGHT
            for item in (item for item in rank if item.kind == "stage"):
                text_height = item.text.height + item.note.height  # type: ignore[union-attr]
                tallest = max(tallest, 2 * NODE_PADDING_Y + text_height + 2)
                if item.key in loop_labels:
                    tallest = max(tallest, loop_labels[item.key].height + 2 * LABEL_PADDING_Y)
        else:
            tallest = max((item.text.height for item in rank if item.text is not None), default=0.0)
            tallest = max(tallest + 2 * LABEL_PADDING_Y, 14.0)
        heights.append(tallest)
    tops = []
    y = MARGIN
    for height in heights:
        tops.append(y)
        y += height + LAYER_GAP
    total_height = (y - LAYER_GAP + MARGIN) if ranks else 2 * MARGIN
    total_width = max((item.x + item.width for rank in ranks for item in rank), default=MARGIN) + MARGIN

    # Where routes leave the bottom of a box and reach the top of one: spread, in the order of the other end.
    ports: dict[tuple[int, int], float] = {}
    for item in stage_items.values():
        for side, sign in ((item.down, 1), (item.up, -1)):
            ordered = sorted(range(len(side)), key=lambda index, side=side: (side[index].line, index))
            for place, index in enumerate(ordered):
                ports[(id(item), sign * (index + 1))] = item.x + NODE_WIDTH * (place + 1) / (len(side) + 1)

    nodes = {}
    for number, rank in enumerate(ranks[::2]):
        for position, item in enumerate(item for item in rank if item.kind == "stage"):
            top, height = tops[2 * number], heights[2 * number]
            name, note = item.text, item.note
            block = name.height + note.height
            name_y = top + (height - block) / 2
            nodes[item.key] = NodeBox(
                key=item.key, layer=number, position=position, x=item.x, y=top, width=NODE_WIDTH, height=height,
                name=_moved(name, item.x + (NODE_WIDTH - name.width) / 2, name_y),
                note=_moved(note, item.x + (NODE_WIDTH - note.width) / 2, name_y + name.height),
            )
    rank_of = {id(item): number for number, rank in enumerate(ranks) for item in rank}

    edges = []
    for pair, transition in transitions.items():
        label = transition.label_in(language)
        mode = str(transition.mode)
        if oriented[pair] is None:
            box = nodes[pair[0]]
            right, first, second = box.x + box.width, box.y + box.height * 0.3, box.y + box.height * 0.7
            points: tuple[Point, ...] = ((right, first), (right + LOOP_REACH, first),
                                         (right + LOOP_REACH, second), (right, second))
            label_box = None
            if pair[0] in loop_labels:
                text = loop_labels[pair[0]]
                label_box = _moved(text, right + LOOP_REACH + LABEL_INSET, box.y + (box.height - text.height) / 2)
            edges.append(EdgePath(pair[0], pair[1], label, mode, False, True, points, label_box))
            continue
        chain = chains[pair]
        upper, lower = chain[0], chain[-1]
        out_index = next(index for index, item in enumerate(upper.down) if item is chain[1])
        in_index = next(index for index, item in enumerate(lower.up) if item is chain[-2])
        top_rank, bottom_rank = rank_of[id(upper)], rank_of[id(lower)]
        route: list[Point] = [(ports[(id(upper), out_index + 1)], tops[top_rank] + heights[top_rank])]
        label_box = None
        for item in chain[1:-1]:
            number = rank_of[id(item)]
            route.append((item.line, tops[number]))
            route.append((item.line, tops[number] + heights[number]))
            if item.kind == "label":
                label_box = _moved(item.text, item.x + LABEL_INSET, tops[number] + LABEL_PADDING_Y)
        route.append((ports[(id(lower), -(in_index + 1))], tops[bottom_rank]))
        reversed_ = upper.key != pair[0]
        edges.append(EdgePath(
            from_stage=pair[0], to_stage=pair[1], label=label, mode=mode, is_back_edge=reversed_,
            is_self_loop=False, points=tuple(reversed(route)) if reversed_ else tuple(route), label_box=label_box,
        ))
    layers = tuple(tuple(item.key for item in rank if item.kind == "stage") for rank in ranks[::2])
    return Layout(nodes=tuple(nodes[key] for key in keys), edges=tuple(edges), layers=layers,
                  width=round(total_width, 1), height=round(total_height, 1))


def _orient(
    definition: Definition, keys: tuple[str, ...], transitions: Mapping[tuple[str, str], Any]
) -> dict[tuple[str, str], tuple[str, str] | None]:
    """Give every route its direction down the picture (None for a stage's route to itself), with no cycle."""
    successors: dict[str, list[str]] = {key: [] for key in keys}
    for (source, target), transition in transitions.items():
        if source != target and not transition.is_return:
            successors[source].append(target)

    # Depth-first from the start, then from stages nothing leads to, then the rest:
    # an edge to a stage still on the stack closes a cycle and is turned round.
    start = definition.start_stage
    has_incoming = {target for targets in successors.values() for target in targets}
    roots = ([start.key] if start else []) + [key for key in keys if key not in has_incoming] + list(keys)
    state: dict[str, int] = {}
    dag = nx.DiGraph()
    dag.add_nodes_from(keys)
    oriented: dict[tuple[str, str], tuple[str, str] | None] = {}
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(successors[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                continue
            if child not in state:
                state[child] = 1
                stack.append((child, iter(successors[child])))
                direction = (node, child)
            elif state[child] == 1:
                direction = (child, node)  # back to a stage still on the stack: it closes a cycle
            else:
                direction = (node, child)
            oriented[(node, child)] = direction
            dag.add_edge(*direction)
    for (source, target), transition in transitions.items():
        if source == target:
            oriented[(source, target)] = None
        elif transition.is_return:
            # A return points back up the picture unless that would close a cycle.
            direction = (source, target) if nx.has_path(dag, source, target) else (target, source)
            oriented[(source, target)] = direction
            dag.add_edge(*direction)
    return oriented


def _crossings(ranks: list[list[_Item]]) -> int:
    position = {id(item): index for rank in ranks for index, item in enumerate(rank)}
    total = 0
    for rank in ranks:
        links = [(position[id(item)], position[id(below)]) for item in rank for below in item.down]
        for index, (a1, b1) in enumerate(links):
            for a2, b2 in links[index + 1:]:
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


def _order(ranks: list[list[_Item]]) -> None:
    """Reorder each layer by the mean position of its neighbours, sweeping down and up; keep the best order."""
    def sweep(numbers: range, downward: bool) -> None:
        for number in numbers:
            position = {id(item): index for index, item in enumerate(ranks[number + (-1 if downward else 1)])}

            def barycenter(pair: tuple[int, _Item], downward: bool = downward,
                           position: dict[int, int] = position) -> tuple[float, int]:
                index, item = pair
                near = item.up if downward else item.down
                if not near:
                    return float(index), index
                return sum(position[id(other)] for other in near) / len(near), index

            ranks[number][:] = [item for _, item in sorted(enumerate(ranks[number]), key=barycenter)]

    best = [list(rank) for rank in ranks]
    fewest = _crossings(ranks)
    for _ in range(_SWEEPS):
        sweep(range(1, len(ranks)), True)
        sweep(range(len(ranks) - 2, -1, -1), False)
        count = _crossings(ranks)
        if count < fewest:
            fewest, best = count, [list(rank) for rank in ranks]
    ranks[:] = best


def _place(ranks: list[list[_Item]]) -> None:
    """Give each item its x: in order and apart within its layer, as near the mean of its neighbours as can be."""
    for rank in ranks:
        x = 0.0
        for item in rank:
            item.x = x
            x += item.width + ITEM_GAP

    def pull(number: int, sides: str) -> None:
        rank = ranks[number]
        wanted = []
        for item in rank:
            near = (item.up if "u" in sides else []) + (item.down if "d" in sides else [])
            if near:
                wanted.append(sum(other.line for other in near) / len(near) - item.anchor)
            else:
                wanted.append(item.x)
        _fit(rank, wanted)

    for _ in range(_PULLS):
        for number in range(1, len(ranks)):
            pull(number, "u")
        for number in range(len(ranks) - 2, -1, -1):
            pull(number, "d")
    for number in range(len(ranks)):
        pull(number, "ud")
    for _ in range(2):
        _straighten(ranks, range(1, len(ranks)), "up")
        _straighten(ranks, range(len(ranks) - 2, -1, -1), "down")
    left = min((item.x for rank in ranks for item in rank), default=0.0)
    for rank in ranks:
        for item in rank:
            item.x = round(item.x - left + MARGIN, 1)


def _straighten(ranks: list[list[_Item]], numbers: range, side: str) -> None:
    """Line up a route passing through layers with its item above (or below), where the layer has room."""
    for number in numbers:
        rank = ranks[number]
        for index, item in enumerate(rank):
            near = getattr(item, side)
            if item.kind == "stage" or len(near) != 1 or near[0].kind == "stage":
                continue
            x = near[0].line - item.anchor
            low = rank[index - 1].x + rank[index - 1].width + ITEM_GAP if index else float("-inf")
            high = rank[index + 1].x - ITEM_GAP - item.width if index + 1 < len(rank) else float("inf")
            if low <= x <= high:
                item.x = x


def _fit(rank: list[_Item], wanted: list[float]) -> None:
    """Place a layer's items as near their wanted x as they can be, in order and ``ITEM_GAP`` apart."""
    offsets = []
    offset = 0.0
    for item in rank:
        offsets.append(offset)
        offset += item.width + ITEM_GAP
    blocks: list[list[float]] = []  # [sum, count] of runs that must move together
    for want, offset in zip(wanted, offsets, strict=True):
        blocks.append([want - offset, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    values = [total / count for total, count in blocks for _ in range(int(count))]
    for item, value, offset in zip(rank, values, offsets, strict=True):
        item.x = value + offset

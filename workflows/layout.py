"""A layered drawing of a workflow graph, left to right, for the designer's SVG.

Layers come from the topological generations of the graph once the edges that
close cycles are set aside (routes marked ``return: true`` first, then the
back edges of a depth-first search from the start), so a loop is drawn as a
path with one edge curving back. Within a layer stages start in definition
order and a few barycenter sweeps pull them towards their neighbours to cut
crossings. Everything is deterministic, and an invalid definition (unknown
stages, duplicates, cycles, no start) still gets a drawing.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from .format import load_definition
from .model import Definition

NODE_WIDTH = 180.0
NODE_HEIGHT = 56.0
LAYER_GAP = 80.0
ROW_GAP = 28.0
MARGIN = 24.0
#: Room below the stages for the lanes of back edges.
BACK_EDGE_LANE = 24.0
_SWEEPS = 4

Point = tuple[float, float]


@dataclass(frozen=True)
class NodeBox:
    """Where one stage is drawn: its layer (column), position in the layer (row) and box."""

    key: str
    layer: int
    position: int
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT

    @property
    def center(self) -> Point:
        """Return the middle of the box."""
        return self.x + self.width / 2, self.y + self.height / 2


@dataclass(frozen=True)
class EdgePath:
    """How one transition is drawn; ``points`` is a polyline from source to target."""

    from_stage: str
    to_stage: str
    label: str | None
    mode: str
    #: The edge points back to the same or an earlier layer (it closes a loop).
    is_back_edge: bool
    is_self_loop: bool
    points: tuple[Point, ...]


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


def layout(definition: Definition | Mapping[str, Any]) -> Layout:
    """Lay out a definition (or a document that loads) in layers; an unloadable document gives an empty layout."""
    if not isinstance(definition, Definition):
        definition, _ = load_definition(definition)
        if definition is None:
            return Layout(nodes=(), edges=(), layers=(), width=2 * MARGIN, height=2 * MARGIN)

    keys = definition.stage_keys
    order = {key: index for index, key in enumerate(keys)}
    transitions = {}
    for transition in definition.transitions:
        if transition.from_stage in order and transition.to_stage in order:
            transitions.setdefault(transition.pair, transition)

    layer_of = _layers(definition, keys, transitions)
    layers: list[list[str]] = [[] for _ in range(max(layer_of.values(), default=-1) + 1)]
    for key in keys:
        layers[layer_of[key]].append(key)
    forward = [pair for pair in transitions if layer_of[pair[0]] < layer_of[pair[1]]]
    _reduce_crossings(layers, forward)

    rows = max((len(layer) for layer in layers), default=0)
    row_step = NODE_HEIGHT + ROW_GAP
    boxes = {}
    for number, layer in enumerate(layers):
        offset = (rows - len(layer)) * row_step / 2
        for position, key in enumerate(layer):
            x = MARGIN + number * (NODE_WIDTH + LAYER_GAP)
            boxes[key] = NodeBox(key=key, layer=number, position=position, x=x, y=MARGIN + offset + position * row_step)

    bottom = MARGIN + rows * row_step - ROW_GAP if rows else MARGIN
    edges = tuple(_edge(transition, boxes, bottom) for transition in transitions.values())
    has_back = any(edge.is_back_edge for edge in edges)
    width = 2 * MARGIN + len(layers) * (NODE_WIDTH + LAYER_GAP) - (LAYER_GAP if layers else 0)
    height = bottom + MARGIN + (BACK_EDGE_LANE * 2 if has_back else 0)
    return Layout(
        nodes=tuple(boxes[key] for key in keys),
        edges=edges,
        layers=tuple(tuple(layer) for layer in layers),
        width=width,
        height=height,
    )


def _layers(
    definition: Definition, keys: tuple[str, ...], transitions: Mapping[tuple[str, str], Any]
) -> dict[str, int]:
    successors: dict[str, list[str]] = {key: [] for key in keys}
    for (source, target), transition in transitions.items():
        if source != target and not transition.is_return:
            successors[source].append(target)

    # Depth-first from the start, then from stages nothing leads to, then the rest:
    # an edge to a stage still on the stack closes a cycle and is set aside.
    start = definition.start_stage
    has_incoming = {target for targets in successors.values() for target in targets}
    roots = ([start.key] if start else []) + [key for key in keys if key not in has_incoming] + list(keys)
    state: dict[str, int] = {}
    dag = nx.DiGraph()
    dag.add_nodes_from(keys)
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
            elif child not in state:
                dag.add_edge(node, child)
                state[child] = 1
                stack.append((child, iter(successors[child])))
            elif state[child] == 2:
                dag.add_edge(node, child)
    return {key: number for number, generation in enumerate(nx.topological_generations(dag)) for key in generation}


def _reduce_crossings(layers: list[list[str]], forward: list[tuple[str, str]]) -> None:
    before: dict[str, list[str]] = {}
    after: dict[str, list[str]] = {}
    for source, target in forward:
        after.setdefault(source, []).append(target)
        before.setdefault(target, []).append(source)
    position = {key: index for layer in layers for index, key in enumerate(layer)}

    def sweep(sequence: range, neighbours: dict[str, list[str]]) -> None:
        for number in sequence:
            layer = layers[number]

            def barycenter(key: str) -> tuple[float, int]:
                near = neighbours.get(key)
                if not near:
                    return float(position[key]), position[key]
                return sum(position[other] for other in near) / len(near), position[key]

            layer.sort(key=barycenter)
            for index, key in enumerate(layer):
                position[key] = index

    for _ in range(_SWEEPS):
        sweep(range(1, len(layers)), before)
        sweep(range(len(layers) - 2, -1, -1), after)
    sweep(range(1, len(layers)), before)


def _edge(transition: Any, boxes: Mapping[str, NodeBox], bottom: float) -> EdgePath:
    source, target = boxes[transition.from_stage], boxes[transition.to_stage]
    is_self_loop = source.key == target.key
    is_back = not is_self_loop and target.layer <= source.layer
    if is_self_loop:
        right, top = source.x + source.width, source.y
        points: tuple[Point, ...] = (
            (right - 24, top),
            (right - 24, top - 14),
            (right + 14, top - 14),
            (right + 14, top + 24),
            (right, top + 24),
        )
    elif is_back:
        lane = bottom + BACK_EDGE_LANE
        start = (source.center[0], source.y + source.height)
        end = (target.center[0], target.y + target.height)
        points = (start, (start[0], lane), (end[0], lane), end)
    else:
        points = ((source.x + source.width, source.center[1]), (target.x, target.center[1]))
    return EdgePath(
        from_stage=source.key,
        to_stage=target.key,
        label=transition.label,
        mode=str(transition.mode),
        is_back_edge=is_back,
        is_self_loop=is_self_loop,
        points=points,
    )

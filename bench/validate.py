"""How long validating a workflow takes as it grows: 200, 2,000 and 20,000 stages, beside its NetworkX floor.

Run with ``python bench/validate.py [--repeat N] [--wall] [--no-layout]``. Each size gets a
generated workflow with a backbone from start to terminal, forward branches,
parallel routes and loops back (half of them marked ``return: true``), every
stage with deadlines and reminders. It prints the median time of ``validate``
on the parsed document (what the API does: load the document, through the fast
path for a well-formed one or the marshmallow schema otherwise, then every
check), with its cost per stage (steady = linear growth); beside it the floor,
a bare NetworkX pass over the same graph facts (the stage keys and the
transitions between them, given as plain lists): building the DiGraph and the
NetworkX calls ``validate`` makes on it (strongly connected components,
descendants of the start, ancestors of the terminals, the strongly connected
components again without the routes back), and the ratio of the two. Then ``validate`` on an
already loaded Definition and ``layout``.

Each timed run starts after ``gc.collect()``, so that the collector's work on
the previous run's garbage does not land in the next one. The collector stays
on during the run, as in the service; the pair is then timed again with it off
during each run, which leaves out its work on what the run allocates (the
loaded Definition is some 12,000 objects at 2,000 stages, the floor's graph
some 4,000, and a full collection walks the whole heap). Runs of ``validate``
and of the floor alternate. Times are the process's CPU time (``time.process_time``) unless
``--wall``: other work on a shared machine then does not count.
Targets: the ratio at most 2 at 2,000 and 20,000 stages; a steady cost per stage.
"""

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows import AGENCY_TYPES, layout, load_definition, validate

SIZES = (200, 2_000, 20_000)


def generate(size: int, seed: int = 7) -> dict[str, Any]:
    """Return a valid-ish workflow document of ``size`` stages."""
    rng = random.Random(seed)
    stages = []
    for index in range(size):
        stage: dict[str, Any] = {
            "key": f"stage-{index}",
            "name": f"Stage {index}",
            "agency_type": rng.choice(AGENCY_TYPES),
            "respond_within": {"high": "PT24H", "medium": "P3D", "low": "5 working days"},
            "complete_within": rng.choice(["P14D", {"high": "P7D", "medium": "10 working days"}]),
            "reminders": ["PT4H"],
        }
        if index == 0:
            stage["start"] = True
            del stage["respond_within"]
        if index == size - 1:
            stage["terminal"] = True
        if index % 10 == 0:
            stage["review_every"] = "P14D"
        stages.append(stage)

    transitions = []
    for index in range(size - 1):
        transitions.append({"from": f"stage-{index}", "to": f"stage-{index + 1}", "label": "Next"})
        if rng.random() < 0.5:
            target = min(size - 1, index + rng.randint(2, 12))
            transitions.append({"from": f"stage-{index}", "to": f"stage-{target}", "mode": "parallel"})
        if index >= 5 and rng.random() < 0.1:
            back = {"from": f"stage-{index}", "to": f"stage-{index - rng.randint(1, 5)}", "label": "Back"}
            if rng.random() < 0.5:
                back["return"] = True
            transitions.append(back)
    unique = {(item["from"], item["to"]): item for item in transitions}
    return {
        "key": f"bench-{size}",
        "name": f"Bench {size}",
        "calendar": "KZ",
        "stages": stages,
        "transitions": list(unique.values()),
    }


def graph_facts(document: dict[str, Any]) -> dict[str, Any]:
    """Return what the floor starts from: stage keys, edges, start, terminals and routes back, as plain lists."""
    keys = [stage["key"] for stage in document["stages"]]
    known = set(keys)
    edges = [
        (item["from"], item["to"])
        for item in document["transitions"]
        if item["from"] != item["to"] and item["from"] in known and item["to"] in known
    ]
    return {
        "nodes": keys,
        "edges": edges,
        "starts": [stage["key"] for stage in document["stages"] if stage.get("start")],
        "terminals": [stage["key"] for stage in document["stages"] if stage.get("terminal")],
        "returns": [(item["from"], item["to"]) for item in document["transitions"] if item.get("return")],
    }


def floor(facts: dict[str, Any]) -> Any:
    """Run the NetworkX calls ``validate`` makes on the graph, and nothing else."""
    graph = nx.DiGraph()
    graph.add_nodes_from(facts["nodes"])
    graph.add_edges_from(facts["edges"])
    components = [members for members in nx.strongly_connected_components(graph) if len(members) > 1]
    reached = set()
    for start in facts["starts"]:
        reached.update(nx.descendants(graph, start))
    graph.add_edges_from((key, "terminus") for key in facts["terminals"])
    reaches_terminal = nx.ancestors(graph, "terminus")
    graph.remove_node("terminus")
    graph.remove_edges_from(facts["returns"])
    loops = [members for members in nx.strongly_connected_components(graph) if len(members) > 1]
    return components, reached, reaches_terminal, loops


def medians(actions: list[Callable[[], Any]], repeat: int, clock: Callable[[], float], collector: bool) -> list[float]:
    """Return the median time of each action over ``repeat`` rounds, after one warm-up; the actions alternate.

    Each run starts after ``gc.collect()``; the collector stays on during it, or is off if not ``collector``.
    """
    for action in actions:
        action()
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(repeat):
        for action, spent in zip(actions, times, strict=True):
            gc.collect()
            if not collector:
                gc.disable()
            try:
                started = clock()
                action()
                spent.append(clock() - started)
            finally:
                gc.enable()
    return [statistics.median(spent) for spent in times]


def main() -> None:
    """Print the median timings per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--wall", action="store_true", help="time wall-clock time instead of CPU time")
    parser.add_argument("--no-layout", action="store_true",
                        help="leave out the timing of layout (some 40 s a run at 20,000 stages)")
    options = parser.parse_args()
    clock = time.perf_counter if options.wall else time.process_time

    header = (
        f"{'stages':>7} {'transitions':>11} {'problems':>8} | {'validate(document)':>19} {'floor':>9} {'ratio':>5}"
        f" | {'no gc: validate':>15} {'floor':>9} {'ratio':>5} | {'definition':>10} {'layout':>10}"
    )
    print(header)
    print("-" * len(header))
    for size in SIZES:
        document = generate(size)
        definition, problems = load_definition(document)
        assert definition is not None, problems
        problems = validate(document)
        assert problems == validate(definition)
        facts = graph_facts(document)
        pair = [partial(validate, document), partial(floor, facts)]
        ours, bare = medians(pair, options.repeat, clock, collector=True)
        ours_off, bare_off = medians(pair, options.repeat, clock, collector=False)
        if options.no_layout:
            loaded, laid_out = medians([partial(validate, definition)], options.repeat, clock, collector=True)[0], None
        else:
            loaded, laid_out = medians([partial(validate, definition), partial(layout, definition)],
                                       options.repeat, clock, collector=True)
        print(
            f"{size:>7} {len(document['transitions']):>11} {len(problems):>8} |"
            f" {ours * 1000:7.1f} ms {ours / size * 1e6:5.1f} µs {bare * 1000:6.1f} ms {ours / bare:5.2f}"
            f" | {ours_off * 1000:12.1f} ms {bare_off * 1000:6.1f} ms {ours_off / bare_off:5.2f}"
            f" | {loaded * 1000:7.1f} ms " + ("    —" if laid_out is None else f"{laid_out * 1000:7.1f} ms")
        )
    print(f"{'CPU' if clock is time.process_time else 'wall-clock'} time, median of {options.repeat} runs each.")
    print("validate(document): load and check a parsed document; µs: per stage (steady = linear growth);")
    print("floor: the same graph facts through NetworkX alone; ratio: validate / floor (target at most 2);")
    print("no gc: the same with the collector off during each run (its work on what a run allocates not counted);")
    print("definition: validate(Definition) of one already loaded; layout: layout(Definition).")


if __name__ == "__main__":
    main()

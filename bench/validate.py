"""How long validating a workflow takes as it grows: 200, 2,000 and 20,000 stages.

Run with ``python bench/validate.py [--repeat N]``. Each size gets a generated
workflow with a backbone from start to terminal, forward branches, parallel
routes and loops back (half of them marked ``return: true``), every stage with
deadlines and reminders. It prints the median time of ``validate`` on the
parsed document (what the API does: marshmallow load, then the checks), on the
loaded Definition alone, and of ``layout``, each with its cost per stage: a
steady cost per stage means linear growth. Target: 2,000 stages under 100 ms.
"""

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

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


def median_seconds(action: Callable[[], Any], repeat: int) -> float:
    """Return the median wall time of ``action`` over ``repeat`` runs, after one warm-up."""
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    """Print the median timings per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat

    header = f"{'stages':>7} {'transitions':>11} {'problems':>8} | {'document':>16} {'definition':>16} {'layout':>16}"
    print(header)
    print("-" * len(header))
    for size in SIZES:
        document = generate(size)
        definition, problems = load_definition(document)
        assert definition is not None, problems
        problems = validate(definition)
        timings = [
            median_seconds(partial(validate, document), repeat),
            median_seconds(partial(validate, definition), repeat),
            median_seconds(partial(layout, definition), repeat),
        ]
        cells = " ".join(f"{seconds * 1000:7.1f} ms {seconds / size * 1e6:4.1f}µs" for seconds in timings)
        print(f"{size:>7} {len(document['transitions']):>11} {len(problems):>8} | {cells}")
    print("document: validate(parsed document), with marshmallow load; definition: validate(Definition);")
    print("µs = median time per stage (steady = linear growth)")


if __name__ == "__main__":
    main()

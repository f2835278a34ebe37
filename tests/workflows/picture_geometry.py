"""Check a workflow picture's geometry: what may not overlap, and what must fit inside what.

Rectangles are ``(x0, y0, x1, y1)``; a route is checked by the rectangle each of its pieces spans (a curve
across a gap stays inside the rectangle of its end and control points), so the check is stricter than the
drawing needs.
"""

from collections.abc import Iterable

Rect = tuple[float, float, float, float]


def span(points: Iterable[tuple[float, float]]) -> Rect:
    """Return the rectangle a few points span."""
    xs, ys = zip(*points, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def overlap(a: Rect, b: Rect, room: float = 0.0) -> bool:
    """Tell whether two rectangles share more than their borders, ``a`` grown by ``room`` on every side."""
    return a[0] - room < b[2] and b[0] < a[2] + room and a[1] - room < b[3] and b[1] < a[3] + room


def problems(boxes: dict[str, Rect], labels: list[tuple[tuple[str, str], Rect]],
             pieces: list[tuple[tuple[str, str], Rect]], size: tuple[float, float]) -> list[str]:
    """Return every overlap of the picture in words; empty when labels, boxes and routes keep apart.

    ``boxes`` by stage key, ``labels`` and ``pieces`` (of routes) with the (from, to) of their route.
    """
    found = []
    for index, (route, label) in enumerate(labels):
        for other, second in labels[index + 1:]:
            if overlap(label, second, 1):
                found.append(f"label of {route} over label of {other}")
        for key, box in boxes.items():
            if overlap(label, box, 1):
                found.append(f"label of {route} over stage {key}")
        for other, piece in pieces:
            # Not even its own route's line: the label stands beside it.
            if overlap(label, piece, 1):
                found.append(f"label of {route} over the line of {other}")
    keys = list(boxes)
    for index, key in enumerate(keys):
        for other in keys[index + 1:]:
            if overlap(boxes[key], boxes[other], 1):
                found.append(f"stage {key} over stage {other}")
        for route, piece in pieces:
            # Touching a border is allowed: a route's ends touch its stages, and the rectangle of a curve
            # across a gap reaches the top or bottom of the next layer's boxes.
            if overlap(piece, boxes[key]):
                found.append(f"line of {route} through stage {key}")
    width, height = size
    for what, rect in [*((f"stage {key}", box) for key, box in boxes.items()),
                       *((f"label of {route}", label) for route, label in labels),
                       *((f"line of {route}", piece) for route, piece in pieces)]:
        if rect[0] < 0 or rect[1] < 0 or rect[2] > width or rect[3] > height:
            found.append(f"{what} outside the picture")
    return found

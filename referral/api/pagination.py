"""Pagination of API lists: ``page`` and ``per_page`` (at most 200)."""

import json

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..security import MAX_PAGE


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


def _page_and_size(args: dict) -> tuple[int, int]:
    """Return the page asked for and its size, at most the app's ``MAX_PER_PAGE``."""
    return args.get("page", 1), min(args.get("per_page", 50), current_app.config["MAX_PER_PAGE"])


def page_end(args: dict) -> int:
    """Return how many rows from the top of a list the page ``paginate`` reads reaches (page × per page)."""
    page, per_page = _page_and_size(args)
    return min(page, MAX_PAGE) * per_page


def paginate(statement: sa.Select, args: dict, count: sa.Select | None = None, *,
             rows: bool = False) -> tuple[list, dict]:
    """Run a select for one page; return its items and the X-Pagination header.

    ``count`` is a cheaper select of the total, when the caller has one. The items are the objects of the
    select's first column, or with ``rows`` its rows (a select of columns, loading no object).
    """
    page, per_page = _page_and_size(args)
    if count is None:
        count = sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
    total = db.session.scalar(count)
    if page > MAX_PAGE:
        items = []
    else:
        result = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page))
        items = list(result) if rows else list(result.scalars().unique())
    pages = (total + per_page - 1) // per_page
    meta = {"total": total, "total_pages": pages, "page": page, "per_page": per_page}
    return items, {"X-Pagination": json.dumps(meta)}

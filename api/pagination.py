"""Paginated lists: `page` (from 1) and `size` in, `{items, page, size, total, pages}` out."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fastapi import Query

from riskgraph.api.models import Out

MAX_SIZE = 200
DEFAULT_SIZE = 20


class Page[T](Out):
    items: list[T]
    page: int
    size: int
    total: int
    pages: int


@dataclass(frozen=True)
class PageParams:
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def wrap(self, items: list[Any], total: int) -> dict[str, Any]:
        return {"items": items, "page": self.page, "size": self.size, "total": total,
                "pages": math.ceil(total / self.size) if total else 0}

def page_params(
    page: int = Query(1, ge=1, le=1_000_000, description="page number, from 1"),
    size: int = Query(DEFAULT_SIZE, ge=1, le=MAX_SIZE, description=f"items per page (at most {MAX_SIZE})"),
) -> PageParams:
    return PageParams(page=page, size=size)

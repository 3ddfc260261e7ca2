"""One envelope for every list the API returns: ``Page[T]`` with offset paging.

``limit`` is 1–100 and ``offset`` 0–:data:`MAX_OFFSET`, checked once in :func:`page_params`,
so a huge ``?offset=9223372036854775808`` is a 422 here instead of an integer overflow
in the database driver (a 500).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Deep enough for any person's history at 100 a page, far below a 64-bit OFFSET.
MAX_OFFSET = 1_000_000


class Page(BaseModel, Generic[T]):
    """A page of a list, newest first unless the route says otherwise."""

    items: list[T]
    total: int = Field(description="How many items the whole list has.")
    limit: int = Field(description="The page size asked for (1-100).")
    offset: int = Field(description="How many items come before this page.")


@dataclass(frozen=True)
class PageParams:
    """Where a page starts and how long it is."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> PageParams:
    """``?limit=&offset=`` of a list route, bounded (422 outside 1-100 and 0-1,000,000)."""
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]

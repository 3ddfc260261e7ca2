"""HTTP routes of the users domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["users"])

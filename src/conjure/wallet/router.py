"""HTTP routes of the wallet domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["wallet"])

"""Serves the browser client (placeholder until the web client issue lands)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

"""Problem-response maps for OpenAPI, so each route lists its failures in one line.

Every error the API gives is RFC 9457 problem+json (:mod:`conjure.errors`); these maps
document that body under each status a route may answer with::

    @router.post("/thing", responses=problems(401, 402, 409, 422, describe={422: "Bad size"}))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from conjure.errors import PROBLEM_JSON


class Problem(BaseModel):
    """An RFC 9457 problem: ``code`` is stable, ``detail`` is for people."""

    type: str = Field(examples=["https://conjure.dev/problems/insufficient_stars"])
    title: str = Field(examples=["Payment Required"])
    status: int = Field(examples=[402])
    detail: str
    code: str = Field(examples=["insufficient_stars"])
    errors: list[dict[str, Any]] | None = Field(default=None, description="422: one entry per bad field.")


DESCRIPTIONS: dict[int, str] = {
    401: "Not signed in (`unauthorized`, `invalid_token`, `token_expired`)",
    402: "Not enough stars (`insufficient_stars`)",
    404: "No such resource, or not the caller's (`not_found`)",
    409: "Idempotency-Key reused with another request (`idempotency_key_reused`)",
    422: "Invalid input (`validation_error`, naming the field)",
    429: "Too many requests (`rate_limited`); see Retry-After",
    503: "Not ready or not configured (`not_ready`)",
}


def _problem_schema() -> dict[str, Any]:
    # Inline, so the body is documented under problem+json only (a response "model" would add
    # application/json); the fields every problem has are required, ``errors[]`` is spelled out.
    schema = Problem.model_json_schema()
    schema["required"] = ["type", "title", "status", "detail", "code"]
    schema["properties"]["errors"] = {
        "type": "array",
        "description": "422: one entry per bad field.",
        "items": {
            "type": "object",
            "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
        },
    }
    return schema


PROBLEM_SCHEMA: dict[str, Any] = _problem_schema()


def problems(*statuses: int, describe: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` map for these statuses, each a problem+json body (``describe`` overrides text)."""
    texts = {**DESCRIPTIONS, **(describe or {})}
    content = {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}
    return {status: {"description": texts.get(status, "Error"), "content": content} for status in statuses}


SUBMIT_PROBLEMS = problems(401, 402, 409, 422)

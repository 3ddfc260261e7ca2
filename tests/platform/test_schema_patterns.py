"""The patterns the OpenAPI document states accept only what the code then reads.

A value that matches the schema's pattern must not be refused by the code behind it (else
schemathesis' positive-data check, and any client generated from the schema, would meet a 422
the document does not explain). ``Cancel-After``'s 1 s - 24 h range is the one rule left to code.
"""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import parse_many
from pydantic import ValidationError

from conjure.apps.staging.schemas import ProjectCreate
from conjure.auth.schemas import RATE_LIMIT_PATTERN
from conjure.kit.submit import CANCEL_AFTER_PATTERN, MAX_CANCEL_AFTER, MIN_CANCEL_AFTER, parse_cancel_after
from conjure.wallet.schemas import ExchangeIn, GrantIn


@settings(max_examples=300, deadline=None)
@given(st.from_regex(RATE_LIMIT_PATTERN))
def test_every_rate_limit_the_schema_allows_parses(spec: str) -> None:
    assert parse_many(spec)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(CANCEL_AFTER_PATTERN))
def test_every_cancel_after_the_schema_allows_is_a_duration(value: str) -> None:
    # Refused only for its range, never for its form.
    assert _refusal(value) in (None, "must be between 1 second and 24 hours")


def _refusal(value: str) -> str | None:
    try:
        duration = parse_cancel_after(value)
    except ValueError as exc:
        return str(exc)
    assert MIN_CANCEL_AFTER <= duration <= MAX_CANCEL_AFTER
    return None


def test_the_patterns_refuse_what_the_code_refuses() -> None:
    for value in ("lots", "10/fortnight", "/minute", "10/MINUTE", "1/second;", ""):
        assert re.fullmatch(RATE_LIMIT_PATTERN, value) is None, value
    for value in ("5/second;100/hour", "10 per minute", "2/5 minutes"):
        assert re.fullmatch(RATE_LIMIT_PATTERN, value), value
    for value in ("", "soon", "5x", "1h-2m", "١٢"):
        assert re.fullmatch(CANCEL_AFTER_PATTERN, value) is None, value
    for value in ("90", "30s", "5M", "1h30m", "1h2m3s"):
        assert re.fullmatch(CANCEL_AFTER_PATTERN, value), value


def test_a_grant_states_its_rules_in_the_schema() -> None:
    amount = GrantIn.model_json_schema()["properties"]["amount"]
    assert amount["not"] == {"const": 0}
    valid = {"user_id": str(uuid.uuid4()), "currency": "star", "amount": 5, "reason": "prize"}
    assert GrantIn.model_validate(valid).amount == 5
    for bad in ({"amount": 0}, {"reason": " \t\x1c "}):
        with pytest.raises(ValidationError):
            GrantIn.model_validate(valid | bad)


def test_whole_numbers_take_json_integers_written_with_a_point() -> None:
    # JSON Schema's "integer" includes 1146.0 (schemathesis sends it); a string or a fraction is refused.
    assert ExchangeIn.model_validate({"stars": 1146.0}).stars == 1146
    for bad in ("5", 2.5, True):
        with pytest.raises(ValidationError):
            ExchangeIn.model_validate({"stars": bad})


def test_a_project_name_states_its_rules_in_the_schema() -> None:
    name = ProjectCreate.model_json_schema()["properties"]["name"]
    assert (name["minLength"], name["maxLength"]) == (1, 200)
    assert ProjectCreate.model_validate({"name": "  12   Elm  "}).name == "12 Elm"
    for bad in ("", " \x1c\t ", "x" * 201):
        with pytest.raises(ValidationError):
            ProjectCreate.model_validate({"name": bad})

"""Query parameter types that accept exactly what the OpenAPI document says they accept.

Pydantic reads a number as a Unix time for a datetime (``?to=0`` is 1970-01-01), but the
document says ``date-time``: a client (or a fuzzer) sending ``0`` would be accepted against the
contract. :data:`IsoDateTime` takes ISO 8601 date-time text only, and reads one without an
offset as UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")


def _iso_only(value: Any) -> Any:
    if isinstance(value, str) and not _ISO.match(value.strip()):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-11-29T10:00:00Z")
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    # Without an offset the time is read as UTC (the database columns refuse naive datetimes).
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_only), AfterValidator(_utc)]

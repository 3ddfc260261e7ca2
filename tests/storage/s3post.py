"""AWS's checks of browser-based uploads (presigned POST), which moto does not make, in front of moto.

Real S3 refuses a POST whose policy is expired, whose signature is wrong, whose form
fields break a policy condition (key, Content-Type, ...) or whose file is outside the
``content-length-range``; the staging app's upload tests must see those refusals.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.formparser import parse_form_data

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Fields AWS does not require the policy to name.
_UNCHECKED = {"policy", "x-amz-signature", "file"}


class PolicyRefused(Exception):
    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _signing_key(secret: str, date: str, region: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def check_post_policy(form: dict[str, str], bucket: str, size: int, secret: str) -> None:
    """Raise :class:`PolicyRefused` unless the form's policy is signed, current and met."""
    denied = "403 Forbidden"
    try:
        policy_b64, signature = form["policy"], form["x-amz-signature"]
        credential = form["x-amz-credential"].split("/")
        policy = json.loads(base64.b64decode(policy_b64))
    except (KeyError, ValueError) as exc:
        raise PolicyRefused(denied, "AccessDenied", f"Bad POST form: {exc}") from None
    key = _signing_key(secret, credential[1], credential[2])
    expected = hmac.new(key, policy_b64.encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature):
        raise PolicyRefused(denied, "SignatureDoesNotMatch", "The signature does not match")
    expires = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    if dt.datetime.now(dt.UTC) > expires:
        raise PolicyRefused(denied, "AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {**{k.lower(): v for k, v in form.items()}, "bucket": bucket}
    named: set[str] = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((field, value),) = condition.items()
            op, field = "eq", field.lower()
        elif condition[0] == "content-length-range":
            if not int(condition[1]) <= size <= int(condition[2]):
                raise PolicyRefused("400 Bad Request", "EntityTooLarge", "Size outside content-length-range")
            continue
        else:
            op, field, value = condition[0], condition[1].lstrip("$").lower(), condition[2]
        named.add(field)
        actual = values.get(field, "")
        if (op == "eq" and actual != value) or (op == "starts-with" and not actual.startswith(value)):
            raise PolicyRefused(denied, "AccessDenied", f"Invalid according to Policy: {field}")
    extra = {k for k in values if k not in named and k not in _UNCHECKED and not k.startswith("x-ignore-")}
    if extra - {"bucket"}:
        raise PolicyRefused(denied, "AccessDenied", f"Extra input fields: {sorted(extra)}")


class PresignedPostCheck:
    """Check a POST upload's policy (when the form carries one) before moto stores it."""

    def __init__(self, app: WSGIApp, secret: str) -> None:
        self.app, self.secret = app, secret

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        is_form = environ.get("CONTENT_TYPE", "").startswith("multipart/form-data")
        if environ["REQUEST_METHOD"] != "POST" or not is_form:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        probe = {**environ, "wsgi.input": io.BytesIO(body)}
        _, form, files = parse_form_data(probe)
        upload = files.get("file")
        size = len(upload.read()) if upload is not None else 0
        for part in files.values():
            part.close()  # werkzeug spools large parts to temporary files
        if "policy" in form:
            bucket = environ["PATH_INFO"].strip("/").split("/")[0]
            try:
                check_post_policy(dict(form.items()), bucket, size, self.secret)
            except PolicyRefused as refused:
                error = f"<Code>{refused.code}</Code><Message>{refused.message}</Message>"
                xml = f"<?xml version='1.0'?><Error>{error}</Error>"
                start_response(refused.status, [("Content-Type", "application/xml")])
                return [xml.encode()]
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

"""A local S3-compatible server for the tests: moto's ThreadedMotoServer plus AWS's presigned-URL checks.

moto serves S3 faithfully but does not check query-string (presigned) signatures or
their expiry. Real S3 refuses an expired or tampered presigned URL with 403, and
that is what the storage tests must see, so a small WSGI layer in front of moto
checks the SigV4 query signature (recomputed with botocore) and ``X-Amz-Expires``.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import make_server

from tests.servers import free_port
from tests.storage.s3post import PresignedPostCheck

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _denied(start_response: Callable[..., Any], code: str, message: str) -> list[bytes]:
    body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    start_response("403 Forbidden", [("Content-Type", "application/xml")])
    return [body.encode()]


class PresignedUrlCheck:
    """Refuse presigned requests whose signature is wrong or whose time is up, as AWS does."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        params = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        query = dict(params)
        if "X-Amz-Signature" not in query:
            return self.app(environ, start_response)
        signed_at = dt.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        if dt.datetime.now(dt.UTC) > signed_at + dt.timedelta(seconds=int(query["X-Amz-Expires"])):
            return _denied(start_response, "AccessDenied", "Request has expired")
        if not hmac.compare_digest(self._signature(environ, params, query), query["X-Amz-Signature"]):
            return _denied(start_response, "SignatureDoesNotMatch", "The signature does not match")
        return self.app(environ, start_response)

    @staticmethod
    def _signature(environ: dict[str, Any], params: list[tuple[str, str]], query: dict[str, str]) -> str:
        signed = query["X-Amz-SignedHeaders"].split(";")
        headers = {}
        for name in signed:
            key = "HTTP_HOST" if name == "host" else name.upper().replace("-", "_")
            key = key if key in environ else f"HTTP_{key}"
            headers[name] = environ.get(key, "")
        path = environ.get("RAW_URI", environ["PATH_INFO"]).split("?", 1)[0]
        unsigned = urlencode([(k, v) for k, v in params if k != "X-Amz-Signature"])
        request = AWSRequest(
            method=environ["REQUEST_METHOD"], url=f"http://{headers['host']}{path}?{unsigned}"
        )
        for name, value in headers.items():
            request.headers[name] = value
        request.context["timestamp"] = query["X-Amz-Date"]
        region = query["X-Amz-Credential"].split("/")[2]
        auth = S3SigV4QueryAuth(
            Credentials(ACCESS_KEY, SECRET_KEY), "s3", region, expires=int(query["X-Amz-Expires"])
        )
        canonical = auth.canonical_request(request)
        signature: str = auth.signature(auth.string_to_sign(request, canonical), request)
        return signature


class CheckedMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose app sits behind :class:`PresignedUrlCheck` and POST-policy checks."""

    def _server_entry(self) -> None:
        moto = DomainDispatcherApplication(create_backend_app)
        app = PresignedUrlCheck(PresignedPostCheck(moto, SECRET_KEY))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def start_s3_server() -> tuple[CheckedMotoServer, str]:
    """Start the server on a free loopback port; return it and its endpoint URL."""
    port = free_port()
    server = CheckedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"

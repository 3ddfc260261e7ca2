"""The contract every route keeps: problems in OpenAPI, 405 with Allow, 401 before the body, 415."""

from __future__ import annotations

import httpx
import pytest

from conjure.auth.schemas import RATE_LIMIT_PATTERN
from conjure.errors import PROBLEM_JSON
from conjure.kit.submit import CANCEL_AFTER_PATTERN
from conjure.runtime import Runtime
from tests.factories import auth_headers, make_user

AUTH_ROUTE, ADMIN_ROUTE = ("post", "/api/v1/tarot/read"), ("get", "/api/v1/admin/payments")


# Lists that are not stored rows but the deployment's own short catalogues, answered whole.
BARE_LISTS = {
    "/api/v1/payment/packages",
    "/api/v1/billing/plans",
    "/api/v1/admin/kinds",
}


async def test_every_list_of_stored_rows_is_a_page(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    bare = set()
    for path, operations in spec["paths"].items():
        ok = operations.get("get", {}).get("responses", {}).get("200", {})
        if ok.get("content", {}).get("application/json", {}).get("schema", {}).get("type") == "array":
            bare.add(path)
    assert bare == BARE_LISTS
    for path, page in (("/api/v1/auth/api-keys", "ApiKeyOut"), ("/api/v1/admin/jobs/dlq", "AdminJobView")):
        body = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert body["schema"]["$ref"].endswith(f"Page_{page}_"), path


async def test_openapi_documents_the_problem_body_on_every_failure(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    failures = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    failures += 1
                    assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)
                    schema = response["content"][PROBLEM_JSON]["schema"]
                    assert {"type", "title", "status", "detail", "code"} <= set(schema["required"])
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in operation["responses"], (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(operation["responses"]), (method, path)
    assert failures > 100
    read = spec["paths"]["/api/v1/tarot/read"]["post"]["responses"]
    assert read["422"]["content"][PROBLEM_JSON]["schema"]["properties"]["errors"]["items"]["required"] == [
        "field",
        "message",
    ]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        (*AUTH_ROUTE, {"401", "429"}),
        ("get", "/api/v1/user/wallet", {"401", "429"}),
        (*ADMIN_ROUTE, {"401", "403", "429"}),
        ("post", "/api/v1/auth/login", {"429"}),
        # Its Idempotency-Key can be reused with another package: 409, derived from the header.
        ("post", "/api/v1/payment/create-intent", {"401", "409", "429", "503"}),
        ("get", "/api/v1/reading/{job_id}", {"401", "404"}),
    ],
)
async def test_each_operation_documents_what_its_dependencies_can_answer(
    client: httpx.AsyncClient, method: str, path: str, expected: set[str]
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert expected <= set(spec["paths"][path][method]["responses"])


async def test_public_routes_document_no_401(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "401" not in spec["paths"]["/api/v1/payment/packages"]["get"]["responses"]
    assert "403" not in spec["paths"][AUTH_ROUTE[1]][AUTH_ROUTE[0]]["responses"]
    assert "409" not in spec["paths"]["/api/v1/user/wallet"]["get"]["responses"]


async def test_text_limits_are_in_the_schema(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    question = schemas["ReadRequest"]["properties"]["question"]
    assert (question["minLength"], question["maxLength"]) == (8, 180)
    prompt = schemas["GenerationRequest"]["properties"]["prompt"]
    assert (prompt["minLength"], prompt["maxLength"]) == (3, 1000)


async def test_syntax_rules_are_patterns_in_the_schema(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    rate_limit = spec["components"]["schemas"]["ApiKeyIn"]["properties"]["rate_limit"]["anyOf"][0]
    assert rate_limit["pattern"] == RATE_LIMIT_PATTERN
    parameters = spec["paths"][AUTH_ROUTE[1]][AUTH_ROUTE[0]]["parameters"]
    (cancel_after,) = (p for p in parameters if p["name"] == "Cancel-After")
    assert cancel_after["schema"]["anyOf"][0]["pattern"] == CANCEL_AFTER_PATTERN
    assert "outside 1 s - 24 h answers 422" in cancel_after["description"]


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/projects/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE"}


async def test_bad_body_without_a_token_is_401_before_the_body_is_read(client: httpx.AsyncClient) -> None:
    method, path = AUTH_ROUTE
    for headers in ({}, {"authorization": "Basic abc"}, {"authorization": "Bearer  "}):
        response = await client.request(
            method, path, content=b'{"question": ', headers={"content-type": "application/json", **headers}
        )
        assert response.status_code == 401, headers
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_bad_body_with_a_bad_token_is_401_and_with_a_good_one_400(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    method, path = AUTH_ROUTE
    broken = {"content": b'{"question": ', "headers": {"content-type": "application/json"}}
    wrong = await client.request(
        method, path, **broken | {"headers": broken["headers"] | _bearer("not-a-token")}
    )
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_token"
    assert wrong.headers["x-content-type-options"] == "nosniff"
    user = await make_user(runtime)
    right = await client.request(
        method, path, **broken | {"headers": broken["headers"] | auth_headers(runtime, user)}
    )
    assert right.status_code == 400
    assert right.json()["code"] == "malformed_json"
    # A public route with a body never looks at the token.
    public = await client.post("/api/v1/auth/login", **broken | {"headers": broken["headers"] | _bearer("x")})
    assert public.status_code == 400


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_non_json_body_to_a_json_route_is_415(client: httpx.AsyncClient) -> None:
    public = await client.post(
        "/api/v1/auth/login", content=b"email=a", headers={"content-type": "text/plain"}
    )
    assert public.status_code == 415
    assert public.headers["content-type"] == PROBLEM_JSON
    assert public.json()["code"] == "unsupported_media_type"
    signed_in = await client.post(
        AUTH_ROUTE[1], content=b"hello", headers={"content-type": "text/plain", "authorization": "Bearer x"}
    )
    assert signed_in.status_code == 415
    charset = await client.post(
        "/api/v1/auth/login",
        content=b'{"email": "a@b.c", "password": "x"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert charset.status_code != 415

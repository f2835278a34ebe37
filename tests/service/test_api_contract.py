"""Every endpoint of DESIGN.md section 7 is in the OpenAPI document, with its methods, behind a bearer token."""

import pytest

CONTRACT = {
    "/api/v1/agencies": {"get", "post"},
    "/api/v1/agencies/{agency_id}": {"get", "patch"},
    "/api/v1/workflows/validate": {"post"},
    "/api/v1/workflows": {"get", "post"},
    "/api/v1/workflows/{key}": {"get"},
    "/api/v1/workflows/{key}/publish": {"post"},
    "/api/v1/workflows/{key}/versions/{number}": {"get"},
    "/api/v1/cases": {"get", "post"},
    "/api/v1/cases/{case_id}": {"get"},
    "/api/v1/cases/{case_id}/routes": {"get"},
    "/api/v1/cases/{case_id}/referrals": {"post"},
    "/api/v1/cases/{case_id}/timeline": {"get"},
    "/api/v1/referrals": {"get"},
    "/api/v1/referrals/{referral_id}": {"get"},
    "/api/v1/referrals/{referral_id}/{action}": {"post"},
    "/api/v1/deadlines": {"get"},
    "/api/v1/notifications": {"get"},
}


def test_the_openapi_document_has_every_contract_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path, methods in CONTRACT.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


@pytest.mark.parametrize("path", ["/api/v1/agencies", "/api/v1/workflows", "/api/v1/cases", "/api/v1/referrals",
                                  "/api/v1/deadlines", "/api/v1/notifications", "/api/v1/cases/1/timeline"])
def test_every_contract_endpoint_needs_a_bearer_token(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.json["code"] == 401 and response.json["status"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_lists_are_paginated_and_per_page_is_capped(client, make_user, token_for):
    headers = token_for(make_user())
    assert client.get("/api/v1/cases", query_string={"per_page": 201}, headers=headers).status_code == 422
    response = client.get("/api/v1/referrals", query_string={"per_page": 200, "page": 1}, headers=headers)
    assert response.status_code == 200 and "X-Pagination" in response.headers


@pytest.mark.parametrize("path", ["/api/v1/agencies", "/api/v1/workflows", "/api/v1/cases", "/api/v1/referrals",
                                  "/api/v1/deadlines", "/api/v1/notifications"])
def test_every_list_is_paginated_with_at_most_200_per_page(client, make_user, token_for, path):
    headers = token_for(make_user())
    assert client.get(path, query_string={"per_page": 201}, headers=headers).status_code == 422
    response = client.get(path, query_string={"per_page": 200}, headers=headers)
    assert response.status_code == 200 and "X-Pagination" in response.headers

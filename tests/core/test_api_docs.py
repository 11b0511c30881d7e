"""The API is documented by its OpenAPI schema, with docs served from bundled files (no CDN)."""

import pytest

from banso.core.choices import Role

pytestmark = pytest.mark.django_db


def test_openapi_schema_lists_the_import_and_account_operations(client_as):
    schema = client_as(Role.VIEWER).get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Banso API"
    assert {"/api/accounts/", "/api/imports/{entity}"} <= set(schema["paths"])
    schemes = schema["components"]["securitySchemes"]
    assert schemes["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["BrowserSessionAuth"]["in"] == "cookie"


def test_docs_need_a_signed_in_user_and_load_no_external_script(client, client_as):
    assert client.get("/api/docs").status_code == 302
    page = client_as(Role.VIEWER).get("/api/docs").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "cdn." not in page

"""The imports API: record batches all or nothing, file uploads as jobs, job status; role-checked."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from banso.accounts.models import Account
from banso.activity.models import ImportJob
from banso.core.choices import Role
from banso.core.models import ApiToken

from .helpers import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user_with_role):
    def make(role: Role) -> Client:
        _token, raw = ApiToken.issue(user_with_role(role), "test")
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


def test_batch_of_records_is_imported_and_counted(api):
    records = [{"external_id": "A1", "name": "伴走"}, {"external_id": "A2", "name": "二社目"}]
    response = api(Role.OPS_MANAGER).post(
        "/api/imports/accounts", {"source": "crm", "records": records}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    assert Account.objects.count() == 2
    again = api(Role.OPS_MANAGER).post(
        "/api/imports/accounts", {"source": "crm", "records": records}, content_type="application/json"
    )
    assert again.json()["unchanged"] == 2


def test_batch_with_a_bad_record_is_refused_with_422_and_writes_nothing(api):
    records = [{"external_id": "A1", "name": "伴走"}, {"external_id": "A2", "name": "", "kind": "alien"}]
    response = api(Role.ADMIN).post(
        "/api/imports/accounts", {"source": "crm", "records": records}, content_type="application/json"
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "name"), (2, "kind")]
    assert not Account.objects.exists()
    assert ImportJob.objects.get().status == "failed"


def test_file_upload_returns_the_job_and_job_can_be_read(api):
    client = api(Role.OPS_MANAGER)
    upload = SimpleUploadedFile("a.csv", csv_bytes("external_id,name", "A1,伴走", encoding="cp932"))
    response = client.post("/api/imports/accounts/file", {"source": "crm", "file": upload})
    assert response.status_code == 200, response.content
    job = response.json()
    assert (job["status"], job["created"], job["percent"]) == ("succeeded", 1, 100)
    assert client.get(f"/api/imports/{job['id']}").json()["id"] == job["id"]
    assert [j["id"] for j in client.get("/api/imports/").json()] == [job["id"]]


def test_unknown_entity_is_404(api):
    response = api(Role.ADMIN).post(
        "/api/imports/planets", {"source": "crm", "records": []}, content_type="application/json"
    )
    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.CSM, Role.VIEWER, Role.MERCHANT_USER])
def test_roles_without_import_right_are_refused(api, role):
    assert api(role).get("/api/imports/").status_code == 403
    response = api(role).post(
        "/api/imports/accounts", {"source": "crm", "records": []}, content_type="application/json"
    )
    assert response.status_code == 403


def test_anonymous_is_refused():
    assert Client().get("/api/imports/").status_code == 401

"""The data subject's right of access: an operator exports everything held about a resident
(JSON), the export is audited, and the roles that do no casework cannot."""

from __future__ import annotations

from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import bearer_headers
from tests.app.intake_support import post_request
from tests.intake.intake_fixtures import area, form
from visits.models import AuditLog, Resident


def test_an_operator_exports_everything_held_about_a_resident(client, session) -> None:
    area(session)
    session.commit()
    answer = post_request(client, form(street="Jl. Ekspor 9"))
    assert answer.status_code == 201
    with session_scope() as s:
        resident = s.exec(select(Resident)).one()
    operator = bearer_headers("operator")
    r = client.get(f"/api/v1/residents/{resident.id}/export", headers=operator)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"] and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["resident"]["nik"] == resident.nik and body["resident"]["street"] == "Jl. Ekspor 9"
    [request] = body["requests"]
    assert request["reference"] == answer.json()["reference"] and request["kk_document"]["content_type"]
    assert request["messages"] and "tracking_token_hash" not in request and "storage_name" not in request["kk_document"]
    with session_scope() as s:
        exports = s.exec(select(AuditLog).where(AuditLog.action == "export", AuditLog.resident_id == resident.id)).all()
    assert len(exports) == 1
    again = client.get(f"/api/v1/residents/{resident.id}/export", headers=operator).json()
    assert [a["action"] for a in again["access_log"]] == ["export"]  # who accessed the data is part of it
    assert client.get(f"/api/v1/residents/{resident.id}/export", headers=bearer_headers("head")).status_code == 403
    assert client.get(f"/api/v1/residents/{resident.id}/export", headers=bearer_headers("officer")).status_code == 403
    assert client.get("/api/v1/residents/999999/export", headers=operator).status_code == 404

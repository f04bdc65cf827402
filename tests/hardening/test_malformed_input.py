"""Finding 10: malformed input is a 4xx, never a 500: deeply nested ``availability``, ids too big
for any table, odd digits; and 422 bodies match the error schema the OpenAPI declares."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from tests.app.helpers import bearer_headers, login_as
from tests.app.intake_support import post_request
from tests.intake.intake_fixtures import area, form

HUGE = "99999999999999999999999"
DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def api(client, session):
    area(session)
    session.commit()
    return client


def test_availability_nested_1000_deep_is_422(api) -> None:
    r = post_request(api, form(availability=DEEP))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "availability"
    r = api.post("/api/v1/track/some-token/offers", content='{"availability": ' + DEEP + "}", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    nested = '{"availability": [' + '{"weekday": ' * 500 + "0" + "}" * 500 + "]}"
    r = api.post("/api/v1/track/some-token/offers", content=nested, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text


def _id_routes(app) -> list[tuple[str, str]]:
    out = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and re.search(r"\{\w+_id\}", route.path or ""):
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                out.append((method, route.path))
    return out


def test_ids_too_big_for_any_table_are_4xx_on_every_route(api, app) -> None:
    routes = _id_routes(app)
    assert len(routes) >= 8
    admin = bearer_headers("admin")
    officer = bearer_headers("officer")  # the field routes refuse an admin before they look at the id
    for method, path in routes:
        url = re.sub(r"\{\w+_id\}", HUGE, path)
        for headers in (admin, officer):
            r = api.request(method, url, headers=headers)
            assert 400 <= r.status_code < 500, (method, url, r.status_code)
    staff = login_as(api, "admin")
    r = api.post("/admin/users", data={"username": "baru", "role": "operator", "password": "kata-sandi-panjang", "team_id": HUGE, "csrf_token": staff.csrf_token})
    assert 400 <= r.status_code < 500, r.status_code
    api.cookies.clear()
    r = api.get("/operator/requests", params={"kelurahan": HUGE + "²"}, headers=admin)
    assert r.status_code == 200


def _validate(instance, schema: dict, spec: dict, where: str = "$") -> None:
    """A small JSON-schema check (the subset FastAPI emits: $ref, type, properties, required, items, anyOf)."""
    if "$ref" in schema:
        target = spec
        for part in schema["$ref"].split("/")[1:]:
            target = target[part]
        return _validate(instance, target, spec, where)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                return _validate(instance, option, spec, where)
            except AssertionError as exc:
                errors.append(exc)
        raise AssertionError(f"{where}: matches no anyOf option: {errors}")
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool, "null": type(None)}
    if kind in types:
        assert isinstance(instance, types[kind]), f"{where}: {instance!r} is not {kind}"
    if kind == "object":
        for name in schema.get("required", []):
            assert name in instance, f"{where}: {name} missing"
        for name, sub in schema.get("properties", {}).items():
            if name in instance:
                _validate(instance[name], sub, spec, f"{where}.{name}")
    if kind == "array":
        for i, item in enumerate(instance):
            _validate(item, schema.get("items", {}), spec, f"{where}[{i}]")


def test_a_body_that_cannot_be_parsed_is_a_422_naming_the_body(api) -> None:
    """FastAPI answers 400 for a body it cannot decode; here it is bad input like any other."""
    token = post_request(api, form()).json()["tracking_token"]
    r = api.post(f"/api/v1/track/{token}/offers", content=b"\x05\xff\xfe{", headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "body"


def test_422_bodies_match_the_declared_error_schema(api) -> None:
    spec = api.get("/openapi.json").json()
    token = post_request(api, form()).json()["tracking_token"]  # a known token: unknown ones are 404 before the body is read
    cases = [
        ("post", "/api/v1/track/{token}/confirm", api.post(f"/api/v1/track/{token}/confirm", json={"offer_id": 5})),
        ("post", "/api/v1/requests", post_request(api, form(nik="12"))),
        ("get", "/api/v1/residents/{resident_id}", api.get(f"/api/v1/residents/{HUGE}", headers=bearer_headers("operator"))),
    ]
    for method, path, r in cases:
        assert r.status_code == 422, (path, r.status_code, r.text)
        declared = spec["paths"][path][method]["responses"]["422"]["content"]["application/json"]["schema"]
        _validate(r.json(), declared, spec)


def test_a_boolean_is_no_coordinate(api) -> None:
    """Found by Schemathesis: ``"lat": false`` was read as 0.0 (a point in the Gulf of Guinea)."""
    officer = bearer_headers("officer")
    for path, body in (("/api/v1/field/late", {"minutes": 10, "lat": False, "lon": False}), ("/api/v1/field/visits/1/on-our-way", {"lat": True, "lon": 112.4})):
        r = api.post(path, json=body, headers=officer)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert {e["field"] for e in r.json()["detail"]} & {"lat", "lon"}
    assert api.post("/api/v1/field/late", json={"minutes": 10, "lat": -7, "lon": 112}, headers=officer).status_code != 422  # a whole-number coordinate still is one

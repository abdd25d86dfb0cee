"""The served OpenAPI document matches the server (schemathesis against waitress on loopback)."""

from __future__ import annotations

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.openapi import build_document

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
schema = schemathesis.openapi.from_dict(build_document())


def test_document_served(live_server):
    response = requests.get(f"{live_server}/v1/openapi.json", timeout=5)
    assert response.status_code == 200 and response.json() == build_document()
    assert set(response.json()["paths"]) == {"/v1/health", "/v1/model", "/v1/classify", "/v1/classify/batch",
                                             "/v1/explain", "/v1/openapi.json"}


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms(case, live_server):
    case.call_and_validate(base_url=live_server, checks=CHECKS, timeout=10)

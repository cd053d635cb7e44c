"""The gateway's one OpenAPI document (docs/openapi.json) is current, holds every operation,
webhook and component of the three services without a collision, and is what the gateway
serves at /openapi.json."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from crosslead_common.openapi_merge import (
    SERVICES,
    Collision,
    gateway_path,
    load_documents,
    main,
    merge,
    render,
)

ROOT = Path(__file__).parents[2]
COMMITTED = ROOT / "docs" / "openapi.json"


@cache
def documents() -> dict[str, dict[str, Any]]:
    return load_documents()


def test_the_committed_document_is_current() -> None:
    """Regenerate with ``python -m crosslead_common.openapi_merge`` after an API change."""
    assert COMMITTED.read_text() == render(merge(documents()))


def test_the_check_mode_tells_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    assert main(["--check", "--output", str(stale)]) == 1
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0
    assert json.loads(stale.read_text())["info"]["title"] == "Crosslead"


def test_every_operation_of_every_service_is_in_it_once_under_the_gateway_path() -> None:
    merged = json.loads(COMMITTED.read_text())
    for service, document in documents().items():
        for path, item in document["paths"].items():
            where = gateway_path(service, path)
            if where is None:
                assert path == "/metrics"
                continue
            assert merged["paths"][where] == item
    ids = [op["operationId"] for item in merged["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert {"/intake/healthz", "/router/readyz", "/payouts/asyncapi.json"} <= set(merged["paths"])
    assert "/metrics" not in merged["paths"]
    assert set(merged["webhooks"]) == set(documents()["router"]["webhooks"])
    for document in documents().values():
        for section, entries in document["components"].items():
            for name, value in entries.items():
                assert merged["components"][section][name] == value
    assert merged["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_a_name_two_services_define_differently_is_a_collision() -> None:
    docs = copy.deepcopy(documents())
    docs["router"]["components"]["schemas"]["Problem"]["title"] = "Another problem"
    with pytest.raises(Collision, match="Problem"):
        merge(docs)
    docs = copy.deepcopy(documents())
    docs["payouts"]["paths"]["/v1/leads"] = docs["intake"]["paths"]["/v1/leads"]
    with pytest.raises(Collision, match="/v1/leads"):
        merge(docs)
    docs = copy.deepcopy(documents())
    statements = docs["payouts"]["paths"]["/v1/statements"]["get"]
    statements["operationId"] = "submit_lead"
    with pytest.raises(Collision, match="submit_lead"):
        merge(docs)


def test_the_gateway_serves_the_merged_document() -> None:
    gateway = (ROOT / "deploy" / "nginx" / "default.conf").read_text()
    served = re.search(r"location = /openapi\.json \{[^}]*alias ([^;]+);", gateway)
    assert served is not None
    compose = (ROOT / "docker-compose.yml").read_text()
    assert f"./docs/openapi.json:{served.group(1)}:ro" in compose
    assert list(documents()) == list(SERVICES)

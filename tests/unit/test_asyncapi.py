"""The event catalogue: each service's AsyncAPI document is valid AsyncAPI 3.0 (checked with
the official JSON schema, vendored from @asyncapi/specs 6.11.1, Apache-2.0) and together they
cover every event model, each with its publisher and its consumers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from crosslead_common.asyncapi import markdown
from crosslead_common.events import EVENT_TYPES
from crosslead_intake.app import create_app as intake_app
from crosslead_intake.settings import IntakeSettings
from crosslead_payouts.app import create_app as payouts_app
from crosslead_payouts.settings import PayoutsSettings
from crosslead_router.app import create_app as router_app
from crosslead_router.settings import RouterSettings
from tests.support import ADMIN_TOKEN, CUSTOMER_DATA_KEY, CUSTOMER_HASH_KEY, SECRETS_KEY

EVENTS_MD = Path(__file__).parents[2] / "docs" / "EVENTS.md"
SCHEMA = json.loads((Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json").read_text())


async def documents(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Each service's /asyncapi.json (the lifespan is not started: no broker is needed)."""
    apps = {
        "intake": intake_app(
            IntakeSettings(
                admin_token=ADMIN_TOKEN,
                customer_hash_key=CUSTOMER_HASH_KEY,
                database_url=f"sqlite+aiosqlite:///{tmp_path}/i.db",
                customer_data_key=CUSTOMER_DATA_KEY,
            )
        ),
        "router": router_app(
            RouterSettings(
                admin_token=ADMIN_TOKEN,
                database_url=f"sqlite+aiosqlite:///{tmp_path}/r.db",
                customer_data_key=CUSTOMER_DATA_KEY,
                secrets_key=SECRETS_KEY,
            )
        ),
        "payouts": payouts_app(
            PayoutsSettings(
                admin_token=ADMIN_TOKEN, database_url=f"sqlite+aiosqlite:///{tmp_path}/p.db"
            )
        ),
    }
    found = {}
    for name, app in apps.items():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
            response = await http.get("/asyncapi.json")
        assert response.status_code == 200
        found[name] = response.json()
    return found


@pytest.fixture
async def docs(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return await documents(tmp_path)


def test_every_service_document_is_valid_asyncapi_3(docs: dict[str, dict[str, Any]]) -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    for name, doc in docs.items():
        assert doc["asyncapi"] == "3.0.0"
        errors = [f"{list(e.path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]
        assert errors == [], name


def test_the_validation_catches_a_broken_document(docs: dict[str, dict[str, Any]]) -> None:
    broken = {**docs["intake"], "channels": {"leads": {"address": 42}}}
    assert not jsonschema.Draft7Validator(SCHEMA).is_valid(broken)


def test_every_event_model_is_published_by_one_service_and_has_its_schema(
    docs: dict[str, dict[str, Any]],
) -> None:
    published: dict[str, str] = {}
    for name, doc in docs.items():
        for operation in doc["operations"].values():
            if operation["action"] == "send":
                for ref in operation["messages"]:
                    message = resolve(doc, ref["$ref"])
                    published[message["name"]] = name
                    data = message["payload"]["allOf"][1]["properties"]["data"]
                    model = EVENT_TYPES[message["name"]]
                    schema = resolve(doc, data["$ref"])
                    assert set(schema["properties"]) == set(model.model_fields)
                    assert (
                        resolve(doc, "#/channels/" + operation["channel"]["$ref"].split("/")[-1])[
                            "address"
                        ]
                        == model.topic
                    )
    assert published.keys() == EVENT_TYPES.keys()
    assert published["crosslead.lead.received.v2"] == "intake"
    assert published["crosslead.lead.routed.v1"] == "router"
    assert published["crosslead.commission.accrued.v1"] == "payouts"


def test_consumers_list_what_they_apply(docs: dict[str, dict[str, Any]]) -> None:
    def received(service: str) -> set[str]:
        doc = docs[service]
        return {
            resolve(doc, ref["$ref"])["name"]
            for op in doc["operations"].values()
            if op["action"] == "receive"
            for ref in op["messages"]
        }

    assert "crosslead.lead.received.v2" in received("router")
    assert "crosslead.conversion.reported.v1" in received("payouts")
    assert "crosslead.lead.routed.v1" in received("intake")
    assert "crosslead.lead.received.v2" not in received("intake")


def resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return resolve(doc, node["$ref"]) if "$ref" in node else dict(node)


def test_the_rendered_catalogue_in_the_docs_is_current(docs: dict[str, dict[str, Any]]) -> None:
    assert EVENTS_MD.read_text() == markdown(docs), (
        "docs/EVENTS.md is stale: run `.venv/bin/python -m tests.unit.test_asyncapi`"
    )


if __name__ == "__main__":
    import asyncio
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        EVENTS_MD.write_text(markdown(asyncio.run(documents(Path(tmp)))))

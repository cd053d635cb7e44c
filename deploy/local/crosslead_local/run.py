"""``make run``: the whole system on one machine, with nothing but this repository.

Starts the embedded Kafka-protocol broker on 127.0.0.1:9092, migrates the three databases
(SQLite in ``var/`` unless ``CROSSLEAD_<SERVICE>_DATABASE_URL`` says otherwise), starts intake,
router and payouts on 8001-8003 and the web console on 8004, prints the URLs and the admin
token, and stops everything on Ctrl-C (also a second Ctrl-C, a hang-up or SIGTERM, so the
broker is never left behind).
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from pathlib import Path

from crosslead_common.configuration import EXIT_BAD_SETTINGS
from crosslead_local.localstack import (
    CONSOLE_PORT,
    SERVICES,
    BadSettings,
    LocalStack,
    wait_for_port,
)

VAR = Path(__file__).resolve().parents[3] / "var"


def admin_token() -> str:
    """CROSSLEAD_ADMIN_TOKEN if set, else the one kept in var/ (made on the first run)."""
    if token := os.environ.get("CROSSLEAD_ADMIN_TOKEN"):
        return token
    stored = VAR / "admin-token"
    if not stored.exists():
        stored.write_text(secrets.token_urlsafe(24))
        stored.chmod(0o600)
    return stored.read_text().strip()


def database_urls() -> dict[str, str]:
    """The databases named by ``CROSSLEAD_<SERVICE>_DATABASE_URL``; the others are SQLite."""
    urls = {name: os.environ.get(f"CROSSLEAD_{name.upper()}_DATABASE_URL", "") for name in SERVICES}
    return {name: url for name, url in urls.items() if url}


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main() -> None:
    VAR.mkdir(exist_ok=True)
    try:
        wait_for_port("127.0.0.1", 9092, timeout=0.2)
        sys.exit("port 9092 is taken: is another `make run` (or Kafka) already running?")
    except TimeoutError:
        pass
    token = admin_token()
    # Also when started in the background, where SIGINT would otherwise be ignored.
    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, _interrupt)
    stack = LocalStack(
        var_dir=VAR,
        admin_token=token,
        database_urls=database_urls(),
        console_port=CONSOLE_PORT,
    )
    try:
        stack.start()
        print_banner(stack, token)
        while (stopped := stack.stopped_service()) is None:
            time.sleep(0.5)
        sys.exit(f"{stopped} stopped unexpectedly; see var/{stopped}.log")
    except BadSettings as exc:
        print(exc, file=sys.stderr)
        sys.exit(EXIT_BAD_SETTINGS)
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        # A second Ctrl-C while stopping must not skip stopping the broker.
        for stop_signal in _STOP_SIGNALS:
            signal.signal(stop_signal, signal.SIG_IGN)
        stack.stop()


def print_banner(stack: LocalStack, token: str) -> None:
    services = "\n".join(
        f"  {name:<8} {stack.url(name)}   docs: {stack.url(name)}/docs" for name in stack.ports
    )
    print(
        f"""
Crosslead is running.
{services}
  console  {stack.url("console")}/   (sign in with the admin token or a partner's API key)
  broker   {stack.broker.bootstrap_servers} (in memory; the outbox refills it after a restart)
  databases and logs: var/

  admin token: {token}
    export CROSSLEAD_ADMIN_TOKEN={token}

Try `make demo` in another terminal. Ctrl-C stops everything.
""",
        flush=True,
    )


if __name__ == "__main__":
    main()

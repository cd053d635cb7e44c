"""The console command every service ships: ``crosslead-<service> serve|migrate|revision|dlq``,
plus any maintenance tasks of the service's own (``crosslead-payouts reconcile``)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import MetaData

from crosslead_common.configuration import load_settings
from crosslead_common.dlq_cli import add_dlq_parser, run_dlq
from crosslead_common.migrations import make_revision, upgrade
from crosslead_common.observability.logs import configure_logging
from crosslead_common.settings import ServiceSettings

__all__ = ["ServiceCommand", "Task"]


@dataclass(frozen=True)
class Task:
    """A maintenance subcommand: runs against the service's database URL and returns the
    process exit code."""

    help: str
    run: Callable[[str], Coroutine[Any, Any, int]]


@dataclass(frozen=True)
class ServiceCommand:
    name: str
    app_factory: str  # "package.module:function" returning the FastAPI app
    settings: Callable[[], ServiceSettings]
    migrations: Path
    metadata: MetaData
    default_port: int
    tasks: Mapping[str, Task] = field(default_factory=dict)

    def main(self, argv: Sequence[str] | None = None) -> None:
        parser = argparse.ArgumentParser(prog=f"crosslead-{self.name}")
        sub = parser.add_subparsers(dest="command", required=True)
        serve = sub.add_parser("serve", help="run the HTTP API and the background workers")
        serve.add_argument("--host", default="127.0.0.1")
        serve.add_argument("--port", type=int, default=self.default_port)
        sub.add_parser("migrate", help="upgrade the database to the newest schema")
        revision = sub.add_parser("revision", help="autogenerate a migration (developers)")
        revision.add_argument("-m", "--message", required=True)
        add_dlq_parser(sub)
        for name, task in self.tasks.items():
            sub.add_parser(name, help=task.help, description=task.help)
        args = parser.parse_args(argv)
        # A bad setting stops every command here, with one line per variable and exit code 2.
        settings = load_settings(self.settings, program=f"crosslead-{self.name}")
        configure_logging(self.name, settings.log_format)

        if args.command == "serve":
            uvicorn.run(
                self.app_factory,
                factory=True,
                host=args.host,
                port=args.port,
                log_level="warning",
                log_config=None,  # uvicorn's lines go through our handler and format
                access_log=False,  # Observe logs one line per request instead
            )
        elif args.command == "dlq":
            module, _, factory = self.app_factory.partition(":")
            app = getattr(importlib.import_module(module), factory)(settings)
            sys.exit(asyncio.run(run_dlq(app.state.runtime, args, print)))
        elif args.command in self.tasks:
            sys.exit(asyncio.run(self.tasks[args.command].run(settings.database_url)))
        elif args.command == "migrate":
            asyncio.run(upgrade(settings.database_url, self.migrations, self.metadata))
            print(f"{self.name}: database is at the newest revision")
        else:
            asyncio.run(
                make_revision(settings.database_url, self.migrations, self.metadata, args.message)
            )

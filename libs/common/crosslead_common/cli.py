"""The console command every service ships: ``crosslead-<service> serve|migrate|revision``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from sqlalchemy import MetaData

from crosslead_common.migrations import make_revision, upgrade
from crosslead_common.settings import ServiceSettings

__all__ = ["ServiceCommand"]


@dataclass(frozen=True)
class ServiceCommand:
    name: str
    app_factory: str  # "package.module:function" returning the FastAPI app
    settings: Callable[[], ServiceSettings]
    migrations: Path
    metadata: MetaData
    default_port: int

    def main(self, argv: Sequence[str] | None = None) -> None:
        parser = argparse.ArgumentParser(prog=f"crosslead-{self.name}")
        sub = parser.add_subparsers(dest="command", required=True)
        serve = sub.add_parser("serve", help="run the HTTP API and the background workers")
        serve.add_argument("--host", default="127.0.0.1")
        serve.add_argument("--port", type=int, default=self.default_port)
        sub.add_parser("migrate", help="upgrade the database to the newest schema")
        revision = sub.add_parser("revision", help="autogenerate a migration (developers)")
        revision.add_argument("-m", "--message", required=True)
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

        if args.command == "serve":
            uvicorn.run(
                self.app_factory,
                factory=True,
                host=args.host,
                port=args.port,
                log_level="warning",
                access_log=False,
            )
        elif args.command == "migrate":
            asyncio.run(upgrade(self.settings().database_url, self.migrations, self.metadata))
            print(f"{self.name}: database is at the newest revision")
        else:
            asyncio.run(
                make_revision(
                    self.settings().database_url, self.migrations, self.metadata, args.message
                )
            )

"""``crosslead-console serve [--host] [--port]``."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import uvicorn

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="crosslead-console")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the web console")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8004)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(
        "crosslead_console.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,  # request lines are not logged at all
        proxy_headers=True,  # the scheme from the gateway decides the cookie's Secure flag
    )


if __name__ == "__main__":
    main()

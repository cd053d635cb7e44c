"""``crosslead-<service> dlq list | show ID | redrive ID``: the dead letters of a service's
consumer groups, for the operator at a shell."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from crosslead_common.dlq import NoSuchDeadLetter
from crosslead_common.runtime import Runtime

__all__ = ["add_dlq_parser", "run_dlq"]


def add_dlq_parser(sub: Any) -> None:
    dlq = sub.add_parser("dlq", help="list, show or redrive the dead letters of this service")
    action = dlq.add_subparsers(dest="dlq_command", required=True)
    action.add_parser("list", help="one line per dead letter: id, status, consumer, type, reason")
    show = action.add_parser("show", help="one dead letter as JSON, with its headers and body")
    show.add_argument("id")
    redrive = action.add_parser("redrive", help="apply a dead letter again (once fixed)")
    redrive.add_argument("id")


async def run_dlq(runtime: Runtime, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    """Run the ``dlq`` subcommand; returns the exit code (1: unknown id, or the redriven
    message failed again)."""
    async with runtime.tasks():
        letters = runtime.dead_letters()
        try:
            if args.dlq_command == "list":
                for letter in await letters.all():
                    out(
                        f"{letter.id}\t{letter.status}\t{letter.consumer}\t"
                        f"{letter.event_type or '-'}\t{letter.reason}"
                    )
                return 0
            if args.dlq_command == "show":
                out(json.dumps((await letters.show(args.id)).public(), default=str, indent=2))
                return 0
            outcome = await letters.redrive(args.id)
        except NoSuchDeadLetter:
            out(f"no dead letter {args.id}")
            return 1
    out(f"{args.id}: {outcome}")
    return 0 if outcome in ("applied", "duplicate") else 1

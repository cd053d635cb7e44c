"""One OpenAPI document for the gateway's base URL: the services' documents merged.

``python -m crosslead_common.openapi_merge`` writes ``docs/openapi.json`` (``--check``: exits
1 when the committed one is not current); the compose gateway serves it at
``/openapi.json``. The ``/v1`` paths keep their place (each prefix belongs to one service);
a service's own public paths go under its name, as the gateway routes them
(``/intake/healthz``); ``/metrics`` is not routed by the gateway and is left out. Two services
defining the same path, operationId, webhook or component differently is a
:class:`Collision`, never a silent overwrite.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crosslead_common.crypto import new_key

__all__ = ["SERVICES", "Collision", "gateway_path", "load_documents", "merge", "render"]

#: The services behind the gateway, in the order their paths are listed.
SERVICES = ("intake", "router", "payouts")
#: A service's paths outside ``/v1`` that the gateway routes, under the service's name.
GATEWAY_LOCAL = ("/healthz", "/readyz", "/asyncapi.json")
DEFAULT_OUTPUT = Path("docs/openapi.json")


class Collision(ValueError):
    """Two services define the same name differently."""


def _put(into: dict[str, Any], key: str, value: Any, what: str, service: str) -> None:
    if key in into and into[key] != value:
        raise Collision(f"{what} {key!r} of {service} differs from the one already merged")
    into[key] = value


def merge(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The services' documents (name → document) as one, for the gateway's base URL."""
    first = next(iter(documents.values()))
    merged: dict[str, Any] = {
        "openapi": first["openapi"],
        "info": {
            "title": "Crosslead",
            "version": first["info"]["version"],
            "description": "The whole public API behind one base URL (the gateway).\n\n"
            + "\n".join(
                f"- {d['info']['title']}: {d['info']['description']}" for d in documents.values()
            ),
        },
        "paths": {},
    }
    operation_ids: dict[str, str] = {}
    tags: list[str] = []
    for service, document in documents.items():
        for own_path, item in document.get("paths", {}).items():
            path = gateway_path(service, own_path)
            if path is None:
                continue
            if path in merged["paths"]:
                also = operation_ids_of(merged["paths"][path])
                raise Collision(f"path {path} of {service} is also that of {also}")
            for operation in item.values():
                op_id = operation.get("operationId")
                if op_id in operation_ids:
                    raise Collision(
                        f"operationId {op_id} of {service} is also {operation_ids[op_id]}'s"
                    )
                if op_id is not None:
                    operation_ids[op_id] = service
                tags.extend(t for t in operation.get("tags", ()) if t not in tags)
            merged["paths"][path] = item
        for name, item in document.get("webhooks", {}).items():
            _put(merged.setdefault("webhooks", {}), name, item, "webhook", service)
        for section, entries in document.get("components", {}).items():
            into = merged.setdefault("components", {}).setdefault(section, {})
            for name, value in entries.items():
                _put(into, name, value, f"component {section}", service)
    merged["tags"] = [{"name": tag} for tag in tags]
    for section, entries in merged.get("components", {}).items():
        merged["components"][section] = dict(sorted(entries.items()))
    return merged


def gateway_path(service: str, path: str) -> str | None:
    """Where the gateway serves ``service``'s ``path``; None where it does not."""
    if path.startswith("/v1/"):
        return path
    return f"/{service}{path}" if path in GATEWAY_LOCAL else None


def operation_ids_of(item: Mapping[str, Any]) -> list[str]:
    return [str(op.get("operationId")) for op in item.values()]


#: Keys a service needs to start, which its document does not depend on.
_THROWAWAY_KEYS = {
    "intake": {"customer_data_key": new_key(), "customer_hash_key": new_key()},
    "router": {"customer_data_key": new_key(), "secrets_key": new_key()},
}


def load_documents(services: Sequence[str] = SERVICES) -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, from its app (nothing is started or connected)."""
    documents = {}
    for service in services:
        app_module = importlib.import_module(f"crosslead_{service}.app")
        settings_module = importlib.import_module(f"crosslead_{service}.settings")
        settings_class = getattr(settings_module, f"{service.capitalize()}Settings")
        settings = settings_class(
            admin_token="openapi-document-only-" + "x" * 16,
            database_url="sqlite+aiosqlite:///:memory:",
            **_THROWAWAY_KEYS.get(service, {}),
        )
        documents[service] = app_module.create_app(settings).openapi()
    return documents


def render(document: Mapping[str, Any]) -> str:
    """The document as committed: stable key order, one trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crosslead_common.openapi_merge")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if --output is not current")
    args = parser.parse_args(argv)
    text = render(merge(load_documents()))
    if args.check:
        current = args.output.exists() and args.output.read_text() == text
        if not current:
            print(f"{args.output} is not current: run python -m crosslead_common.openapi_merge")
        return 0 if current else 1
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make demo``: walk the whole lead exchange on a running ``make run``.

Registers a window shop and two installers (one in another city) with an agreement, starts a
local webhook receiver that verifies every delivery with the ``standardwebhooks`` library,
sends leads, accepts them, reports deals and a refund, and prints what each party sees.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
from standardwebhooks import Webhook

INTAKE, ROUTER, PAYOUTS = (
    os.environ.get(f"CROSSLEAD_{n}_URL", f"http://127.0.0.1:{p}")
    for n, p in (("INTAKE", 8001), ("ROUTER", 8002), ("PAYOUTS", 8003))
)
T = TypeVar("T")


class Receiver:
    """A partner's webhook endpoint: verifies the signature, keeps the lead offers."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.offers: dict[str, list[dict[str, Any]]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                partner = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    Webhook(receiver.secrets[partner]).verify(body, dict(self.headers))
                except Exception:
                    self.send_response(401)
                else:
                    webhook = json.loads(body)
                    if webhook["type"] == "lead.offered":  # not what it hears as a source
                        receiver.offers.setdefault(partner, []).append(webhook)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, partner_id: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/{partner_id}"


def admin_token() -> str:
    token = os.environ.get("CROSSLEAD_ADMIN_TOKEN")
    stored = Path(__file__).resolve().parents[3] / "var" / "admin-token"
    if not token and stored.exists():
        token = stored.read_text().strip()
    if not token:
        sys.exit("set CROSSLEAD_ADMIN_TOKEN (make run prints it)")
    return token


def until(what: str, probe: Callable[[], T | None], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := probe()) is not None:
            return value
        time.sleep(0.05)
    sys.exit(f"gave up waiting for {what}")


def ok(response: httpx.Response) -> Any:
    if response.is_error:
        request = response.request
        sys.exit(f"{request.method} {request.url} → {response.status_code}: {response.text}")
    return response.json() if response.content else None


class Demo:
    def __init__(self) -> None:
        self.admin = {"Authorization": f"Bearer {admin_token()}"}
        self.http = httpx.Client(timeout=10)
        self.receiver = Receiver()

    def partner(self, name: str, offers: list[str], regions: list[str]) -> dict[str, Any]:
        body = {"name": name, "offers": offers, "regions": regions}
        created: dict[str, Any] = ok(
            self.http.post(f"{INTAKE}/v1/partners", headers=self.admin, json=body)
        )
        created["auth"] = {"Authorization": f"Bearer {created['api_key']}"}
        print(f"partner  {created['id']}  {name} ({', '.join(offers)} in {', '.join(regions)})")
        return created

    def agreement(self, source: dict[str, Any], target: dict[str, Any]) -> None:
        terms = {"type": "percent", "rate": "0.10"}
        body = {
            "source_partner_id": source["id"],
            "target_partner_id": target["id"],
            "categories": ["installation"],
            "commission": terms,
            "manager_share": "0.20",
        }
        ok(self.http.post(f"{INTAKE}/v1/agreements", headers=self.admin, json=body))

    def webhook_endpoint(self, partner: dict[str, Any]) -> None:
        """Register the partner's endpoint once the router has heard of the partner (it
        learns of new partners from the event stream, within moments)."""

        def register() -> dict[str, Any] | None:
            response = self.http.post(
                f"{ROUTER}/v1/webhook-endpoints",
                headers=partner["auth"],
                json={"url": self.receiver.url(partner["id"])},
            )
            return dict(response.json()) if response.status_code == 201 else None

        endpoint = until("the router to know the partner", register)
        self.receiver.secrets[partner["id"]] = endpoint["secret"]

    def submit_lead(self, source: dict[str, Any], customer: str) -> str:
        # A new number per customer and run: the same customer for the same need within 30
        # days would be recognised as a duplicate and not offered again.
        phone = f"+49 30 {secrets.randbelow(10**8):08d}"
        body = {
            "need": "installation",
            "region": "berlin",
            "customer": {"name": customer, "phone": phone},
            "consent": {"given_at": "2026-11-01T10:00:00Z", "text": "May be passed on."},
            "warmth": {"notes": f"{customer} bought windows, needs them fitted", "score": 4},
            "manager": {"id": "mgr-anna", "name": "Anna"},
        }
        return str(
            ok(self.http.post(f"{INTAKE}/v1/leads", headers=source["auth"], json=body))["id"]
        )

    def offered(self, partner: dict[str, Any], lead_id: str) -> bool | None:
        offers = self.receiver.offers.get(partner["id"], [])
        return True if any(o["data"]["lead_id"] == lead_id for o in offers) else None

    def accept(self, partner: dict[str, Any], lead_id: str) -> None:
        # Intake may learn of the routing a moment after the webhook arrives: until then
        # accepting answers 409 "still being routed".
        url = f"{INTAKE}/v1/leads/{lead_id}/accept"
        until(
            "the offer to be acceptable",
            lambda: (
                True if self.http.post(url, headers=partner["auth"]).status_code == 202 else None
            ),
        )

    def conversion(
        self, partner: dict[str, Any], lead_id: str, deal: str, status: str, amount: str
    ) -> None:
        body = {
            "lead_id": lead_id,
            "external_id": deal,
            "status": status,
            "amount": amount,
            "currency": "EUR",
        }
        ok(self.http.post(f"{INTAKE}/v1/conversions", headers=partner["auth"], json=body))

    def statement(self, partner: dict[str, Any], lines: int) -> dict[str, Any]:
        def complete() -> dict[str, Any] | None:
            body: dict[str, Any] = ok(
                self.http.get(f"{PAYOUTS}/v1/statements", headers=partner["auth"])
            )
            return body if len(body["lines"]) >= lines else None

        return until("the statement", complete)


EUR = {"currency": "EUR"}


def main() -> None:
    demo = Demo()
    shop = demo.partner("Fenster Shop", ["windows"], ["berlin"])
    fitter = demo.partner("Montage Pro", ["installation"], ["berlin"])
    faraway = demo.partner("Far Away Fitters", ["installation"], ["munich"])
    for target in (fitter, faraway):
        demo.agreement(shop, target)
        demo.webhook_endpoint(target)
    print("agreements: Fenster Shop → both installers, installation, 10 %, manager 20 %\n")

    deals = [("Ada", "1000.00"), ("Ben", "2500.00"), ("Cleo", "400.00")]
    lead_id = ""
    for customer, amount in deals:
        sent = time.monotonic()
        lead_id = demo.submit_lead(shop, customer)
        until("the webhook", partial(demo.offered, fitter, lead_id))
        elapsed = (time.monotonic() - sent) * 1000
        print(f"lead {lead_id} → Montage Pro's webhook in {elapsed:.0f} ms, signature verified")
        demo.accept(fitter, lead_id)
        demo.conversion(fitter, lead_id, f"deal-{customer}", "won", amount)
        print(f"  accepted; deal won: {amount} EUR")
    demo.conversion(fitter, lead_id, "refund-Cleo", "refunded", "200.00")
    print("  refund on the last deal: 200.00 EUR")
    others = len(demo.receiver.offers.get(faraway["id"], []))
    print(f"Far Away Fitters (munich) got {others} offers: the leads were for berlin")

    statement = demo.statement(shop, lines=2 * len(deals) + 2)  # earned + manager lines
    print("\nFenster Shop's statement:")
    for total in statement["currency_totals"]:
        print("  " + ", ".join(f"{key} {value}" for key, value in total.items()))
    earnings = ok(demo.http.get(f"{PAYOUTS}/v1/managers/mgr-anna/earnings", headers=shop["auth"]))
    print(f"manager Anna earned: {earnings['totals']}")

    run = ok(demo.http.post(f"{PAYOUTS}/v1/payout-runs", headers=demo.admin, json=EUR))
    print(f"\npayout run {run['id']}:")
    names = {p["id"]: p["name"] for p in (shop, fitter, faraway)}
    for transfer in run["transfers"]:
        print(
            f"  transfer {transfer['amount']} {transfer['currency']}"
            f" from {names[transfer['from_partner_id']]} to {names[transfer['to_partner_id']]}"
        )
    for payout in run["manager_payouts"]:
        print(f"  manager {payout['manager_id']}: {payout['amount']} {payout['currency']}")

    def paid() -> dict[str, Any] | None:
        lead = ok(demo.http.get(f"{INTAKE}/v1/leads/{lead_id}", headers=shop["auth"]))
        return lead if lead["status"] == "paid" else None

    lead = until("the lead to show paid", paid)
    print(f"\ntimeline of {lead_id}: " + " → ".join(e["type"] for e in lead["timeline"]))


if __name__ == "__main__":
    main()

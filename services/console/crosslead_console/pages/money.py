"""Money: statements (CSV too), manager earnings, and the operator's payout runs, each
previewed before it is run."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crosslead_console.client import ApiError
from crosslead_console.pages.forms import errors_of
from crosslead_console.web import Signed, not_found, read_form, redirect, render

router = APIRouter()


def _csv(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/statements")
async def statement(request: Request, who: Signed, partner_id: str = "") -> Response:
    """A partner's own statement; the operator picks the partner."""
    scope = partner_id.strip() or None if who.is_operator else None
    if who.is_operator and scope is None:
        return render(request, "statement.html", who, statement=None, partner_id="")
    try:
        found = await who.api.statement(scope)
    except ApiError as exc:
        if exc.status in (404, 422):
            return render(
                request, "statement.html", who, exc.status, statement=None,
                partner_id=partner_id, error=exc.message,
            )  # fmt: skip
        return not_found(request, who, exc)
    return render(request, "statement.html", who, statement=found, partner_id=scope or "")


@router.get("/statements.csv")
async def statement_csv(request: Request, who: Signed, partner_id: str = "") -> Response:
    scope = partner_id.strip() or None if who.is_operator else None
    try:
        content = await who.api.statement_csv(scope)
    except ApiError as exc:
        return not_found(request, who, exc)
    return _csv(content, f"statement-{scope or who.partner_id}.csv")


@router.get("/earnings")
async def earnings(request: Request, who: Signed, manager_id: str = "") -> Response:
    found = error = None
    if manager_id.strip():
        try:
            found = await who.api.manager_earnings(manager_id.strip())
        except ApiError as exc:
            error = exc.message
    return render(request, "earnings.html", who, earnings=found, manager_id=manager_id, error=error)


@router.get("/payout-runs")
async def payout_runs(request: Request, who: Signed, id: str = "") -> Response:
    if id.strip():
        return redirect(request, "/payout-runs/{}", id.strip())
    # A fresh key per form: submitting the same form twice starts one run, not two.
    return render(request, "payout_runs.html", who, values={"currency": "EUR"},
                  run_key=secrets.token_urlsafe(16))  # fmt: skip


@router.post("/payout-runs/preview")
async def preview_payout_run(request: Request, who: Signed) -> Response:
    """What a run would make now; the page offers to run it."""
    form = await read_form(request, who)
    currency = form.get("currency", "")
    try:
        preview = await who.api.preview_payout_run(currency)
    except ApiError as exc:
        errors, general = errors_of(exc, {"currency"})
        return render(
            request, "payout_runs.html", who, exc.status, values=form, errors=errors,
            general=general, run_key=secrets.token_urlsafe(16),
        )  # fmt: skip
    return render(
        request, "payout_preview.html", who, run=preview, run_key=secrets.token_urlsafe(16)
    )


@router.post("/payout-runs")
async def start_payout_run(request: Request, who: Signed) -> Response:
    form = await read_form(request, who)
    run_key = form.get("run_key") or secrets.token_urlsafe(16)
    try:
        run = await who.api.create_payout_run({"currency": form.get("currency", "")}, run_key)
    except ApiError as exc:
        errors, general = errors_of(exc, {"currency"})
        return render(
            request, "payout_runs.html", who, exc.status, values=form, errors=errors,
            general=general, run_key=run_key,
        )  # fmt: skip
    return redirect(request, "/payout-runs/{}", str(run["id"]))


@router.get("/payout-runs/{run_id}")
async def payout_run(request: Request, who: Signed, run_id: str) -> Response:
    try:
        run = await who.api.payout_run(run_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    return render(request, "payout_run.html", who, run=run)


@router.get("/payout-runs/{run_id}/csv")
async def payout_run_csv(request: Request, who: Signed, run_id: str) -> Response:
    try:
        content = await who.api.payout_run_csv(run_id)
    except ApiError as exc:
        return not_found(request, who, exc)
    return _csv(content, f"payout-run-{run_id}.csv")

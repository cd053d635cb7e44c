"""The console's operator pages know every lead status intake has, in the order of a lead's
life (the pipeline draws one bar per status, the leads list filters by them)."""

from __future__ import annotations

from crosslead_console.pages.leads import STATUSES
from crosslead_intake import lifecycle


def test_the_console_knows_every_lead_status_in_intakes_order() -> None:
    assert STATUSES == lifecycle.STATUSES

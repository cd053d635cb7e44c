"""Crosslead's web console: server-rendered pages over the public APIs of intake, router and
payouts, called with the signed-in party's own token."""

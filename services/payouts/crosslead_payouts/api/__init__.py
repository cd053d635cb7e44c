"""HTTP API of the payouts service: thin routes over :mod:`crosslead_payouts.queries`."""

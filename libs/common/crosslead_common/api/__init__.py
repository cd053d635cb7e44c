"""The HTTP kit every service's API layer is built from: problem mapping, principal and
session dependencies, settings access, paging, Idempotency-Key handling and the app factory."""

"""Test support shared by every tier, each helper defined once.

- :mod:`tests.support.http`: the admin token, the customer-data key and bearer headers,
  serving an app on a real socket, polling with a deadline.
- :mod:`tests.support.databases`: the backends under test and fresh databases cloned from a
  schema migrated once per worker.
- :mod:`tests.support.kafka`: publishing events to and reading topics of a real broker.
- :mod:`tests.support.services`: each service's settings and app, served for real or driven
  in-process.
"""

from tests.support.http import (
    ADMIN,
    ADMIN_TOKEN,
    CUSTOMER_DATA_KEY,
    CUSTOMER_HASH_KEY,
    SECRETS_KEY,
    bearer,
    eventually,
    serve,
)

__all__ = [
    "ADMIN",
    "ADMIN_TOKEN",
    "CUSTOMER_DATA_KEY",
    "CUSTOMER_HASH_KEY",
    "SECRETS_KEY",
    "bearer",
    "eventually",
    "serve",
]

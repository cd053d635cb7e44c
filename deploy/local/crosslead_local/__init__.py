"""Development only: the embedded broker runner, ``make run`` and ``make demo``. No service
depends on this package, and the production image does not contain it."""

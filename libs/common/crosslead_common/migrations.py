"""Alembic, driven from code: each service keeps its own migration history in its package.

``upgrade`` runs ``alembic upgrade head`` on an async engine (the tests and the ``migrate``
command use it); ``run_env`` is the whole body of every service's ``env.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from crosslead_common.db import Database

__all__ = ["make_revision", "run_env", "upgrade"]


def _config(script_location: Path, metadata: MetaData, connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["connection"] = connection
    cfg.attributes["metadata"] = metadata
    return cfg


async def upgrade(url: str, script_location: Path, metadata: MetaData) -> None:
    """Bring the database at ``url`` to the newest revision."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(
                lambda c: command.upgrade(_config(script_location, metadata, c), "head")
            )
    finally:
        await db.dispose()


async def make_revision(url: str, script_location: Path, metadata: MetaData, message: str) -> None:
    """Autogenerate a revision from the difference between ``metadata`` and the database."""
    await upgrade(url, script_location, metadata)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(
                lambda c: command.revision(
                    _config(script_location, metadata, c), message=message, autogenerate=True
                )
            )
    finally:
        await db.dispose()


def run_env(context: Any) -> None:
    """Run migrations on the connection handed over in ``config.attributes``."""
    config = context.config
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=config.attributes["metadata"],
        render_as_batch=True,  # SQLite can only ALTER tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()

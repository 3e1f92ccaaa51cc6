"""Alembic environment: runs on the connection duet hands it (see app/db.py)."""

from alembic import context
from sqlmodel import SQLModel

import app.idempotency
import app.models  # registers the tables on SQLModel.metadata
import app.webhooks.models  # noqa: F401  (and the webhook tables)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through app.db.Database.migrate(), which passes a connection")

context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Rooms scoped to their API key: an ``admin`` scope on keys; rooms looked up by the key that made them.

Rooms have held the id of the key that created them since the first schema (``room.api_key_id``);
from this revision a key sees only those rooms, and a key with ``admin`` sees every room. Rooms with
no key (the development demo room made before this revision; nothing else made rooms without one)
are seen only by admin keys; the development start hands the demo room to the development key.
Existing keys are not admin: a deployment that wants one makes it (``duet apikey create NAME --admin``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite a batch with this default would copy ``api_key`` into a
# new table and drop the old one, which the rooms' foreign keys to it refuse (``PRAGMA foreign_keys``).
# SQLite adds and (from 3.35) drops a column in place.


def upgrade() -> None:
    op.add_column("api_key", sa.Column("admin", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_room_api_key_id", "room", ["api_key_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_room_api_key_id", table_name="room")
    op.drop_column("api_key", "admin")

"""Phone bridge hardening: PINs unique among rooms not ended; events counted by type and time.

Rooms not ended that share a PIN (two rooms made at the same moment could draw the same one) keep
it only on the newest: the dial-in menu always took the newest, so the older could not be reached by
PIN anyway.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOT_ENDED = "ended_at IS NULL"


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE room SET dial_in_pin = NULL WHERE ended_at IS NULL AND dial_in_pin IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM room AS newer WHERE newer.dial_in_pin = room.dial_in_pin"
            " AND newer.ended_at IS NULL AND (newer.created_at > room.created_at"
            " OR (newer.created_at = room.created_at AND newer.id > room.id)))"
        )
    )
    op.create_index(
        "ux_room_dial_in_pin_not_ended",
        "room",
        ["dial_in_pin"],
        unique=True,
        sqlite_where=sa.text(NOT_ENDED),
        postgresql_where=sa.text(NOT_ENDED),
    )
    op.create_index("ix_event_type_at", "event", ["type", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_type_at", table_name="event")
    op.drop_index("ux_room_dial_in_pin_not_ended", table_name="room")

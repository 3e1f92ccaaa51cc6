"""Fallback: room policy, phone-bridge PIN, consent to share a phone number.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room") as batch_op:
        batch_op.add_column(
            sa.Column("fallback_policy", sa.String(length=16), nullable=False, server_default="prompt")
        )
        batch_op.add_column(sa.Column("dial_in_pin", sa.String(length=12), nullable=True))
        batch_op.create_index("ix_room_dial_in_pin", ["dial_in_pin"], unique=False)
    with op.batch_alter_table("participant") as batch_op:
        batch_op.add_column(sa.Column("share_phone", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("participant") as batch_op:
        batch_op.drop_column("share_phone")
    with op.batch_alter_table("room") as batch_op:
        batch_op.drop_index("ix_room_dial_in_pin")
        batch_op.drop_column("dial_in_pin")
        batch_op.drop_column("fallback_policy")

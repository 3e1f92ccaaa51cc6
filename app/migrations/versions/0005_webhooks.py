"""Webhooks: endpoints and their outbox; idempotency keys; a room's planned end, its own no-show
grace period and its calendar invite's SEQUENCE.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("room", sa.Column("no_show_after_s", sa.Float(), nullable=True))
    op.add_column("room", sa.Column("ends_at", sa.DateTime(), nullable=True))
    op.add_column("room", sa.Column("schedule_sequence", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("previous_secret", sa.String(length=64), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(), nullable=True),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_endpoint_api_key_id", "webhook_endpoint", ["api_key_id"], unique=False)
    op.create_table(
        "webhook_message",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("endpoint_id", sa.String(length=32), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=True),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"]),
        sa.PrimaryKeyConstraint("api_key_id", "key"),
    )
    op.create_index("ix_idempotency_key_created_at", "idempotency_key", ["created_at"], unique=False)
    op.create_index("ix_webhook_message_due", "webhook_message", ["status", "next_attempt_at"], unique=False)
    op.create_index(
        "ix_webhook_message_endpoint", "webhook_message", ["endpoint_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_webhook_message_queue",
        "webhook_message",
        ["endpoint_id", "room_id", "status", "sequence"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("idempotency_key")
    op.drop_table("webhook_message")
    op.drop_table("webhook_endpoint")
    op.drop_column("room", "schedule_sequence")
    op.drop_column("room", "no_show_after_s")
    op.drop_column("room", "ends_at")

"""Outbound events (outbox and deliveries), sandbox SMS and webhook receipts, due dates of inbox tasks

Revision ID: c4e8a2f6b1d9
Revises: d5f9b3a7e2c4
Create Date: 2026-11-28 06:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'c4e8a2f6b1d9'
down_revision = 'd5f9b3a7e2c4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbound_event",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("business_key", sa.String(100), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_event")),
    )
    op.create_index(op.f("ix_outbound_event_business_key"), "outbound_event", ["business_key"])
    op.create_index(op.f("ix_outbound_event_created_at"), "outbound_event", ["created_at"])
    op.create_table(
        "outbound_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("subscriber", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["outbound_event.id"],
                                name=op.f("fk_outbound_delivery_event_id_outbound_event")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_delivery")),
        sa.UniqueConstraint("event_id", "subscriber", name=op.f("uq_outbound_delivery_event_id")),
    )
    op.create_index("ix_outbound_delivery_due", "outbound_delivery", ["status", "next_attempt_at"])
    op.create_table(
        "sms_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("phone", sa.String(30), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_message")),
        sa.UniqueConstraint("event_id", "phone", name=op.f("uq_sms_message_event_id")),
    )
    op.create_index(op.f("ix_sms_message_phone"), "sms_message", ["phone"])
    op.create_table(
        "webhook_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_receipt")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_receipt_event_id")),
    )
    with op.batch_alter_table("inbox_task") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime(), nullable=True))
    op.create_index("ix_inbox_task_due", "inbox_task", ["state", "due_at"],
                    sqlite_where=sa.text("due_at IS NOT NULL"), postgresql_where=sa.text("due_at IS NOT NULL"))


def downgrade():
    op.drop_index("ix_inbox_task_due", table_name="inbox_task")
    with op.batch_alter_table("inbox_task") as batch:
        batch.drop_column("due_at")
    op.drop_table("webhook_receipt")
    op.drop_index(op.f("ix_sms_message_phone"), table_name="sms_message")
    op.drop_table("sms_message")
    op.drop_index("ix_outbound_delivery_due", table_name="outbound_delivery")
    op.drop_table("outbound_delivery")
    op.drop_index(op.f("ix_outbound_event_created_at"), table_name="outbound_event")
    op.drop_index(op.f("ix_outbound_event_business_key"), table_name="outbound_event")
    op.drop_table("outbound_event")

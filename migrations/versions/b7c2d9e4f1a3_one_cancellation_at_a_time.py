"""One cancellation at a time: contract.cancellation_instance_id, the running cancellation's instance

Revision ID: b7c2d9e4f1a3
Revises: 9a4e61c0d2b7
Create Date: 2026-11-28 03:50:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'b7c2d9e4f1a3'
down_revision = '9a4e61c0d2b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contract") as batch:
        batch.add_column(sa.Column("cancellation_instance_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("contract") as batch:
        batch.drop_column("cancellation_instance_id")

"""Fund supervision as a step: the bank's case on the contract (reference, agreement number, status)

Revision ID: d5f9b3a7e2c4
Revises: f7a1c3e5b9d2
Create Date: 2026-11-28 06:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'd5f9b3a7e2c4'
down_revision = 'f7a1c3e5b9d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contract") as batch:
        batch.add_column(sa.Column("supervision_ref", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("supervision_agreement_no", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("supervision_status", sa.String(length=30), nullable=True))
        batch.create_unique_constraint("uq_contract_supervision_ref", ["supervision_ref"])


def downgrade():
    with op.batch_alter_table("contract") as batch:
        batch.drop_constraint("uq_contract_supervision_ref", type_="unique")
        batch.drop_column("supervision_status")
        batch.drop_column("supervision_agreement_no")
        batch.drop_column("supervision_ref")

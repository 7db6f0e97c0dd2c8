"""Filing number: contract.filing_no, given when the contract is filed (已签约), printed on the signed contract

Revision ID: f7a1c3e5b9d2
Revises: c4e8a2f6d913
Create Date: 2026-11-28 06:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'f7a1c3e5b9d2'
down_revision = 'c4e8a2f6d913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contract") as batch:
        batch.add_column(sa.Column("filing_no", sa.String(length=30), nullable=True))
        batch.create_unique_constraint("uq_contract_filing_no", ["filing_no"])


def downgrade():
    with op.batch_alter_table("contract") as batch:
        batch.drop_constraint("uq_contract_filing_no", type_="unique")
        batch.drop_column("filing_no")

"""One live contract per home: a partial unique index on contract.property_id

Revision ID: 9a1f3c5e7b20
Revises: 7c1d2e4f5a6b
Create Date: 2026-11-28 03:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '9a1f3c5e7b20'
down_revision = '7c1d2e4f5a6b'
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('草稿', '已提交', '已签约')")


def upgrade():
    op.create_index("uq_contract_live_home", "contract", ["property_id"], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade():
    op.drop_index("uq_contract_live_home", table_name="contract")

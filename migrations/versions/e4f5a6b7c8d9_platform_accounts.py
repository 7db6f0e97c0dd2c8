"""platform accounts: 「立即注册」 on the sandbox unified identity platform (账号密码, 法人)

Revision ID: e4f5a6b7c8d9
Revises: d1e2a3f4b5c6
Create Date: 2026-11-28 06:10:00

"""
import sqlalchemy as sa
from alembic import op

import engine.db


# revision identifiers, used by Alembic.
revision = 'e4f5a6b7c8d9'
down_revision = 'd1e2a3f4b5c6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'platform_account',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unified_id', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('password_hash', sa.String(length=256), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('id_type', sa.String(length=30), nullable=False),
        sa.Column('id_number', sa.String(length=30), nullable=False),
        sa.Column('phone', sa.String(length=30), nullable=False),
        sa.Column('legal_representative', sa.String(length=100), nullable=True),
        sa.Column('legal_representative_id', sa.String(length=30), nullable=True),
        sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('id_type', 'id_number'),
        sa.UniqueConstraint('unified_id'),
        sa.UniqueConstraint('username'),
    )


def downgrade():
    op.drop_table('platform_account')

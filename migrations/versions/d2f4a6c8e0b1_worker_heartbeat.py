"""worker heartbeats

One row per `netsign worker` process (host:pid), rewritten after every sweep with
its counts; /readyz and /metrics read it.

Revision ID: d2f4a6c8e0b1
Revises: c4e8a2f6d1b9
Create Date: 2026-11-28 06:00:00

"""
from alembic import op
import sqlalchemy as sa

from engine.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'd2f4a6c8e0b1'
down_revision = 'c4e8a2f6d1b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'worker_heartbeat',
        sa.Column('id', sa.String(length=200), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('beat_at', UTCDateTime(), nullable=False),
        sa.Column('sweeps', sa.Integer(), nullable=False),
        sa.Column('timers', sa.Integer(), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.Column('retries', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_worker_heartbeat')),
    )


def downgrade():
    op.drop_table('worker_heartbeat')

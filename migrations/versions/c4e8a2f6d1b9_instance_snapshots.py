"""Instance snapshots: an instance as it was before a migration to another definition version, to revert it

Revision ID: c4e8a2f6d1b9
Revises: c4e8a1f7d2b9
Create Date: 2026-11-28 06:00:00
"""
from alembic import op
import sqlalchemy as sa

import engine.db

revision = 'c4e8a2f6d1b9'
down_revision = 'c4e8a1f7d2b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'instance_snapshot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('to_definition_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('state', sa.Text(), nullable=False),
        sa.Column('taken_at', engine.db.UTCDateTime(), nullable=False),
        sa.Column('taken_by', sa.String(length=100), nullable=False),
        sa.Column('reverted_at', engine.db.UTCDateTime(), nullable=True),
        sa.Column('reverted_by', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id']),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['to_definition_id'], ['process_definition.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_instance_snapshot_instance_id', 'instance_snapshot', ['instance_id'])


def downgrade():
    op.drop_index('ix_instance_snapshot_instance_id', table_name='instance_snapshot')
    op.drop_table('instance_snapshot')

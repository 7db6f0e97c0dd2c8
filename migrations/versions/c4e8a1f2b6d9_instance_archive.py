"""instance archive: what the retention policy keeps of a finished instance

A finished instance older than the retention period loses its state and its
detailed audit rows; the instance row (start, end, outcome) stays, and its path
is kept in instance_archive.  The retention sweep finds candidates by
(status, completed_at).

Revision ID: c4e8a1f2b6d9
Revises: c4e8a2f6b1d9
Create Date: 2026-11-28 06:10:00

"""
import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'c4e8a1f2b6d9'
down_revision = 'c4e8a2f6b1d9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'instance_archive',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('archived_at', UTCDateTime(), nullable=False),
        sa.Column('path', sa.JSON(), nullable=False),
        sa.Column('audit_rows', sa.Integer(), nullable=False),
        sa.Column('state_chars', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_instance_archive_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_instance_archive')),
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_process_instance_finished', ['status', 'completed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instance_finished')
    op.drop_table('instance_archive')

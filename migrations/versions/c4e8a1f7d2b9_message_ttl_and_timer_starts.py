"""kept messages expire; messages thrown by instances; timer start events

A kept message has a time-to-live (``expires_at``; the worker's sweep sets
``expired_at``); a message thrown by a send task or throw event names its
sender; ``process_schedule`` holds when each timer start event of a deployed
version next starts an instance.

Revision ID: c4e8a1f7d2b9
Revises: e4f5a6b7c8d9
Create Date: 2026-11-28 06:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1f7d2b9'
down_revision = 'e4f5a6b7c8d9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('expired_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('sender_instance_id', sa.Integer(), nullable=True))
    op.create_table(
        'process_schedule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=100), nullable=False),
        sa.Column('bpmn_id', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.Column('cycles_left', sa.Integer(), nullable=True),
        sa.Column('interval_seconds', sa.Float(), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('started', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'],
                                name=op.f('fk_process_schedule_definition_id_process_definition')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_process_schedule')),
    )
    with op.batch_alter_table('process_schedule', schema=None) as batch_op:
        batch_op.create_index('ix_process_schedule_due', ['state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_schedule_definition_id'), ['definition_id'], unique=False)


def downgrade():
    with op.batch_alter_table('process_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_schedule_definition_id'))
        batch_op.drop_index('ix_process_schedule_due')
    op.drop_table('process_schedule')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('sender_instance_id')
        batch_op.drop_column('expired_at')
        batch_op.drop_column('expires_at')

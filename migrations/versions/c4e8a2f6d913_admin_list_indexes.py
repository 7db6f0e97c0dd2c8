"""indexes for the admin lists

The admin lists and the API filter instances by process or status, newest
first: (process_id, id) and (status, id) replace the single-column indexes, so
PostgreSQL reads a page in order instead of sorting every running instance.
The whole audit trail is read by kind or by actor in id order; incidents by
the day they were opened; people by name (the audit's actor filter). The
timer index gains the id, the tie-breaker of the timer list's order; timers
and incidents carry their instance's process (filled in for the existing ones),
so the list of one process's timers or incidents is one index too.

Revision ID: c4e8a2f6d913
Revises: d2f4a6c8e0b1
Create Date: 2026-11-28 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a2f6d913'
down_revision = 'd2f4a6c8e0b1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instance_process_id')
        batch_op.drop_index('ix_process_instance_status')
        batch_op.create_index('ix_instance_process_id', ['process_id', 'id'], unique=False)
        batch_op.create_index('ix_instance_status_id', ['status', 'id'], unique=False)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_kind_id', ['kind', 'id'], unique=False)
        batch_op.create_index('ix_audit_actor_id', ['actor', 'id'], unique=False)
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('process_id', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_incident_created', ['created_at'], unique=False)
    op.execute("UPDATE incident SET process_id = (SELECT process_id FROM process_instance "
               "WHERE process_instance.id = incident.instance_id)")
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index('ix_incident_process', ['process_id', 'created_at', 'id'], unique=False)
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('process_id', sa.String(length=100), nullable=True))
        batch_op.drop_index('ix_timer_due')
        batch_op.create_index('ix_timer_due', ['state', 'due_at', 'id'], unique=False)
    op.execute("UPDATE timer SET process_id = (SELECT process_id FROM process_instance "
               "WHERE process_instance.id = timer.instance_id)")
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index('ix_timer_process_due', ['process_id', 'state', 'due_at', 'id'], unique=False)
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index('ix_account_name', ['name'], unique=False)


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('ix_account_name')
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index('ix_timer_process_due')
        batch_op.drop_index('ix_timer_due')
        batch_op.create_index('ix_timer_due', ['state', 'due_at'], unique=False)
        batch_op.drop_column('process_id')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_process')
        batch_op.drop_index('ix_incident_created')
        batch_op.drop_column('process_id')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_actor_id')
        batch_op.drop_index('ix_audit_kind_id')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_status_id')
        batch_op.drop_index('ix_instance_process_id')
        batch_op.create_index('ix_process_instance_status', ['status'], unique=False)
        batch_op.create_index('ix_process_instance_process_id', ['process_id'], unique=False)

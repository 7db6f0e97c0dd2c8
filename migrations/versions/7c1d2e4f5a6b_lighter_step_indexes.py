"""lighter indexes on the step path

Every engine step writes an inbox row and audit rows. Two indexes cost a page
write per step and served no query: the audit trail's time index (the trail is
read per instance, by id) and the NULL entries of the inbox assignee index (only
claimed tasks have an assignee), which becomes a partial index.

Revision ID: 7c1d2e4f5a6b
Revises: 3e9218c5a5b4
Create Date: 2026-11-26 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1d2e4f5a6b'
down_revision = '3e9218c5a5b4'
branch_labels = None
depends_on = None

ASSIGNED = sa.text("assignee IS NOT NULL")


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_at')
    with op.batch_alter_table('inbox_task', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_task_assignee')
        batch_op.create_index('ix_inbox_task_assignee', ['assignee'], unique=False,
                              sqlite_where=ASSIGNED, postgresql_where=ASSIGNED)


def downgrade():
    with op.batch_alter_table('inbox_task', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_task_assignee')
        batch_op.create_index('ix_inbox_task_assignee', ['assignee'], unique=False)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_at', ['at'], unique=False)

"""indexes for the citizen lists

A citizen's 首页, 待办 and task API read by who started an instance
(process_instance.started_by), by ID number as a contract party
(contract_party.id_number) and an instance's open inbox rows of a lane
(inbox_task instance_id, state, role, which replaces the index on instance_id
alone): lookups that stay as cheap at 100,000 instances as at 1,000.

Revision ID: b3d5f7a9c1e2
Revises: b7c2d9e4f1a3
Create Date: 2026-11-28 04:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3d5f7a9c1e2'
down_revision = 'b7c2d9e4f1a3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_process_instance_started_by', ['started_by'], unique=False)
    with op.batch_alter_table('contract_party', schema=None) as batch_op:
        batch_op.create_index('ix_contract_party_id_number', ['id_number'], unique=False)
    with op.batch_alter_table('inbox_task', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_task_instance_id')
        batch_op.create_index('ix_inbox_instance_open', ['instance_id', 'state', 'role'], unique=False)


def downgrade():
    with op.batch_alter_table('inbox_task', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_instance_open')
        batch_op.create_index('ix_inbox_task_instance_id', ['instance_id'], unique=False)
    with op.batch_alter_table('contract_party', schema=None) as batch_op:
        batch_op.drop_index('ix_contract_party_id_number')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instance_started_by')

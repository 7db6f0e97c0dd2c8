"""index account.login_kind: the staff inbox finds the staff accounts without reading every citizen's

Revision ID: a7b8c9d0e1f2
Revises: c4e8a1f2b6d9
Create Date: 2026-11-28 07:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7b8c9d0e1f2'
down_revision = 'c4e8a1f2b6d9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index('ix_account_login_kind', ['login_kind'], unique=False)


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('ix_account_login_kind')

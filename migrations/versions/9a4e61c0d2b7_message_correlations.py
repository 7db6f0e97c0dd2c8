"""correlation properties kept with an inbound message

A message for a receive task or catch event with a correlation key carries
correlation properties (e.g. an order number) besides its payload; a message
that waits for its instance must keep them until it is delivered.

Revision ID: 9a4e61c0d2b7
Revises: 9a1f3c5e7b20
Create Date: 2026-11-28 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a4e61c0d2b7'
down_revision = '9a1f3c5e7b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correlations', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('correlations')

"""definition drafts: an analyst's unfinished change to one BPMN/DMN file, saved from the editor

Revision ID: d1e2a3f4b5c6
Revises: b3d5f7a9c1e2
Create Date: 2026-11-28 06:00:00

"""
import sqlalchemy as sa
from alembic import op

import engine.db


# revision identifiers, used by Alembic.
revision = 'd1e2a3f4b5c6'
down_revision = 'b3d5f7a9c1e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'definition_draft',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('xml', sa.Text(), nullable=False),
        sa.Column('saved_by', sa.String(length=100), nullable=False),
        sa.Column('saved_at', engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('file_name'),
    )


def downgrade():
    op.drop_table('definition_draft')

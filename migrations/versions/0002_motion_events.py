"""motion events

Revision ID: 0002_motion_events
Revises: 0001
Create Date: 2026-11-26 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_motion_events"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "motion_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_name", sa.String(length=64), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("max_confidence", sa.Float(), nullable=False),
        sa.Column("snapshot", sa.String(length=1024), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("motion_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_motion_events_stream_start", ["stream_name", "start_time"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("motion_events", schema=None) as batch_op:
        batch_op.drop_index("ix_motion_events_stream_start")
    op.drop_table("motion_events")

"""recordings stream detection index

Revision ID: 0003_recordings_stream_detection
Revises: 0002_motion_events
Create Date: 2026-11-26 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_recordings_stream_detection"
down_revision: str | None = "0002_motion_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recordings_stream_detection",
            ["stream_name", "has_detection", "start_time"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_stream_detection")
